"""The Grafana dashboard (deploy/grafana/studio.json) and the alert rules
(deploy/prometheus/alerts.yml) read only series the studio exports: every metric name in their
expressions is one the code defines (the grader's, the tutor's, servicekit's disk space,
django-prometheus's for the LMS, JupyterHub's), or Prometheus's own ``up``. A renamed metric
would otherwise leave an empty panel or an alert that can never fire, silently."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "studio.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"

# What a family's samples are called (prometheus_client's exposition).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "unknown": ("",),
}
PROMETHEUS_OWN = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def families_of(collector) -> Iterator:
    describe = getattr(collector, "describe", None)
    yield from (describe() if describe else collector.collect())


def metric_objects(*modules) -> Iterator[MetricWrapperBase]:
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                yield value


def sample_names(collectors: Iterable) -> set[str]:
    names = set()
    for collector in collectors:
        for family in families_of(collector):
            names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def defined_series() -> set[str]:
    """Every sample name the studio's parts export, from the code that defines them."""
    import django_prometheus.db.metrics
    import django_prometheus.migrations
    import jupyterhub.metrics
    from django_prometheus.middleware import Metrics

    import grading.metrics
    import tutor.metrics
    from grading.metrics import QueueCollector
    from servicekit.metrics import DiskSpace

    django_http = [value for value in vars(Metrics.get_instance()).values()
                   if isinstance(value, MetricWrapperBase)]
    collectors = [
        *metric_objects(grading.metrics, tutor.metrics, jupyterhub.metrics,
                        django_prometheus.db.metrics, django_prometheus.migrations),
        *django_http, QueueCollector(dict), DiskSpace({}),
    ]
    return sample_names(collectors) | PROMETHEUS_OWN


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers outside label matchers, ranges
    and groupings that are not functions or keywords."""
    bare = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    bare = GROUPING.sub("", bare)
    return {name for name, call in IDENTIFIER.findall(bare)
            if not call and name.lower() not in KEYWORDS}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def alert_exprs() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_the_search_finds_the_series_of_an_expression():
    expr = ('histogram_quantile(0.95, sum by (le, view) (rate(a_seconds_bucket{job="lms", '
            'view=~"x|y"}[5m]))) / on (job) group_left b_total and up == 1 > 24 * 3600')
    assert series_in(expr) == {"a_seconds_bucket", "b_total", "up"}


def test_the_defined_series_are_found_in_the_code():
    defined = defined_series()
    assert {"grader_queue_jobs", "grader_sandbox_failures_total",
            "tutor_first_token_seconds_bucket", "studio_disk_free_bytes",
            "django_http_requests_total_by_method_total", "django_db_execute_total",
            "jupyterhub_server_spawn_duration_seconds_count"} <= defined


@pytest.mark.parametrize("expr", dashboard_exprs())
def test_every_dashboard_expression_reads_series_the_studio_exports(expr):
    assert series_in(expr), expr
    assert series_in(expr) <= defined_series()


@pytest.mark.parametrize("expr", alert_exprs())
def test_every_alert_reads_series_the_studio_exports(expr):
    assert series_in(expr), expr
    assert series_in(expr) <= defined_series()


def test_the_dashboard_is_grafanas_with_a_prometheus_datasource_to_choose():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "pls-studio" and dashboard["title"]
    (variable,) = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"], variable["name"]) == (
        "datasource", "prometheus", "datasource")
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert [t["refId"] for t in panel["targets"]] == [
                chr(ord("A") + n) for n in range(len(panel["targets"]))]
