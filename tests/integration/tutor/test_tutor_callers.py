"""Who may call the tutor, and whose exchanges each caller reads."""

from __future__ import annotations

import pytest
import requests

from tests.integration.tutor.conftest import LMS_SERVICE_TOKEN, OTHER_SERVICE_TOKEN
from tests.support.notebook_requests import notebook_of, status_query

pytestmark = [pytest.mark.slow]

HINT = {"mode": "hint", "assignment": "ps1-basics", "cell_id": "ps1-celsius-answer",
        "cell_source": "def celsius_to_fahrenheit(celsius):\n    raise NotImplementedError()"}


def test_the_services_root_answers_the_hubs_check_without_a_sign_in(hub, tutor):
    response = requests.get(f"{hub.url}/services/tutor/", timeout=30)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_request_without_a_token_is_refused(tutor):
    asked = tutor.ask(None, **HINT)  # no Authorization at all
    assert asked.status == 401
    assert asked.error["error"] == "unauthenticated"
    assert "hub" in asked.error["message"]


def test_a_token_the_hub_does_not_know_is_refused(tutor):
    asked = tutor.ask(None, token="not-a-hub-token-0123456789", **HINT)
    assert asked.status == 401
    status = tutor.call(None, "GET", "status?course=python-101", token="forged-token-0123")
    assert status.status_code == 401


def test_a_browser_without_a_session_is_sent_to_the_hubs_login(tutor):
    response = requests.get(f"{tutor.api}/status?course=python-101", timeout=30,
                            allow_redirects=False)
    assert response.status_code == 302
    assert "/hub/api/oauth2/authorize" in response.headers["Location"]


def test_a_hub_user_without_access_to_the_tutor_is_refused(tutor):
    response = tutor.call("outsider", "GET", "status?course=python-101")
    assert response.status_code == 403
    assert "may not use the tutor" in response.json()["message"]


def test_learners_ask_only_in_their_own_courses(tutor):
    asked = tutor.ask("katherine", **HINT)  # a learner of data-201
    assert asked.status == 403
    assert asked.error == {"error": "forbidden",
                           "message": "katherine is not in the course python-101."}


def test_a_service_reads_but_never_asks(tutor):
    asked = tutor.ask(None, token=LMS_SERVICE_TOKEN, **HINT)
    assert asked.status == 403
    assert "not services" in asked.error["message"]


def test_status_says_policy_quota_and_rate_before_asking(tutor):
    response = tutor.call("linus", "GET", "status?course=python-101&assignment=ps2-functions"
                          + status_query(notebook_of("ps2-functions")))
    assert response.status_code == 200
    status = response.json()
    assert status["policy"] == "hints-only"
    assert status["offline"] is False and status["model"] == "fake-tutor-model"
    assert status["quota"]["limit"] == 10000
    assert status["quota"]["resets_at"].endswith("T00:00:00+00:00")
    assert status["rate"] == {"per_minute": 1000}
    assert "hints only" in status["message"]


def test_status_of_an_unknown_assignment_is_404(tutor):
    response = tutor.call("grace", "GET", "status?course=python-101&assignment=ps9")
    assert response.status_code == 404
    assert response.json()["error"] == "not-found"


@pytest.fixture
def exchanges(tutor):
    """grace and linus have each asked once."""
    ids = {}
    for learner in ("grace", "linus"):
        asked = tutor.ask(learner, mode="chat", assignment="ps1-basics",
                          question=f"What is a float? ({learner})", **notebook_of("ps1-basics"))
        assert asked.last["type"] == "done", asked.events
        ids[learner] = asked.last["exchange_id"]
    return ids


def history(tutor, user, query="", token=None):
    return tutor.call(user, "GET", f"history?course=python-101{query}", token=token)


def test_a_learner_reads_their_own_history(tutor, exchanges):
    response = history(tutor, "grace")
    assert response.status_code == 200
    mine = response.json()["exchanges"]
    assert {e["learner"] for e in mine} == {"grace"}
    newest = mine[0]
    assert newest["id"] == exchanges["grace"]
    assert set(newest) == {"id", "course", "assignment", "learner", "mode", "cell_id",
                           "error_type", "question", "reply", "offline", "refused", "failed",
                           "created_at"}
    assert newest["question"] == "What is a float? (grace)"
    assert newest["reply"]


@pytest.mark.parametrize("query", ["&learner=linus", "&all=1"])
def test_a_learner_cannot_read_another_learners_history(tutor, exchanges, query):
    response = history(tutor, "grace", query)
    assert response.status_code == 403
    assert response.json()["message"] == "Learners read only their own exchanges."


def test_instructors_read_a_learners_or_everyones_exchanges(tutor, exchanges):
    linus = history(tutor, "ada", "&learner=linus").json()["exchanges"]
    assert {e["learner"] for e in linus} == {"linus"}
    everyone = history(tutor, "ada", "&all=1").json()["exchanges"]
    assert {"grace", "linus"} <= {e["learner"] for e in everyone}
    assert [e["id"] for e in everyone] == sorted((e["id"] for e in everyone), reverse=True)


def test_history_pages_back_with_before(tutor, exchanges):
    older = history(tutor, "ada", f"&all=1&before={exchanges['linus']}").json()["exchanges"]
    assert older and all(e["id"] < exchanges["linus"] for e in older)


def test_an_instructor_of_another_course_reads_nothing_here(tutor, exchanges):
    assert history(tutor, "barbara", "&all=1").status_code == 403
    summary = tutor.call("barbara", "GET", "courses/python-101/summary")
    assert summary.status_code == 403


def test_the_trusted_lms_reads_summaries_and_histories(tutor, exchanges):
    summary = tutor.call(None, "GET", "courses/python-101/summary", token=LMS_SERVICE_TOKEN)
    assert summary.status_code == 200
    body = summary.json()
    assert body["exchanges"] >= 2 and body["learners"] >= 2
    assert body["by_mode"]["chat"] >= 2
    assert {"error_types", "refused_leaks"} <= set(body)
    everyone = history(tutor, None, "&all=1", token=LMS_SERVICE_TOKEN)
    assert {"grace", "linus"} <= {e["learner"] for e in everyone.json()["exchanges"]}


def test_a_service_the_tutor_does_not_trust_reads_no_summary(tutor, exchanges):
    summary = tutor.call(None, "GET", "courses/python-101/summary", token=OTHER_SERVICE_TOKEN)
    assert summary.status_code == 403


def test_hub_admins_are_instructors_of_every_course(tutor, exchanges):
    summary = tutor.call("root", "GET", "courses/python-101/summary")
    assert summary.status_code == 200


def test_an_unknown_path_is_a_json_404(tutor):
    response = tutor.call("grace", "GET", "nothing/here")
    assert response.status_code == 404
    assert response.json()["error"] == "not-found"
