"""servicekit.settings: how every part reads its variables, and how a bad value is reported."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field, field_validator

from servicekit.settings import REPO_ROOT, EnvSettings, Names, SettingError, StudioSettings, secret


class Example(EnvSettings):
    workers: int = Field(2, validation_alias="EXAMPLE_WORKERS", ge=0)
    ratio: float = Field(0.5, validation_alias="EXAMPLE_RATIO", gt=0)
    mode: Literal["managed", "external", "off"] = Field("managed", validation_alias="EXAMPLE_MODE")
    verbose: bool = Field(False, validation_alias="EXAMPLE_VERBOSE")
    token: str = secret("EXAMPLE_TOKEN")


def test_unset_and_empty_variables_take_the_defaults():
    assert Example.from_env({}) == Example.from_env({"EXAMPLE_WORKERS": "", "EXAMPLE_MODE": "  "})
    assert Example.from_env({}).workers == 2


def test_values_are_stripped_and_typed():
    settings = Example.from_env({"EXAMPLE_WORKERS": " 3 ", "EXAMPLE_RATIO": "0.25",
                                 "EXAMPLE_MODE": "off", "EXAMPLE_VERBOSE": "yes"})
    assert (settings.workers, settings.ratio, settings.mode, settings.verbose) == (
        3, 0.25, "off", True)


@pytest.mark.parametrize(("environ", "message"), [
    ({"EXAMPLE_WORKERS": "many"}, "EXAMPLE_WORKERS='many': must be a whole number"),
    ({"EXAMPLE_WORKERS": "1.5"}, "EXAMPLE_WORKERS='1.5': must be a whole number"),
    ({"EXAMPLE_WORKERS": "-1"}, "EXAMPLE_WORKERS='-1': must be at least 0"),
    ({"EXAMPLE_RATIO": "0"}, "EXAMPLE_RATIO='0': must be more than 0"),
    ({"EXAMPLE_RATIO": "half"}, "EXAMPLE_RATIO='half': must be a number"),
    ({"EXAMPLE_MODE": "on"}, "EXAMPLE_MODE='on': must be 'managed', 'external' or 'off'"),
    ({"EXAMPLE_VERBOSE": "maybe"},
     "EXAMPLE_VERBOSE='maybe': must be 1/0, true/false, yes/no or on/off"),
])
def test_a_bad_value_names_its_variable_and_what_it_must_be(environ, message):
    with pytest.raises(SettingError) as caught:
        Example.from_env(environ)
    assert str(caught.value) == message
    assert caught.value.name == next(iter(environ))


def test_a_secret_comes_from_the_variable_or_the_file_it_names(tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("from-file\n")
    assert Example.from_env({"EXAMPLE_TOKEN_FILE": str(secret_file)}).token == "from-file"
    assert Example.from_env({"EXAMPLE_TOKEN": "direct",
                             "EXAMPLE_TOKEN_FILE": str(secret_file)}).token == "direct"
    assert Example.from_env({}).token == ""


def test_overrides_win_over_the_environment():
    assert Example.from_env({"EXAMPLE_WORKERS": "3"}, workers=7).workers == 7
    assert Example.variables()["workers"] == "EXAMPLE_WORKERS"


class Studio(StudioSettings):
    trusted: Names = Field(frozenset({"lms"}), validation_alias="EXAMPLE_TRUSTED")


def test_the_internal_lms_url_defaults_to_the_public_one_without_a_trailing_slash():
    assert Studio.from_env({}).lms_url == "http://127.0.0.1:8000"
    public = Studio.from_env({"LMS_PUBLIC_URL": "https://lms.example.org/"})
    assert (public.lms_public_url, public.lms_url) == ("https://lms.example.org",) * 2
    internal = Studio.from_env({"LMS_PUBLIC_URL": "https://lms.example.org",
                                "LMS_INTERNAL_URL": "http://lms:8000/"})
    assert internal.lms_url == "http://lms:8000"


def test_the_studio_folders_are_absolute_and_default_to_the_repositorys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Studio.from_env({"STUDIO_VAR_DIR": "var", "STUDIO_COURSES_DIR": "c/../courses"})
    assert (settings.var_dir, settings.courses_dir) == (tmp_path / "var", tmp_path / "courses")
    assert Studio.from_env({}).var_dir == REPO_ROOT / "var"


def test_names_are_comma_separated_and_blanks_dropped():
    assert Studio.from_env({"EXAMPLE_TRUSTED": " lms, ops ,,"}).trusted == {"lms", "ops"}
    assert Studio.from_env({}).trusted == {"lms"}


class WithPairs(EnvSettings):
    pairs: dict[str, str] = Field(default_factory=dict, validation_alias="EXAMPLE_PAIRS")
    token: str = secret("EXAMPLE_TOKEN", pattern="^[0-9a-f]*$")

    @field_validator("pairs", mode="before")
    @classmethod
    def _pairs(cls, value):
        if isinstance(value, str):
            return dict(item.split("=", 1) for item in value.split(","))
        return value


def test_the_environment_is_read_by_these_rules_only_not_pydantic_settings_own(monkeypatch):
    # pydantic-settings' own source would read os.environ again and parse a dict as JSON.
    monkeypatch.setenv("EXAMPLE_PAIRS", "/a=/b")
    assert WithPairs.from_env().pairs == {"/a": "/b"}
    assert WithPairs.from_env({"EXAMPLE_PAIRS": "/c=/d"}).pairs == {"/c": "/d"}


def test_a_bad_secret_is_named_but_its_value_never_shown():
    with pytest.raises(SettingError) as caught:
        WithPairs.from_env({"EXAMPLE_TOKEN": "not-hex-secret"})
    assert caught.value.name == "EXAMPLE_TOKEN"
    assert "not-hex-secret" not in str(caught.value)
