"""configure(c) assembles the whole hub from the environment and the real course folders."""

import sys

import pytest
from jupyterhub.scopes import _check_scopes_exist
from traitlets.config import Config

from hub.authenticator import StudioAuthenticator
from hub.config import choose_spawner, configure
from hub.settings import HubSettings
from hub.spawners import StudioDockerSpawner, StudioLocalSpawner
from servicekit.settings import SettingError
from tests.unit.hub.conftest import NOTEBOOK_GATEWAY, notebook_gateway


def configured(environ, docker=False):
    return configure(Config(), environ, probe=lambda: docker, gateway=notebook_gateway)


def authenticator(c):
    return StudioAuthenticator(config=c)


def test_authenticator_points_at_the_lms_public_and_internal_urls(environ):
    environ |= {"LMS_PUBLIC_URL": "https://lms.example.org/", "LMS_INTERNAL_URL": "http://lms:8000"}
    auth = authenticator(configured(environ))
    assert auth.authorize_url == "https://lms.example.org/o/authorize/"
    assert auth.token_url == "http://lms:8000/o/token/"
    assert auth.userdata_url == "http://lms:8000/o/userinfo/"
    assert auth.logout_redirect_url == "https://lms.example.org/"


def test_internal_url_defaults_to_the_public_url(environ):
    auth = authenticator(configured(environ))
    assert auth.authorize_url == "http://127.0.0.1:8000/o/authorize/"
    assert auth.token_url == "http://127.0.0.1:8000/o/token/"


def test_authenticator_claims_groups_and_pkce(environ):
    environ |= {"HUB_OAUTH_CLIENT_ID": "hub", "HUB_OAUTH_CLIENT_SECRET": "s3cret"}
    auth = authenticator(configured(environ))
    assert auth.scope == ["openid", "profile", "email", "groups"]
    assert auth.username_claim == "preferred_username"
    assert auth.manage_groups is True
    assert auth.auth_state_groups_key == "oauth_user.groups"
    assert auth.admin_groups == {"staff"}
    assert auth.enable_pkce is True
    assert auth.basic_auth is False  # client_secret_post
    assert (auth.client_id, auth.client_secret) == ("hub", "s3cret")
    assert auth.oauth_callback_url == "http://localhost:8001/hub/oauth_callback"
    assert auth.enable_auth_state is True
    assert auth.allow_all is False


def test_client_secret_from_file(environ, tmp_path):
    secret = tmp_path / "client-secret"
    secret.write_text("from-a-file\n")
    environ["HUB_OAUTH_CLIENT_SECRET_FILE"] = str(secret)
    assert authenticator(configured(environ)).client_secret == "from-a-file"


def test_generated_secrets_are_stable_and_private(environ, tmp_path):
    first, second = configured(environ), configured(environ)
    assert first.ConfigurableHTTPProxy.auth_token == second.ConfigurableHTTPProxy.auth_token
    assert first["CryptKeeper"]["keys"] == second["CryptKeeper"]["keys"]
    for name in ("hub-proxy-token", "hub-crypt-key", "hub-oauth-client-secret"):
        assert (tmp_path / "var" / "secrets" / name).stat().st_mode & 0o077 == 0


def test_hub_urls_database_and_defaults(environ, tmp_path):
    c = configured(environ)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8001"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:8081"
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8002"  # not the public :8001
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path / 'var' / 'hub' / 'jupyterhub.sqlite'}"
    assert c.Spawner.default_url == "/lab"
    assert c.JupyterHub.cleanup_servers is False
    assert c.JupyterHub.implicit_spawn_seconds > 0


def test_database_url_from_env(environ):
    environ["HUB_DB_URL"] = "postgresql://hub:pw@db/hub"
    assert configured(environ).JupyterHub.db_url == "postgresql://hub:pw@db/hub"


def test_instructor_role_per_course_reaches_only_that_courses_learners(environ):
    roles = {role["name"]: role for role in configured(environ).JupyterHub.load_roles}
    role = roles["instructor-python-101"]
    assert role["groups"] == ["formgrade-python-101"]
    assert {
        "admin:servers!group=nbgrader-python-101",
        "list:users!group=nbgrader-python-101",
        "read:users!group=nbgrader-python-101",
        "access:servers!group=nbgrader-python-101",
    } <= set(role["scopes"])
    unfiltered = [s for s in role["scopes"] if "!" not in s]
    assert unfiltered == ["admin-ui"]  # the page only; every power is filtered to the course
    assert not any("service=" in s for s in role["scopes"])  # the grader: grader-users
    _check_scopes_exist(role["scopes"])


