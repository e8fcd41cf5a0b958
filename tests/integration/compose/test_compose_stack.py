"""docker-compose.yml on this machine: the whole stack up (the folder's ``stack``, conftest.py),
checked through its one public entry point.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.support.compose_stack import HUB_HOST

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DATABASES = ("lms", "hub", "grader", "tutor")


def test_the_lms_home_page_answers_from_its_database(stack):
    page = stack.get("/")
    assert page.status_code == 200
    assert "Python Learning Studio" in page.text


def test_the_lms_imported_the_mounted_courses_into_postgresql(stack):
    assert "python-101" in stack.get("/courses/").text
    assert stack.psql("lms", "select count(*) from courses_coursepage") == "1"


def test_every_part_keeps_its_state_in_its_own_postgresql_database(stack):
    for database in DATABASES:
        tables = stack.psql(database, "select count(*) from information_schema.tables "
                                      "where table_schema = 'public'")
        assert int(tables) > 0, f"no tables in {database}"


def test_the_hub_answers_through_the_entry_point(stack):
    assert stack.hub("/hub/health").status_code == 200
    assert "version" in stack.hub("/hub/api/").json()


@pytest.mark.parametrize(("service", "signed_in_path"), [
    ("grader", "api/courses"), ("tutor", "api/status"),
])
def test_the_services_are_routed_by_the_hubs_proxy(stack, service, signed_in_path):
    answer = stack.hub(f"/services/{service}/api/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    # their own API: a caller without a hub token is sent to sign in by the service (with the
    # hub's OAuth: the hub knows its client) or refused, never served
    guest = stack.hub(f"/services/{service}/{signed_in_path}", allow_redirects=False)
    assert guest.status_code in {302, 401, 403}, guest.text[:300]
    if guest.status_code == 302:
        assert guest.headers["Location"].startswith("/hub/api/oauth2/authorize")
        hub = stack.hub(guest.headers["Location"], allow_redirects=False)
        assert hub.status_code == 302, hub.text[:300]  # to the hub's login, not an OAuth error
    # only under the hub's host: the LMS's host routes nothing to them
    assert stack.get(f"/services/{service}/api/health").status_code != 200


def test_signing_in_to_the_hub_goes_to_the_lms_at_its_own_public_origin(stack):
    issuer = stack.get("/.well-known/openid-configuration").json()["issuer"]
    assert issuer.rstrip("/") == stack.url
    login = stack.hub("/hub/oauth_login", allow_redirects=False)
    assert login.status_code == 302
    assert login.headers["Location"].startswith(f"{stack.url}/o/authorize/")
    assert f"redirect_uri=http%3A%2F%2F{HUB_HOST}" in login.headers["Location"]
    form = stack.get(login.headers["Location"][len(stack.url):])
    assert form.status_code == 200 and "csrfmiddlewaretoken" in form.text  # the LMS's login


def test_the_notebook_network_is_internal(stack):
    network = f"{stack.project}-notebooks"
    internal = subprocess.run(["docker", "network", "inspect", "-f", "{{.Internal}}", network],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert internal == "true"


def test_prometheus_scrapes_every_part_over_the_internal_network(stack):
    """Every part answers Prometheus's scrape with the metrics token (asked with the promtool in
    Prometheus's own container: it publishes no port)."""
    deadline = time.monotonic() + 90  # a scrape every 15 s
    answer = ""
    while time.monotonic() < deadline:
        answer = stack.compose("exec", "-T", "prometheus", "promtool", "query", "instant", "-o",
                               "json", "http://127.0.0.1:9090", 'count(up{job!="prometheus"} == 1)',
                               check=False).stdout
        if answer.strip().startswith("[") and json.loads(answer) and (
                json.loads(answer)[0]["value"][1] == "4"):
            return
        time.sleep(3)
    pytest.fail(f"not every part is up in Prometheus: {answer}\n{stack.logs()}")


@pytest.mark.parametrize("path", ["/metrics", "/hub/metrics", "/hub/api/metrics",
                                  "/services/grader/metrics", "/services/tutor/metrics"])
def test_metrics_are_not_served_to_the_public(stack, path):
    assert stack.get(path, headers={"Authorization": "Bearer anything"}).status_code == 404
