"""docker-compose.yml and .env.example, read as YAML and text: the production shape the docs
promise (docs/architecture.md, "Production: docker-compose.yml"), without Docker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import ops.stacks
from tests.support import compose_stack

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
# ${NAME}, ${NAME:-default}, ${NAME:?message}: every variable the file reads.
VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?[-?][^}]*)?\}")
SECRETS = {
    "POSTGRES_PASSWORD", "LMS_SECRET_KEY", "OIDC_RSA_PRIVATE_KEY_BASE64",
    "HUB_OAUTH_CLIENT_SECRET", "HUB_LMS_SERVICE_TOKEN", "HUB_GRADER_API_TOKEN",
    "HUB_TUTOR_API_TOKEN", "LMS_GRADER_TOKEN", "LMS_TUTOR_TOKEN", "CONFIGPROXY_AUTH_TOKEN",
    "JUPYTERHUB_CRYPT_KEY", "JPY_COOKIE_SECRET", "GRADER_COOKIE_SECRET", "TUTOR_COOKIE_SECRET",
    "STUDIO_METRICS_TOKEN",
}


def compose_text() -> str:
    """docker-compose.yml without its comments (they quote ``${NAME:?}`` as an example)."""
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def networks_of(service: str) -> set[str]:
    return set(SERVICES[service].get("networks", []))


def env_of(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in SERVICES[service].get("environment", {}).items()}


def example_values() -> dict[str, str]:
    lines = (line for line in ENV_EXAMPLE.splitlines() if line and not line.startswith("#"))
    return dict(line.split("=", 1) for line in lines)


def test_the_services_and_networks_the_docs_name():
    assert set(SERVICES) == {"postgres", "lms", "lms-worker", "hub", "grader", "tutor", "front",
                             "prometheus"}
    assert set(COMPOSE["networks"]) == {"public", "backend", "notebooks", "egress"}


def test_front_is_the_one_public_entry_point():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"front"}
    assert networks_of("front") == {"public", "backend"}


def test_learners_network_is_internal_and_holds_only_the_hub():
    notebooks = COMPOSE["networks"]["notebooks"]
    assert notebooks["internal"] is True
    # the hub attaches learners' containers to the network by this name
    assert notebooks["name"] == "${PLS_NOTEBOOK_NETWORK:-pls-compose-notebooks}"
    assert env_of("hub")["HUB_DOCKER_NETWORK"] == notebooks["name"]
    assert [name for name in SERVICES if "notebooks" in networks_of(name)] == ["hub"]
    # learners reach the grader and the tutor through the hub's proxy, not directly, by the
    # hub's public host (the proxy routes by host), which names the hub on their network
    proxy = "http://${STUDIO_HUB_PUBLIC_HOST}:8000"
    assert env_of("hub")["HUB_GRADER_SERVER_URL"].startswith(f"{proxy}/services/grader/")
    assert env_of("hub")["HUB_TUTOR_SERVER_URL"].startswith(f"{proxy}/services/tutor/")
    aliases = SERVICES["hub"]["networks"]["notebooks"]["aliases"]
    assert [alias.split(":")[0] for alias in aliases] == ["${STUDIO_HUB_PUBLIC_HOST"]


def test_the_lms_believes_the_client_address_only_from_the_front_proxy():
    """The front proxy appends the address it saw to X-Forwarded-For; the LMS trusts that header
    from the front proxy alone (its sign-in throttle counts failures per client address)."""
    front = (ROOT / "images" / "front" / "front.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in front
    assert env_of("lms")["LMS_TRUSTED_PROXIES"] == "front"


def test_databases_are_on_the_internal_backend_only():
    assert COMPOSE["networks"]["backend"]["internal"] is True
    assert networks_of("postgres") == {"backend"}
    assert networks_of("lms") == {"backend"}
    assert networks_of("grader") == {"backend"}
    assert "egress" in networks_of("tutor")  # its model endpoint is outside


def test_only_the_hub_and_the_grader_get_the_docker_socket():
    with_socket = {
        name for name, service in SERVICES.items()
        if any("docker.sock" in volume for volume in service.get("volumes", []))
    }
    assert with_socket == {"hub", "grader"}


def test_postgres_image_is_a_variable_with_a_public_default():
    assert SERVICES["postgres"]["image"] == "${POSTGRES_IMAGE:-postgres:16}"


def test_postgres_prices_index_look_ups_as_the_development_server_does():
    """random_page_cost for data in memory or on an SSD, the same in production (compose) as on
    the server .ci/provision sets up for the tests and ``make bench``."""
    provisioned = re.search(r"^PG_RANDOM_PAGE_COST=(\S+)$", (ROOT / ".ci/provision").read_text(),
                            re.MULTILINE)
    assert provisioned is not None
    assert SERVICES["postgres"]["command"] == [
        "postgres", "-c", f"random_page_cost={provisioned[1]}",
    ]


def test_every_secret_is_required_from_the_env_file_and_none_is_written_in():
    text = compose_text()
    for name in SECRETS:
        assert re.search(rf"\$\{{{name}:\?", text), f"{name} is not required with ${{{name}:?}}"
        assert not re.search(rf"\$\{{{name}:-", text), f"{name} has a default"


def test_oidc_urls_derive_from_the_lms_and_the_hub_public_urls():
    public = "${STUDIO_PUBLIC_URL}"
    assert env_of("lms")["LMS_PUBLIC_URL"].startswith(public[:-1])
    assert env_of("hub")["LMS_PUBLIC_URL"] == public
    callback = "${STUDIO_HUB_PUBLIC_URL}/hub/oauth_callback"
    assert env_of("lms")["HUB_OAUTH_CALLBACK_URL"] == callback
    assert env_of("hub")["HUB_OAUTH_CALLBACK_URL"] == callback
    assert env_of("lms")["HUB_OAUTH_CLIENT_ID"] == env_of("hub")["HUB_OAUTH_CLIENT_ID"]


def test_the_hub_is_on_a_public_host_of_its_own_whose_subdomains_are_learners_servers():
    hub = "${STUDIO_HUB_PUBLIC_URL}"
    assert env_of("hub")["HUB_PUBLIC_URL"] == hub
    assert env_of("lms")["STUDIO_HUB_URL"].startswith(hub[:-1])  # the LMS links there
    for service in ("grader", "tutor"):  # their OAuth callbacks are on the hub's host
        assert env_of(service)["JUPYTERHUB_OAUTH_CALLBACK_URL"] == (
            f"{hub}/services/{service}/oauth_callback")
    values = example_values()
    lms_host, hub_host = values["STUDIO_PUBLIC_HOST"], values["STUDIO_HUB_PUBLIC_HOST"]
    assert values["STUDIO_HUB_PUBLIC_URL"] == f"https://{hub_host}"
    # neither host is the other's parent: no learner's server can set the LMS's cookies
    assert not hub_host.endswith(f".{lms_host}") and not lms_host.endswith(f".{hub_host}")


@pytest.mark.parametrize(("service", "token", "hub_variable"), [
    ("grader", "JUPYTERHUB_API_TOKEN", "HUB_GRADER_API_TOKEN"),
    ("tutor", "JUPYTERHUB_API_TOKEN", "HUB_TUTOR_API_TOKEN"),
])
def test_external_services_hold_the_token_the_hub_registers(service, token, hub_variable):
    assert env_of("hub")[f"HUB_{service.upper()}"] == "external"
    assert env_of(service)[token] == f"${{{hub_variable}}}"
    assert env_of("hub")[hub_variable].startswith(f"${{{hub_variable}")


def test_env_example_names_every_variable_with_placeholders_only():
    used = set(VARIABLE.findall(compose_text()))
    values = example_values()
    assert used <= set(values), f"missing from .env.example: {sorted(used - set(values))}"
    for name in SECRETS:
        assert values[name].startswith("<"), f"{name} has a value in .env.example"


def test_the_real_env_file_is_ignored_by_git():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_prometheus_scrapes_over_the_internal_network_with_the_repositorys_configuration():
    prometheus = SERVICES["prometheus"]
    assert networks_of("prometheus") == {"backend"}  # internal; no published port (see above)
    assert prometheus["image"] == "pls-prometheus:${PLS_IMAGE_TAG:-latest}"
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in prometheus["volumes"]}
    assert mounted["./deploy/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounted["./deploy/prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert (ROOT / "deploy" / "prometheus" / "prometheus.yml").is_file()
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"]
               for job in config["scrape_configs"]}
    assert targets == {"lms": ["lms:8000"], "hub": ["hub:8081"], "grader": ["grader:10101"],
                       "tutor": ["tutor:10102"], "prometheus": ["127.0.0.1:9090"]}
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_the_lms_worker_sends_email_from_the_lms_image_with_no_service_token():
    worker = SERVICES["lms-worker"]
    assert worker["image"] == SERVICES["lms"]["image"]
    assert worker["command"] == ["python", "-m", "lms", "worker"]
    assert worker["depends_on"] == {"lms": {"condition": "service_healthy"}}
    assert networks_of("lms-worker") == {"backend", "egress"}  # the database; the SMTP server
    env = env_of("lms-worker")
    assert env["DATABASE_URL"] == env_of("lms")["DATABASE_URL"]
    assert env["LMS_SECRET_KEY"] == env_of("lms")["LMS_SECRET_KEY"]  # signs unsubscribe links
    assert env["LMS_EMAIL_HOST"].startswith("${LMS_EMAIL_HOST:?")
    assert not any(name.endswith("_TOKEN") for name in env)


def test_every_part_gets_the_metrics_token_prometheus_reads_with():
    for service in ("lms", "hub", "grader", "tutor"):
        assert env_of(service)["STUDIO_METRICS_TOKEN"] == "${STUDIO_METRICS_TOKEN}"
    assert env_of("prometheus")["STUDIO_METRICS_TOKEN"].startswith("${STUDIO_METRICS_TOKEN:?")
    assert not any("STUDIO_METRICS_TOKEN" in env_of(s) for s in ("postgres", "front"))


# -- backups of the compose stack (python -m ops backup --compose; ops.stacks) ----------------


def test_the_compose_backup_covers_every_database_the_services_use():
    used = set()
    for service in SERVICES.values():
        for value in (service.get("environment") or {}).values():
            used.update(re.findall(r"@postgres:5432/(\w+)", str(value)))
    assert set(ops.stacks.COMPOSE_DATABASES.values()) == used == {"lms", "hub", "grader", "tutor"}
    assert SERVICES["postgres"]["environment"]["POSTGRES_USER"] == ops.stacks.COMPOSE_DB_USER


def test_the_compose_backup_covers_every_named_volume_but_postgres_and_prometheus():
    volumes = set(COMPOSE["volumes"])
    saved = set(ops.stacks.COMPOSE_VOLUMES.values())
    assert saved | ops.stacks.COMPOSE_UNSAVED_VOLUMES == volumes
    assert not saved & ops.stacks.COMPOSE_UNSAVED_VOLUMES
    # compose names them <project>_<key>, as ops finds them: no volume has a name of its own
    assert all(not (spec or {}).get("name") for spec in COMPOSE["volumes"].values())


def test_the_compose_backup_dumps_in_the_postgres_container_and_tars_volumes_in_a_local_image(
        tmp_path, monkeypatch):
    env_file = tmp_path / "env"
    env_file.write_text("STUDIO_COURSES_HOST_DIR=/srv/host-courses\nHUB_DOCKER_PREFIX=school\n"
                        "HUB_IMAGE=pls-notebook:abc\n")
    monkeypatch.setattr(ops.stacks, "compose_command", lambda: ["docker", "compose"])
    monkeypatch.setattr(ops.stacks, "run", lambda command, what: "school-work-ada\nother\n")
    stack = ops.stacks.compose_stack(env_file, project="Studio.1", environ={})
    items = {item.name: item for item in stack.items}
    lms = items["lms-database"]
    assert lms._exec("pg_dump")[:2] == ["docker", "compose"]
    assert lms._exec("pg_dump")[-4:] == ["exec", "-T", "postgres", "pg_dump"]
    assert lms.compose[2:4] == ["-p", "studio1"]
    assert items["grader-root"].volume == "studio1_grader-data"
    assert items["grader-root"].labels["com.docker.compose.volume"] == "grader-data"
    assert items["grader-root"].image == "pls-notebook:abc"
    assert items["learner-volume:ada"].volume == "school-work-ada"
    assert str(items["courses"].path) == "/srv/host-courses"
    assert stack.learner_volume("bo").volume == "school-work-bo"


def test_the_compose_tests_env_file_sets_every_variable_the_file_requires():
    env = compose_stack.throwaway_env("pls-compose-test-x", 8000, "http://192.0.2.2:1/v1")
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", compose_text()))
    assert required - set(env) == set()