def services_by_name(c) -> dict[str, dict]:
    return {service["name"]: service for service in c.JupyterHub.services}


def roles_by_name(c) -> dict[str, dict]:
    return {role["name"]: role for role in c.JupyterHub.load_roles}


def test_the_hub_starts_the_grader_with_the_studios_folders_and_the_lms(environ, tmp_path):
    environ |= {"LMS_INTERNAL_URL": "http://lms:8000", "LMS_GRADER_TOKEN_FILE": "/run/t",
                "GRADER_WORKERS": "3", "HUB_OAUTH_CLIENT_SECRET": "not-for-the-grader"}
    grader = services_by_name(configured(environ))["grader"]
    assert grader["url"] == "http://127.0.0.1:10101"
    assert grader["command"] == [sys.executable, "-m", "grading", "serve"]
    assert grader["oauth_no_confirm"] is True
    env = grader["environment"]
    assert env["STUDIO_VAR_DIR"] == str(tmp_path / "var")
    assert env["STUDIO_COURSES_DIR"] == environ["STUDIO_COURSES_DIR"]
    assert (env["LMS_INTERNAL_URL"], env["LMS_GRADER_TOKEN_FILE"]) == ("http://lms:8000", "/run/t")
    assert env["GRADER_WORKERS"] == "3"
    assert "HUB_OAUTH_CLIENT_SECRET" not in env  # the hub's own secrets stay the hub's
    assert "GRADER_BIND_URL" not in env  # local servers reach it on loopback


def test_the_grader_grades_in_the_studios_default_image(environ):
    environ["HUB_IMAGE"] = "site-notebook:3"
    env = services_by_name(configured(environ))["grader"]["environment"]
    assert env["GRADER_SANDBOX_IMAGE"] == "site-notebook:3"


def test_learners_and_instructors_may_call_the_grader_and_their_servers_tokens_too(environ):
    c = configured(environ)
    role = roles_by_name(c)["grader-users"]
    assert role["scopes"] == ["access:services!service=grader"]
    assert {"nbgrader-python-101", "formgrade-python-101"} <= set(role["groups"])
    assert "access:services!service=grader" in c.Spawner.server_token_scopes
    assert {"users:activity!user", "access:servers!server"} <= set(c.Spawner.server_token_scopes)
    _check_scopes_exist(role["scopes"] + c.Spawner.server_token_scopes)


def test_servers_learn_the_graders_and_the_tutors_urls_and_nothing_secret(environ):
    c = configured(environ)
    assert c.StudioSpawnerMixin.service_urls == {
        "PLS_GRADER_URL": "http://{hub_host}:10101/services/grader/api",
        "PLS_TUTOR_URL": "http://{hub_host}:10102/services/tutor/api",
    }


def test_with_docker_the_grader_listens_where_containers_reach_it(environ, tmp_path):
    environ["HUB_SPAWNER"] = "docker"
    c = configured(environ, docker=True)
    grader = services_by_name(c)["grader"]
    # on the notebook network's gateway, never every interface; the proxy reaches it there
    assert grader["environment"]["GRADER_BIND_URL"] == f"http://{NOTEBOOK_GATEWAY}:10101"
    assert grader["url"] == f"http://{NOTEBOOK_GATEWAY}:10101"
    releases = tmp_path / "var" / "grader" / "courses" / "{slug}" / "release"
    assert c.StudioSpawnerMixin.release_root == str(releases)  # the grader's releases


def test_the_local_fallback_leaves_released_assignments_to_the_assignments_panel(environ):
    environ["HUB_SPAWNER"] = "local"
    assert configured(environ).StudioSpawnerMixin.release_root == ""


def test_the_lms_gets_a_hub_token_that_may_only_call_the_grader_and_the_tutor(environ, tmp_path):
    c = configured(environ)
    lms = services_by_name(c)["lms"]
    token_file = tmp_path / "var" / "secrets" / "hub-lms-service-token"
    assert lms["api_token"] == token_file.read_text().strip()
    assert token_file.stat().st_mode & 0o077 == 0
    assert "command" not in lms and "url" not in lms
    role = roles_by_name(c)["lms-service"]
    assert (role["services"], role["scopes"]) == (
        ["lms"], ["access:services!service=grader", "access:services!service=tutor"]
    )


