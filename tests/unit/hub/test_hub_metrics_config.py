"""/hub/metrics for Prometheus: the studio's metrics token as a hub service that may read the
hub's metrics and nothing else; the grader and the tutor the hub starts get the same token."""

from __future__ import annotations

from jupyterhub.scopes import _check_scopes_exist
from traitlets.config import Config

from hub.config import configure

TOKEN = "metrics-token-for-the-hub-tests-0123456789"


def configured(environ):
    return configure(Config(), environ, probe=lambda: False)


def by_name(entries: list[dict]) -> dict[str, dict]:
    return {entry["name"]: entry for entry in entries}


def test_prometheus_reads_the_hubs_metrics_with_the_metrics_token_and_nothing_else(environ):
    environ["STUDIO_METRICS_TOKEN"] = TOKEN
    c = configured(environ)
    assert c.JupyterHub.authenticate_prometheus is True
    prometheus = by_name(c.JupyterHub.services)["prometheus"]
    assert prometheus["api_token"] == TOKEN
    assert "command" not in prometheus and "url" not in prometheus
    role = by_name(c.JupyterHub.load_roles)["prometheus"]
    assert (role["services"], role["scopes"]) == (["prometheus"], ["read:metrics"])
    _check_scopes_exist(role["scopes"])


def test_the_metrics_token_may_come_from_a_file(environ, tmp_path):
    token_file = tmp_path / "metrics-token"
    token_file.write_text(f"{TOKEN}\n")
    environ["STUDIO_METRICS_TOKEN_FILE"] = str(token_file)
    assert by_name(configured(environ).JupyterHub.services)["prometheus"]["api_token"] == TOKEN


def test_without_a_metrics_token_no_one_reads_the_hubs_metrics(environ):
    c = configured(environ)
    assert c.JupyterHub.authenticate_prometheus is True  # a token with read:metrics, none given
    assert "prometheus" not in by_name(c.JupyterHub.services)
    assert "prometheus" not in by_name(c.JupyterHub.load_roles)


def test_the_managed_grader_and_tutor_get_the_metrics_token_their_formgraders_do_not(
    environ, tmp_path
):
    token_file = tmp_path / "metrics-token"
    token_file.write_text(TOKEN)
    environ["STUDIO_METRICS_TOKEN_FILE"] = str(token_file)
    services = by_name(configured(environ).JupyterHub.services)
    for name in ("grader", "tutor"):
        assert services[name]["environment"]["STUDIO_METRICS_TOKEN_FILE"] == str(token_file)
    formgrader = services["formgrader-python-101"]["environment"]
    assert not any(key.startswith("STUDIO_METRICS_") for key in formgrader)
