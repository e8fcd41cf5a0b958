"""Template filters for the board's pages."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from lms.community.models import PostStatus, ThreadKind

register = template.Library()

ANONYMOUS = "Anonymous"
BADGE = '<span class="badge text-bg-{}">{}</span>'
PINNED = format_html(BADGE, "warning", "Pinned")
KIND_STYLES = {ThreadKind.ANNOUNCEMENT: "danger", ThreadKind.QUESTION: "primary"}
KIND_BADGES = {
    kind: format_html(BADGE, KIND_STYLES.get(kind, "secondary"), label)
    for kind, label in ThreadKind.choices
}
FLAG_BADGES = [  # a thread's flag and its badge
    ("private", format_html(BADGE, "dark", "Private")),
    ("answered", format_html(BADGE, "success", "Answered")),
    ("locked", format_html(BADGE, "secondary", "Locked")),
    ("hidden", format_html(BADGE, "danger", "Hidden")),
]
HELD = format_html(BADGE, "warning", "Held for review")


@register.filter
def byline(item) -> str:
    """Who wrote ``item`` (a thread or a post), as its reader sees it: the author's name;
    "Anonymous" for an anonymous item whose author the reader may not see; the name with an
    "anonymous to classmates" badge for the readers who may (``item.shows_author``, which the
    view sets from ``selectors.shows_author``). A filter rather than an included template: a
    board page shows fifty of them."""
    if not item.anonymous:
        return conditional_escape(item.author.display_name)
    if item.shows_author:
        return format_html(
            '{} <span class="badge text-bg-secondary">anonymous to classmates</span>',
            item.author.display_name,
        )
    return ANONYMOUS


@register.filter
def counted(number: int, nouns: str) -> str:
    """``number`` with its noun, ``nouns`` being "singular,plural": ``3|counted:"reply,replies"``
    is "3 replies". Plain digits (numbers on the board are counts, never grouped), which spares
    a board page a hundred trips through the number localisation."""
    singular, plural = nouns.split(",")
    return f"{number:d} {singular if number == 1 else plural}"


@register.filter
def badges(thread) -> str:
    """A thread's badges on the board's list: pinned, its kind, private, answered, locked,
    hidden, and held for review (``opening_status``, from ``selectors.threads_for``). One filter
    call a row, of badges made once, instead of a dozen template conditions, fifty rows a
    page."""
    shown = [PINNED] if thread.pinned else []
    shown.append(KIND_BADGES.get(thread.kind) or format_html(BADGE, "secondary", thread.kind))
    shown += [badge for flag, badge in FLAG_BADGES if getattr(thread, flag)]
    if thread.opening_status == PostStatus.HELD:
        shown.append(HELD)
    return mark_safe("\n".join(shown))  # noqa: S308 - badges made by format_html above