def test_an_external_grader_is_routed_but_not_started(environ):
    environ |= {"HUB_GRADER": "external", "HUB_GRADER_URL": "http://grader:10101",
                "HUB_GRADER_SERVER_URL": "http://grader:10101/services/grader/api"}
    c = configured(environ)
    grader = services_by_name(c)["grader"]
    assert grader["url"] == "http://grader:10101"
    assert "command" not in grader and "environment" not in grader
    assert c.StudioSpawnerMixin.service_urls["PLS_GRADER_URL"] == (
        "http://grader:10101/services/grader/api"
    )


def test_grader_and_tutor_off_leave_no_lms_token_and_plain_server_tokens(environ):
    environ |= {"HUB_GRADER": "off", "HUB_TUTOR": "off"}
    c = configured(environ)
    assert set(services_by_name(c)) == {"idle-culler"}
    assert not {"grader-users", "tutor-users", "lms-service"} & set(roles_by_name(c))
    assert "server_token_scopes" not in c.Spawner
    assert "service_urls" not in c.StudioSpawnerMixin


def test_grader_off_keeps_the_tutor_and_the_lms_token_for_it(environ):
    environ["HUB_GRADER"] = "off"
    c = configured(environ)
    assert set(services_by_name(c)) == {"idle-culler", "tutor", "lms"}
    assert roles_by_name(c)["lms-service"]["scopes"] == ["access:services!service=tutor"]
    assert "access:services!service=grader" not in c.Spawner.server_token_scopes
    assert set(c.StudioSpawnerMixin.service_urls) == {"PLS_TUTOR_URL"}


# -- the tutor -----------------------------------------------------------------------------------


def test_the_hub_starts_the_tutor_with_the_model_settings_and_nothing_else_of_its_own(
    environ, tmp_path
):
    environ |= {"OPENAI_API_KEY": "sk-model-key", "OPENAI_BASE_URL": "http://llm:8000/v1",
                "TUTOR_MODEL": "llama3", "TUTOR_DAILY_QUOTA": "50",
                "LMS_PUBLIC_URL": "http://lms.example.org", "LMS_TUTOR_TOKEN_FILE": "/run/t",
                "HUB_OAUTH_CLIENT_SECRET": "the-hubs-own", "LMS_GRADER_TOKEN": "the-graders",
                "JUPYTERHUB_CRYPT_KEY": "ab" * 32}
    tutor = services_by_name(configured(environ))["tutor"]
    assert tutor["url"] == "http://127.0.0.1:10102"
    assert tutor["command"] == [sys.executable, "-m", "tutor", "serve"]
    assert tutor["oauth_no_confirm"] is True
    env = tutor["environment"]
    assert set(env) == {"PATH", "STUDIO_VAR_DIR", "STUDIO_COURSES_DIR", "LMS_INTERNAL_URL",
                        "LMS_PUBLIC_URL", "LMS_TUTOR_TOKEN_FILE", "OPENAI_API_KEY",
                        "OPENAI_BASE_URL", "TUTOR_MODEL", "TUTOR_DAILY_QUOTA"}
    assert env["OPENAI_API_KEY"] == "sk-model-key"
    assert env["LMS_INTERNAL_URL"] == "http://lms.example.org"  # the public one, by default
    # "Ask the class" links learners to the LMS's own public address, not the tutor's default
    assert env["LMS_PUBLIC_URL"] == "http://lms.example.org"
    assert env["STUDIO_VAR_DIR"] == str(tmp_path / "var")


def test_only_the_tutor_gets_the_model_key(environ):
    environ |= {"OPENAI_API_KEY": "sk-model-key", "OPENAI_ORG_ID": "org-1"}
    c = configured(environ)
    for name, service in services_by_name(c).items():
        if name != "tutor":
            assert not any(k.startswith("OPENAI_") for k in service.get("environment", {})), name
    assert "sk-model-key" not in repr(c.StudioSpawnerMixin.service_urls)
    assert "environment" not in c.Spawner  # learners' servers get no environment from the hub


def test_learners_and_instructors_may_ask_the_tutor_and_their_servers_tokens_too(environ):
    c = configured(environ)
    role = roles_by_name(c)["tutor-users"]
    assert role["scopes"] == ["access:services!service=tutor"]
    assert {"nbgrader-python-101", "formgrade-python-101"} <= set(role["groups"])
    assert "access:services!service=tutor" in c.Spawner.server_token_scopes
    _check_scopes_exist(role["scopes"] + c.Spawner.server_token_scopes)


