"""``/metrics``: the LMS's counts for Prometheus, read with the studio's metrics token only."""

from __future__ import annotations

import pytest

TOKEN = "metrics-token-for-the-lms-tests-0123456789"

pytestmark = pytest.mark.django_db


@pytest.fixture
def metrics_token(settings):
    settings.STUDIO_METRICS_TOKEN = TOKEN
    return TOKEN


def test_without_a_token_configured_metrics_are_off(client, settings):
    settings.STUDIO_METRICS_TOKEN = ""
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 404
    assert "STUDIO_METRICS_TOKEN" in answer.json()["message"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Token {TOKEN}",
                                           f"Basic {TOKEN}"])
def test_a_request_without_the_bearer_token_is_refused(client, metrics_token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    answer = client.get("/metrics", **headers)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert "django_http" not in answer.content.decode()


def test_a_signed_in_staff_member_is_no_prometheus(client, metrics_token, staff):
    client.force_login(staff)
    assert client.get("/metrics").status_code == 401


def test_prometheus_reads_requests_latency_database_and_disk(client, metrics_token):
    client.get("/courses/")  # a page: a request, a view, queries
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    text = answer.content.decode()
    for series in ("django_http_requests_total_by_method_total",
                   "django_http_requests_latency_seconds_by_view_method_bucket",
                   "django_http_responses_total_by_status_total",
                   "django_db_execute_total", "django_db_query_duration_seconds_bucket",
                   'studio_disk_free_bytes{folder="lms"}', 'studio_disk_size_bytes{folder="lms"}'):
        assert series in text, series
