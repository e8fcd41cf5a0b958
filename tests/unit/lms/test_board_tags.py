"""The board list's badges (lms/community/templatetags/board_tags.py), without a database."""

from types import SimpleNamespace

from lms.community.models import PostStatus
from lms.community.templatetags.board_tags import badges


def _thread(**fields):
    row = dict(
        pinned=False,
        kind="question",
        private=False,
        answered=False,
        locked=False,
        hidden=False,
        opening_status=PostStatus.PUBLISHED,
    )
    row.update(fields)
    return SimpleNamespace(**row)


def test_known_kind_and_flags():
    html = badges(_thread(pinned=True, answered=True, opening_status=PostStatus.HELD))
    assert "Pinned" in html and "Question" in html and "Answered" in html
    assert "Held for review" in html and "Locked" not in html


def test_unknown_kind_gets_its_own_name_escaped():
    html = badges(_thread(kind="<poll>"))
    assert "&lt;poll&gt;" in html and "<poll>" not in html