def test_with_docker_the_tutor_listens_where_containers_reach_it(environ):
    environ |= {"HUB_SPAWNER": "docker", "HUB_TUTOR_URL": "http://127.0.0.1:19102"}
    c = configured(environ, docker=True)
    tutor = services_by_name(c)["tutor"]
    assert tutor["environment"]["TUTOR_BIND_URL"] == f"http://{NOTEBOOK_GATEWAY}:19102"
    assert tutor["url"] == f"http://{NOTEBOOK_GATEWAY}:19102"
    assert c.StudioSpawnerMixin.service_urls["PLS_TUTOR_URL"] == (
        "http://{hub_host}:19102/services/tutor/api"
    )


def test_the_local_fallbacks_tutor_listens_on_loopback(environ):
    environ["HUB_SPAWNER"] = "local"
    assert "TUTOR_BIND_URL" not in services_by_name(configured(environ))["tutor"]["environment"]


def test_an_external_tutor_is_routed_but_not_started(environ):
    environ |= {"HUB_TUTOR": "external", "HUB_TUTOR_URL": "http://tutor:10102",
                "HUB_TUTOR_SERVER_URL": "http://tutor:10102/services/tutor/api"}
    c = configured(environ)
    tutor = services_by_name(c)["tutor"]
    assert tutor["url"] == "http://tutor:10102"
    assert "command" not in tutor and "environment" not in tutor
    assert c.StudioSpawnerMixin.service_urls["PLS_TUTOR_URL"] == (
        "http://tutor:10102/services/tutor/api"
    )


def test_tutor_off_leaves_no_tutor(environ):
    environ["HUB_TUTOR"] = "off"
    c = configured(environ)
    assert "tutor" not in services_by_name(c) and "tutor-users" not in roles_by_name(c)
    assert "access:services!service=tutor" not in c.Spawner.server_token_scopes
    assert roles_by_name(c)["lms-service"]["scopes"] == ["access:services!service=grader"]


def test_an_unknown_tutor_mode_is_refused(environ):
    environ["HUB_TUTOR"] = "maybe"
    with pytest.raises(SettingError, match="HUB_TUTOR"):
        configured(environ)


def test_an_unknown_grader_mode_is_refused(environ):
    environ["HUB_GRADER"] = "sometimes"
    with pytest.raises(SettingError, match="HUB_GRADER"):
        configured(environ)


def test_idle_culler_checks_as_often_as_configured(environ):
    environ |= {"HUB_IDLE_TIMEOUT": "10", "HUB_IDLE_CULL_EVERY": "5"}
    service = services_by_name(configured(environ))["idle-culler"]
    assert {"--timeout=10", "--cull-every=5"} <= set(service["command"])


def test_idle_culler_runs_as_a_service_with_a_minimal_role(environ):
    environ["HUB_IDLE_TIMEOUT"] = "900"
    c = configured(environ)
    service = services_by_name(c)["idle-culler"]
    assert service["command"][:3] == [sys.executable, "-m", "jupyterhub_idle_culler"]
    assert "--timeout=900" in service["command"]
    assert "--cull-every=225" in service["command"]  # a quarter of the timeout, 60 to 600 s
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    culler = roles["idle-culler"]
    assert culler["services"] == ["idle-culler"]
    assert set(culler["scopes"]) == {
        "list:users", "read:users:activity", "read:servers", "delete:servers"
    }
    _check_scopes_exist(culler["scopes"])


def test_start_and_http_timeouts_come_from_the_settings(environ):
    assert (configured(environ).Spawner.start_timeout,
            configured(environ).Spawner.http_timeout) == (180, 120)
    environ |= {"HUB_START_TIMEOUT": "1200", "HUB_HTTP_TIMEOUT": "600"}
    c = configured(environ)
    assert (c.Spawner.start_timeout, c.Spawner.http_timeout) == (1200, 600)


def test_idle_timeout_zero_disables_culling(environ):
    environ["HUB_IDLE_TIMEOUT"] = "0"
    c = configured(environ)
    assert "idle-culler" not in services_by_name(c)
    assert "idle-culler" not in [role["name"] for role in c.JupyterHub.load_roles]


