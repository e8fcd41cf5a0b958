"""The hub's settings for running in a container beside external services (docker-compose.yml):
the services' hub tokens and the host paths of course files."""

import pytest
from traitlets.config import Config

from hub.config import configure
from servicekit.settings import SettingError
from tests.unit.hub.conftest import notebook_gateway


def configured(environ, docker=True):
    return configure(Config(), environ, probe=lambda: docker, gateway=notebook_gateway)


def services_by_name(c) -> dict[str, dict]:
    return {service["name"]: service for service in c.JupyterHub.services}


def test_external_services_are_registered_with_their_tokens_from_the_environment(environ):
    environ |= {"HUB_GRADER": "external", "HUB_GRADER_API_TOKEN": "grader-token",
                "HUB_TUTOR": "external", "HUB_TUTOR_API_TOKEN": "tutor-token"}
    services = services_by_name(configured(environ))
    assert services["grader"]["api_token"] == "grader-token"
    assert services["tutor"]["api_token"] == "tutor-token"


def test_a_managed_service_gets_its_token_from_the_hub_not_the_environment(environ):
    environ |= {"HUB_GRADER_API_TOKEN": "ignored", "HUB_TUTOR_API_TOKEN": "ignored"}
    services = services_by_name(configured(environ))
    assert "api_token" not in services["grader"]
    assert "api_token" not in services["tutor"]


def test_host_paths_translate_the_hubs_course_folder_for_the_engine(environ):
    environ |= {"HUB_DOCKER_HOST_PATHS": "/srv/courses=/opt/studio/courses, /srv/x=/data/x"}
    c = configured(environ)
    assert c.StudioDockerSpawner.host_path_prefixes == {
        "/srv/courses": "/opt/studio/courses", "/srv/x": "/data/x"}


def test_no_host_paths_by_default(environ):
    assert configured(environ).StudioDockerSpawner.host_path_prefixes == {}


@pytest.mark.parametrize("value", ["/srv/courses", "srv=/opt", "/srv=relative"])
def test_malformed_host_paths_are_refused_with_the_expected_form(environ, value):
    environ |= {"HUB_DOCKER_HOST_PATHS": value}
    with pytest.raises(SettingError, match="HUB_DOCKER_HOST_PATHS"):
        configured(environ)
