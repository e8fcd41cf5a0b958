"""The OpenAPI document at /api/v1/schema/ and the Swagger UI at /api/v1/docs/ (no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

ENDPOINTS = {
    "/api/v1/me/": {"get"},
    "/api/v1/courses/": {"get"},
    "/api/v1/courses/{slug}/": {"get"},
    "/api/v1/courses/{slug}/enroll/": {"post"},
    "/api/v1/courses/{slug}/leave/": {"post"},
    "/api/v1/courses/{slug}/gradebook/": {"get"},
    "/api/v1/courses/{slug}/grades/": {"get"},
    "/api/v1/courses/{course_slug}/lessons/": {"get"},
    "/api/v1/courses/{course_slug}/lessons/{slug}/": {"get"},
    "/api/v1/courses/{course_slug}/assignments/": {"get"},
    "/api/v1/courses/{course_slug}/assignments/{nbgrader_name}/": {"get"},
    "/api/v1/courses/{course_slug}/assignments/{nbgrader_name}/release/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/assignments/{nbgrader_name}/submissions/": {"get"},
    "/api/v1/courses/{course_slug}/assignments/{nbgrader_name}/regrade/": {"post"},
    "/api/v1/courses/{course_slug}/assignments/{nbgrader_name}/feedback/": {"post"},
    "/api/v1/enrollments/": {"get"},
    "/api/v1/enrollments/{id}/": {"get"},
    "/api/v1/progress/": {"get", "post", "put"},
    "/api/v1/progress/{id}/": {"get"},
    "/api/v1/grades/": {"get", "post", "put"},
    "/api/v1/grades/{id}/": {"get"},
}


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_a_valid_openapi_document(schema):
    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Python Learning Studio LMS API"


def test_the_schema_names_every_endpoint_and_method_and_nothing_else(schema):
    described = {
        path: {m for m in operations if m in {"get", "post", "put", "patch", "delete"}}
        for path, operations in schema["paths"].items()
    }
    assert described == ENDPOINTS


def test_the_schema_describes_the_three_ways_to_authenticate(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["in"] == "header"
    assert schemes["cookieAuth"]["in"] == "cookie"
    flow = schemes["oauth2"]["flows"]["authorizationCode"]
    assert (flow["authorizationUrl"], flow["tokenUrl"]) == ("/o/authorize/", "/o/token/")
    assert {"openid", "groups"} <= set(flow["scopes"])


def test_the_grade_push_is_documented_with_its_keys(schema):
    push = schema["paths"]["/api/v1/grades/"]["put"]
    ref = push["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"course", "assignment", "learner", "submission_id", "score", "max_score"} <= set(
        body["required"]
    )
    assert set(push["responses"]) == {"200", "201"}


def test_the_docs_load_swagger_ui_from_our_static_files_not_a_cdn(db):
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/v1/schema/" in html
    assert '"validatorUrl": null' in html
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assert "cdn.jsdelivr" not in html


def test_the_api_root_lists_the_collections(learner):
    client = APIClient()
    client.force_authenticate(learner)
    root = client.get("/api/v1/").json()
    assert {"courses", "enrollments", "progress", "grades"} <= set(root)


def test_swagger_ui_files_ship_with_the_sidecar_package():
    import drf_spectacular_sidecar

    dist = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
    for name in ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"]:
        assert (dist / "swagger-ui-dist" / name).is_file()


def test_the_grading_actions_are_documented_with_the_graders_failures(schema):
    on = "/api/v1/courses/{course_slug}/assignments/{nbgrader_name}"
    release = schema["paths"][f"{on}/release/"]
    assert set(release["post"]["responses"]) == {"200", "201", "403", "502", "503", "504"}
    assert "204" in release["delete"]["responses"]
    assert "202" in schema["paths"][f"{on}/regrade/"]["post"]["responses"]
    regrade_body = schema["paths"][f"{on}/regrade/"]["post"]["requestBody"]["content"]
    ref = regrade_body["application/json"]["schema"]["$ref"]
    assert "submissions" in schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    export = schema["paths"]["/api/v1/courses/{slug}/grades/"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
    assert "grades.csv" in export["description"]
