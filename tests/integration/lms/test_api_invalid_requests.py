"""What API v1 does with requests its schema does not allow: a 400 that names the parameter, or a
JSON 404, never a silently ignored parameter or a server error (test_api_contract.py holds the
whole API to its schema; these pin down each refusal)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(learner):
    client = APIClient()
    client.force_authenticate(learner)
    return client


@pytest.mark.parametrize(
    "query",
    ["offset=-1", "offset=abc", "offset=", "limit=0", "limit=-5", "limit=1.5", "limit=99999999999"],
)
def test_an_invalid_offset_or_limit_is_refused_with_400(api, query):
    response = api.get(f"/api/v1/courses/?{query}")

    assert response.status_code == 400
    assert set(response.json()) == {query.split("=")[0]}


def test_a_valid_offset_and_limit_still_page(api, course):
    response = api.get("/api/v1/courses/python-101/lessons/?limit=1&offset=1")

    assert response.status_code == 200
    assert [lesson["slug"] for lesson in response.json()["results"]] == ["functions"]


def test_a_query_parameter_given_twice_is_refused_with_400(api):
    response = api.get("/api/v1/enrollments/?course=python-101&course=data-201")

    assert response.status_code == 400
    assert response.json() == {"course": ["Give course once (it was given 2 times)."]}


@pytest.mark.parametrize(
    "query",
    ["enrollments/?user=", "enrollments/?course=", "progress/?user=", "grades/?assignment="],
)
def test_an_empty_filter_is_refused_with_400_not_read_as_no_filter(api, query):
    response = api.get(f"/api/v1/{query}")

    assert response.status_code == 400
    name = query.split("?")[1].rstrip("=")
    assert response.json() == {
        name: ["Give a name, or leave the parameter out to filter nothing."]
    }


def test_an_unknown_role_filter_is_refused_with_400(api):
    response = api.get("/api/v1/enrollments/?role=owner")

    assert response.status_code == 400
    assert "role" in response.json()


def test_counts_must_be_true_or_false(api):
    assert api.get("/api/v1/grades/?counts=maybe").status_code == 400
    assert api.get("/api/v1/grades/?counts=false").status_code == 200


def test_a_nul_character_in_a_query_parameter_is_refused_with_400(api):
    response = api.get("/api/v1/progress/", {"user": "grace\x00"})

    assert response.status_code == 400
    assert "user" in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/courses/%00/",
        "/api/v1/courses/python-101/lessons/%00/",
        "/api/v1/courses/python-101/assignments/%00/submissions/",
        "/api/v1/courses/a.b.c/",
        "/api/v1/no-such-thing/",
    ],
)
def test_a_path_that_names_nothing_is_a_json_404(api, course, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_options_on_a_collection_with_put_describes_it(api):
    for path in ["/api/v1/progress/", "/api/v1/grades/"]:
        response = api.options(path)

        assert response.status_code == 200, path
        assert "PUT" in response["Allow"]


def test_a_regrade_body_must_be_json(instructor, course, fake_grader):
    client = APIClient()
    client.force_authenticate(instructor)

    response = client.post(
        "/api/v1/courses/python-101/assignments/ps1-basics/regrade/",
        "submissions=x",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 415
    assert fake_grader.requests == []