def test_docker_spawner_and_its_network(environ):
    environ |= {"HUB_SPAWNER": "docker", "HUB_DOCKER_NETWORK": "studio-net"}
    c = configured(environ)
    assert c.JupyterHub.spawner_class is StudioDockerSpawner
    assert c.StudioDockerSpawner.network_name == "studio-net"
    assert c.StudioDockerSpawner.prefix == "pls"  # containers pls-<user>, volumes pls-work-<user>
    # containers reach the hub's API on the network's gateway, and services too
    assert c.JupyterHub.hub_bind_url == f"http://{NOTEBOOK_GATEWAY}:8081"
    assert "hub_connect_url" not in c.JupyterHub


def test_docker_prefix_from_env(environ):
    environ |= {"HUB_SPAWNER": "docker", "HUB_DOCKER_PREFIX": "pls-test"}
    assert configured(environ).StudioDockerSpawner.prefix == "pls-test"


def test_local_spawner_when_asked(environ, tmp_path):
    environ["HUB_SPAWNER"] = "local"
    c = configure(Config(), environ, probe=lambda: pytest.fail("must not probe docker"))
    assert c.JupyterHub.spawner_class is StudioLocalSpawner
    assert c.StudioLocalSpawner.users_dir == str(tmp_path / "var" / "hub" / "users")


@pytest.mark.parametrize(("answers", "expected"), [(True, "docker"), (False, "local")])
def test_auto_picks_docker_only_when_the_engine_answers(answers, expected):
    assert choose_spawner(HubSettings.from_env({}), probe=lambda: answers) == expected


def test_unknown_spawner_choice_is_refused(environ):
    environ["HUB_SPAWNER"] = "nomad"
    with pytest.raises(SettingError, match="HUB_SPAWNER"):
        configured(environ)


@pytest.mark.parametrize("choice", ["swarm", "kubernetes"])
def test_a_cluster_spawner_is_chosen_only_when_asked(choice):
    settings = HubSettings.from_env({"HUB_SPAWNER": choice})
    assert choose_spawner(settings, probe=lambda: pytest.fail("no probe")) == choice


def test_profiles_from_env_reach_the_config(environ):
    environ["HUB_PROFILE_LEARNER_MEM"] = "768M"
    assert configured(environ).ResourceProfiles.profiles["learner"]["mem_limit"] == "768M"


def test_templates_extend_jupyterhubs_error_page(environ):
    c = configured(environ)
    (path,) = c.JupyterHub.template_paths
    page = (__import__("pathlib").Path(path) / "error.html").read_text()
    assert '{% extends "templates/error.html" %}' in page
    assert c.JupyterHub.template_vars == {"lms_url": "http://127.0.0.1:8000"}


def test_jupyterhub_config_py_loads(environ, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    from tests.unit.hub.conftest import REPO

    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HUB_SPAWNER", "local")
    c = PyFileConfigLoader("jupyterhub_config.py", path=str(REPO)).load_config()
    assert c.JupyterHub.authenticator_class is StudioAuthenticator
    assert c.JupyterHub.spawner_class is StudioLocalSpawner


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("HUB_IDLE_TIMEOUT", "soon", "must be a whole number"),
    ("HUB_START_TIMEOUT", "5", "must be at least 10"),
    ("HUB_IDLE_TIMEOUT", "-1", "must be at least 0"),
    ("HUB_FORMGRADER_PORT", "70000", "must be at most 65535"),
    ("HUB_LOCAL_CPU_SECONDS", "0", "must be at least 1"),
    ("HUB_DOCKER_NETWORK_INTERNAL", "maybe", "must be 1/0, true/false, yes/no or on/off"),
    ("HUB_LOG_LEVEL", "loud", "must be 'DEBUG', 'INFO', 'WARN', 'ERROR' or 'CRITICAL'"),
])
def test_a_bad_value_stops_the_hub_naming_its_variable_and_what_it_must_be(
    environ, variable, value, expected
):
    environ[variable] = value
    with pytest.raises(SettingError) as caught:
        configured(environ)
    assert caught.value.name == variable
    assert str(caught.value).startswith(f"{variable}=")
    assert str(caught.value).endswith(f": {expected}")


def test_modes_and_the_log_level_are_read_in_any_case(environ):
    environ |= {"HUB_SPAWNER": "Local", "HUB_GRADER": "OFF", "HUB_TUTOR": "Off",
                "HUB_LOG_LEVEL": "debug"}
    c = configure(Config(), environ, probe=lambda: pytest.fail("must not probe docker"))
    assert c.JupyterHub.spawner_class is StudioLocalSpawner
    assert set(services_by_name(c)) == {"idle-culler"}
    assert c.JupyterHub.log_level == "DEBUG"
