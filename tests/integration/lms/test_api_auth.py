"""The three ways to call the API (session, DRF token, OAuth2 bearer) and what an anonymous or
wrongly authenticated caller gets: always 401 with a ``WWW-Authenticate`` challenge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

OIDC_SCOPE = "openid profile email groups"


def bearer_token(user, *, expires_in=dt.timedelta(hours=1), value="bearer-token-of-the-test"):
    AccessToken.objects.create(
        user=user, token=value, scope=OIDC_SCOPE, expires=timezone.now() + expires_in
    )
    return value


def test_session_authenticates_the_browsable_api(learner):
    client = APIClient()
    assert client.login(username="grace", password="correct-horse-battery")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "grace"


def test_session_writes_need_the_csrf_token(learner):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="grace", password="correct-horse-battery")
    payload = {"course": "python-101", "lesson": "basics", "status": "completed"}
    response = client.post("/api/v1/progress/", payload, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_drf_token_authenticates(learner):
    token = Token.objects.create(user=learner)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "grace"


def test_token_writes_need_no_csrf_token(learner):
    token = Token.objects.create(user=learner)
    client = APIClient(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token.key}")
    payload = {"course": "python-101", "lesson": "basics", "status": "completed"}
    assert client.post("/api/v1/progress/", payload, format="json").status_code == 200


def test_oauth2_bearer_token_of_the_lms_authenticates(learner):
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {bearer_token(learner)}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "username": "grace",
        "name": learner.display_name,
        "email": "grace@example.org",
        "role": "learner",
        "groups": ["nbgrader-python-101"],
    }


def test_bearer_token_reads_only_what_its_user_may_read(learner, other_learner):
    from lms.courses.models import AssignmentPage
    from tests.support.lms_factories import GradeFactory

    ps1 = AssignmentPage.objects.get(nbgrader_name="ps1-basics")
    GradeFactory(assignment=ps1, learner=learner)
    GradeFactory(assignment=ps1, learner=other_learner)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {bearer_token(other_learner)}")
    grades = client.get("/api/v1/grades/").json()["results"]
    assert [g["learner"] for g in grades] == ["linus"]


def test_expired_bearer_token_is_refused(learner):
    token = bearer_token(learner, expires_in=-dt.timedelta(minutes=1))
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me/")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "authorization",
    ["Token not-a-real-token-0123456789", "Bearer not-a-real-token", "Basic Z3JhY2U6eA=="],
)
def test_unknown_credentials_are_refused_with_401(learner, authorization):
    response = APIClient(HTTP_AUTHORIZATION=authorization).get("/api/v1/me/")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/",
        "/api/v1/me/",
        "/api/v1/courses/",
        "/api/v1/courses/python-101/",
        "/api/v1/courses/python-101/lessons/",
        "/api/v1/courses/python-101/assignments/",
        "/api/v1/courses/python-101/gradebook/",
        "/api/v1/enrollments/",
        "/api/v1/progress/",
        "/api/v1/grades/",
    ],
)
def test_anonymous_callers_get_401_with_a_token_challenge(course, path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_inactive_users_token_is_refused(learner):
    token = Token.objects.create(user=learner)
    learner.is_active = False
    learner.save()
    response = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}").get("/api/v1/me/")
    assert response.status_code == 401
