"""Origins: learners' servers and formgraders on hosts of their own, the hub's internal APIs only
where learners' servers reach them (hub.origins, hub.config)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jupyterhub import orm
from jupyterhub.app import JupyterHub
from traitlets.config import Config

from courses.naming import USERNAME_REGEX, service_url
from hub.config import configure
from hub.origins import subdomain_hook
from servicekit.settings import SettingError
from tests.unit.hub.conftest import NOTEBOOK_GATEWAY, notebook_gateway

MINIMAL_COURSE = "slug: {slug}\ntitle: {slug}\nsummary: A course.\nlessons: []\nassignments: []\n"


def configured(environ, spawner="local") -> Config:
    environ["HUB_SPAWNER"] = spawner
    return configure(Config(), environ, probe=lambda: pytest.fail("no probe"),
                     gateway=notebook_gateway)


def services_by_name(c) -> dict[str, dict]:
    return {service["name"]: service for service in c.JupyterHub.services}


def hub_app(environ, tmp_path, monkeypatch) -> tuple[dict[str, str], dict[str, str]]:
    """A real JupyterHub initialized from configure() (nothing started): the public URL of
    each service and of learner1's server, as the hub links to them, and each service's
    route in the proxy."""
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", "0" * 64)
    empty = tmp_path / "no_config.py"
    empty.write_text("")

    async def initialize():
        app = JupyterHub(config=configured(environ))
        await app.initialize(["--config", str(empty)])
        orm_user = orm.User(name="learner1")
        app.db.add(orm_user)
        app.db.commit()
        urls = {name: f"{service.host}{service.prefix}" for name, service in
                app._service_map.items() if service.url}
        urls["learner1"] = app.users[orm_user].url
        routes = {name: service.proxy_spec for name, service in app._service_map.items()
                  if service.url}
        app.db.close()
        return urls, routes

    return asyncio.run(initialize())


def test_each_learners_server_and_each_formgrader_is_on_a_host_of_its_own(
    environ, tmp_path, monkeypatch
):
    urls, routes = hub_app(environ, tmp_path, monkeypatch)
    assert urls["learner1"] == "http://learner1.localhost:8001/user/learner1/"
    formgrader = "http://formgrader-python-101--service.localhost:8001/services/formgrader-python-101/"
    assert urls["formgrader-python-101"] == formgrader
    assert routes["formgrader-python-101"] == (
        "formgrader-python-101--service.localhost/services/formgrader-python-101/")
    # where the LMS links to the formgrader is where the hub serves it
    assert service_url("http://localhost:8001", "formgrader-python-101") == formgrader
    # the grader and the tutor answer programs only: they stay on the hub's host
    assert urls["grader"] == "http://localhost:8001/services/grader/"
    assert urls["tutor"] == "http://localhost:8001/services/tutor/"
    assert routes["grader"] == "localhost/services/grader/"


def test_the_hubs_public_url_is_where_learners_servers_get_their_subdomains(environ):
    environ["HUB_PUBLIC_URL"] = "https://hub.example.org/"
    c = configured(environ)
    assert c.JupyterHub.subdomain_host == "https://hub.example.org"
    assert c.JupyterHub.subdomain_hook is subdomain_hook
    assert c.StudioAuthenticator.oauth_callback_url == (
        "https://hub.example.org/hub/oauth_callback")


def test_an_https_hub_sets_host_only_cookies_no_subdomain_can_toss(environ):
    environ["HUB_PUBLIC_URL"] = "https://hub.example.org"
    assert configured(environ).JupyterHub.cookie_host_prefix_enabled is True
    environ["HUB_PUBLIC_URL"] = "http://localhost:8001"  # browsers drop __Host- without https
    assert configured(environ).JupyterHub.cookie_host_prefix_enabled is False


@pytest.mark.parametrize(("value", "expected"), [
    ("http://127.0.0.1:8001", "must name a host, not an IP address"),
    ("https://hub.example.org/jupyter", "must be http(s)://host[:port] without a path"),
    ("hub.example.org", "must be http(s)://host[:port] without a path"),
])
def test_a_hub_public_url_that_can_have_no_subdomains_is_refused(environ, value, expected):
    environ["HUB_PUBLIC_URL"] = value
    with pytest.raises(SettingError, match="HUB_PUBLIC_URL") as caught:
        configured(environ)
    assert expected in str(caught.value)


def test_a_course_whose_formgrader_can_have_no_host_name_is_refused(environ, tmp_path):
    slug = "a-course-with-a-slug-far-too-long-for-a-dns-label"
    (tmp_path / "courses" / slug).mkdir(parents=True)
    (tmp_path / "courses" / slug / "course.yml").write_text(MINIMAL_COURSE.format(slug=slug))
    environ["STUDIO_COURSES_DIR"] = str(tmp_path / "courses")
    with pytest.raises(SettingError, match="STUDIO_COURSES_DIR") as caught:
        configured(environ)
    assert slug in str(caught.value) and "not a DNS label" in str(caught.value)


@given(st.from_regex(rf"\A{USERNAME_REGEX}\Z"))
def test_no_learner_gets_the_hubs_or_a_services_host(username):
    host = subdomain_hook(username, "localhost", "user")
    assert host.endswith(".localhost")
    assert not host.removesuffix(".localhost").endswith("--service")
    assert host != subdomain_hook("grader", "localhost", "service")


# -- where the internal APIs listen -------------------------------------------------------------


def listening_addresses(c: Config) -> dict[str, str]:
    """Every address the hub's configuration makes something listen on: the proxy, the hub's
    API, the services the hub starts (their bind URL, else their URL)."""
    addresses = {"proxy": c.JupyterHub.bind_url, "proxy api": c.ConfigurableHTTPProxy.api_url,
                 "hub api": c.JupyterHub.hub_bind_url}
    for name, service in services_by_name(c).items():
        if "command" in service and service.get("url"):
            environment = service["environment"]
            bind = environment.get("GRADER_BIND_URL") or environment.get("TUTOR_BIND_URL")
            addresses[name] = bind or service["url"]
    return {name: urlsplit(url).hostname for name, url in addresses.items()}


def test_with_local_servers_every_internal_api_listens_on_loopback(environ):
    hosts = listening_addresses(configured(environ, "local"))
    assert set(hosts.values()) == {"127.0.0.1"}, hosts


def test_with_docker_the_internal_apis_listen_on_the_notebook_networks_gateway_only(environ):
    hosts = listening_addresses(configured(environ, "docker"))
    # learners' containers reach the hub's API, the grader and the tutor there ...
    for name in ("hub api", "grader", "tutor"):
        assert hosts.pop(name) == NOTEBOOK_GATEWAY
    # ... and the rest (the proxy, its API, the formgraders) only from the machine itself
    assert set(hosts.values()) == {"127.0.0.1"}, hosts


def test_a_hub_in_a_container_of_its_own_listens_on_its_containers_networks(environ):
    environ["HUB_CONNECT_URL"] = "http://hub:8081"
    c = configure(Config(), environ | {"HUB_SPAWNER": "docker"},
                  probe=lambda: pytest.fail("no probe"),
                  gateway=lambda settings: pytest.fail("the hub is reached by name"))
    assert c.JupyterHub.hub_bind_url == "http://0.0.0.0:8081"
    assert c.JupyterHub.hub_connect_url == "http://127.0.0.1:8081"  # its services: loopback
    assert c.StudioDockerSpawner.hub_connect_url == "http://hub:8081"
