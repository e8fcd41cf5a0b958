"""The course's tutor page for instructors: the tutor's summary (most frequent error types) and
the exchanges, read from the tutor's API with the LMS's hub token; a clear message when no
tutor is configured or it cannot answer."""

from __future__ import annotations

import re

import pytest

from tests.support.fake_tutor import TOKEN

pytestmark = pytest.mark.django_db
URL = "/courses/python-101/tutor/"


def visible(html: str) -> str:
    html = re.sub(r'<span class="visually-hidden">.*?</span>', "", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_instructors_see_the_most_frequent_error_types_and_the_exchanges(
    client, instructor, learner, other_learner, fake_tutor
):
    fake_tutor.summaries["python-101"] = {
        "exchanges": 17, "learners": 2, "by_mode": {"explain": 12, "hint": 5},
        "error_types": [["NameError", 9], ["TypeError", 3]], "refused_leaks": 1, "failed": 0}
    fake_tutor.add_exchange(learner="grace", error_type="NameError")
    fake_tutor.add_exchange(learner="linus", mode="hint", error_type=None,
                            cell_id="ps1-celsius-answer", reply="Multiply first.", refused=True)
    client.force_login(instructor)

    response = client.get(URL)

    assert response.status_code == 200
    text = visible(response.content.decode())
    assert "17 exchanges" in text and "2 learners" in text
    assert "1 reply stopped before showing a solution" in text
    assert text.index("NameError 9") < text.index("TypeError 3")
    rows = re.findall(r"<tr>(.*?)</tr>", response.content.decode().split("tutor-exchanges")[1],
                      flags=re.S)
    assert len(rows) == 3  # the header and two exchanges, newest first
    assert "linus" in rows[1] and "stopped: would have shown a solution" in rows[1]
    assert "grace" in rows[2] and "Explain an error" in visible(rows[2])
    summary, history = fake_tutor.requests
    assert summary.path == "/courses/python-101/summary"
    assert (history.path, history.query) == ("/history", {"course": ["python-101"],
                                                          "all": ["1"]})
    assert summary.headers["authorization"] == f"token {TOKEN}"
    assert summary.headers["x-studio-user"] == "ada"


def test_instructors_read_one_learners_exchanges(client, instructor, learner, fake_tutor):
    fake_tutor.add_exchange(learner="grace", question="Why a float?", mode="chat")
    fake_tutor.add_exchange(learner="linus")
    client.force_login(instructor)

    response = client.get(URL, {"learner": "grace"})

    text = visible(response.content.decode())
    assert "Exchanges of" in text and "Why a float?" in text
    assert fake_tutor.requests[-1].query == {"course": ["python-101"], "learner": ["grace"]}


@pytest.mark.parametrize("who", ["learner", "other_course_instructor"])
def test_nobody_else_sees_the_page_and_the_tutor_is_never_asked(
    client, request, course, fake_tutor, who
):
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert fake_tutor.requests == []


def test_anonymous_visitors_are_sent_to_sign_in(client, course):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_no_tutor_configured_is_said_plainly(client, instructor):
    client.force_login(instructor)
    text = visible(client.get(URL).content.decode())
    assert "No tutor service is configured for this LMS (LMS_TUTOR_API_URL is empty)" in text


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("down", "cannot be reached at the moment"),
        ("hang", "did not answer within 1 second"),
        ("500", "failed to answer (HTTP 500)"),
        ("garbage", "an answer the LMS cannot read"),
    ],
)
def test_a_tutor_that_cannot_answer_is_said_plainly(client, instructor, fake_tutor, how, says):
    if how == "down":
        fake_tutor.stop()
    else:
        fake_tutor.misbehaving = how
    client.force_login(instructor)
    response = client.get(URL)
    assert response.status_code == 200
    assert says in visible(response.content.decode())


def test_the_tutor_refusing_the_lms_shows_the_tutors_reason(client, instructor, fake_tutor,
                                                            settings):
    settings.LMS_HUB_SERVICE_TOKEN = "not-the-lms-token"
    client.force_login(instructor)
    text = visible(client.get(URL).content.decode())
    assert "lms may not use the tutor" in text


def test_the_course_page_links_the_tutor_page_for_instructors_only(client, instructor, learner):
    client.force_login(instructor)
    assert URL in client.get("/courses/python-101/").content.decode()
    client.force_login(learner)
    assert URL not in client.get("/courses/python-101/").content.decode()
