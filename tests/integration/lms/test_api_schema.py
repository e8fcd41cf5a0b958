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
    "/api/v1/courses/{course_slug}/threads/": {"get", "post"},
    "/api/v1/courses/{course_slug}/threads/{id}/": {"get"},
    "/api/v1/courses/{course_slug}/threads/{id}/replies/": {"post"},
    "/api/v1/courses/{course_slug}/threads/{id}/follow/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/threads/{id}/answered/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/threads/{id}/pin/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/threads/{id}/lock/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/threads/{id}/hide/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/threads/{id}/move/": {"post"},
    "/api/v1/courses/{course_slug}/posts/{id}/": {"patch", "delete"},
    "/api/v1/courses/{course_slug}/posts/{id}/vote/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/posts/{id}/endorse/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/posts/{id}/hide/": {"post", "delete"},
    "/api/v1/courses/{course_slug}/posts/{id}/report/": {"post"},
    "/api/v1/courses/{course_slug}/posts/{id}/review/": {"post"},
    "/api/v1/courses/{course_slug}/held-posts/": {"get"},
    "/api/v1/courses/{course_slug}/reports/": {"get"},
    "/api/v1/courses/{course_slug}/audit/": {"get"},
    "/api/v1/courses/{course_slug}/bans/": {"get", "post"},
    "/api/v1/courses/{course_slug}/bans/{id}/": {"delete"},
    "/api/v1/enrollments/": {"get"},
    "/api/v1/enrollments/{id}/": {"get"},
    "/api/v1/progress/": {"get", "post", "put"},
    "/api/v1/progress/{id}/": {"get"},
    "/api/v1/grades/": {"get", "post", "put"},
    "/api/v1/grades/{id}/": {"get"},
    "/api/v1/notifications/": {"get"},
    "/api/v1/notifications/unread-count/": {"get"},
    "/api/v1/notifications/{id}/read/": {"post"},
    "/api/v1/notifications/read-all/": {"post"},
    "/api/v1/notifications/preferences/": {"get", "put", "patch"},
}


def successes(operation) -> set[str]:
    return {code for code in operation["responses"] if code < "300"}


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
    assert successes(push) == {"200", "201"}


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
    assert successes(release["post"]) == {"200", "201"}
    assert {"403", "502", "503", "504"} <= set(release["post"]["responses"])
    assert "204" in release["delete"]["responses"]
    assert "202" in schema["paths"][f"{on}/regrade/"]["post"]["responses"]
    regrade_body = schema["paths"][f"{on}/regrade/"]["post"]["requestBody"]["content"]
    ref = regrade_body["application/json"]["schema"]["$ref"]
    assert "submissions" in schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    export = schema["paths"]["/api/v1/courses/{slug}/grades/"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
    assert "grades.csv" in export["description"]


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_401_and_429_and_those_naming_something_404(schema):
    for name, operation in operations(schema):
        answers = operation["responses"]
        assert {"401", "429"} <= set(answers), name
        assert "Retry-After" in answers["429"]["headers"], name
        if "{" in name:
            assert "404" in answers, name
        for code, answer in answers.items():
            if code >= "400":
                assert list(answer["content"]) == ["application/json"], (name, code)


def test_operations_reading_a_body_or_query_parameters_document_400(schema):
    for name, operation in operations(schema):
        reads = "requestBody" in operation or any(
            p["in"] == "query" for p in operation.get("parameters", [])
        )
        assert ("400" in operation["responses"]) == reads, name


def test_writes_and_permission_checked_reads_document_403(schema):
    for name in [
        "POST /api/v1/progress/",
        "PUT /api/v1/grades/",
        "GET /api/v1/courses/{slug}/gradebook/",
        "GET /api/v1/courses/{course_slug}/assignments/{nbgrader_name}/submissions/",
    ]:
        assert "403" in dict(operations(schema))[name]["responses"], name
    assert "403" not in dict(operations(schema))["GET /api/v1/me/"]["responses"]


def test_computed_final_scores_are_documented_as_the_decimal_strings_sent(schema):
    components = schema["components"]["schemas"]
    for component in ["Grade", "GradebookCell"]:
        final_score = components[component]["properties"]["final_score"]
        assert final_score["type"] == "string"
        assert final_score["format"] == "decimal"


def test_a_pushed_score_may_be_a_json_number_or_a_decimal_string(schema):
    score = schema["components"]["schemas"]["GradeWrite"]["properties"]["score"]
    assert {branch["type"] for branch in score["oneOf"]} == {"number", "string"}


def test_progress_writes_are_documented_with_the_200_they_answer(schema):
    progress = schema["paths"]["/api/v1/progress/"]
    assert successes(progress["post"]) == successes(progress["put"]) == {"200"}


def test_paging_parameters_are_documented_with_their_bounds(schema):
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/v1/courses/"]["get"]["parameters"]
    }
    assert parameters["limit"]["minimum"] == 1
    assert parameters["offset"]["minimum"] == 0


def test_fields_is_documented_as_a_comma_separated_list_of_known_names(schema):
    parameters = schema["paths"]["/api/v1/grades/"]["get"]["parameters"]
    fields = next(p for p in parameters if p["name"] == "fields")
    assert (fields["style"], fields["explode"]) == ("form", False)
    assert {"submission_id", "score", "feedback_html"} <= set(fields["schema"]["items"]["enum"])
