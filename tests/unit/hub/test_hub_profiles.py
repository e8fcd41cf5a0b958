import pytest

from hub.profiles import ResourceProfiles, profiles_from_env
from servicekit.settings import SettingError

GiB = 1024**3


def test_default_profiles_match_the_design():
    profiles = ResourceProfiles(profiles=profiles_from_env({}))
    learner, instructor = profiles.get("learner"), profiles.get("instructor")
    assert (learner.mem_limit, learner.cpu_limit, learner.pids_limit) == (GiB, 1.0, 512)
    assert (instructor.mem_limit, instructor.cpu_limit) == (2 * GiB, 2.0)
    assert instructor.pids_limit == 1024
    assert learner.image == instructor.image == ""


def test_env_overrides_one_field_and_keeps_the_others():
    env = {"HUB_PROFILE_LEARNER_MEM": "512M", "HUB_PROFILE_INSTRUCTOR_CPU": "1.5"}
    profiles = ResourceProfiles(profiles=profiles_from_env(env))
    assert profiles.get("learner").mem_limit == 512 * 1024**2
    assert profiles.get("learner").cpu_limit == 1.0
    assert profiles.get("instructor").cpu_limit == 1.5
    assert profiles.get("instructor").pids_limit == 1024


def test_env_defines_a_new_profile_a_course_can_name():
    env = {"HUB_PROFILE_DATA_SCIENCE_MEM": "4G", "HUB_PROFILE_DATA_SCIENCE_IMAGE": "ds:1"}
    profiles = ResourceProfiles(profiles=profiles_from_env(env))
    data_science = profiles.get("data-science")
    assert data_science.mem_limit == 4 * GiB
    assert data_science.image == "ds:1"
    assert data_science.pids_limit == 512  # from the learner profile


def test_unknown_profile_falls_back_to_learner():
    assert ResourceProfiles().get("no-such-profile").name == "learner"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HUB_PROFILE_LEARNER_CPU", "lots"),
        ("HUB_PROFILE_LEARNER_PIDS", "1.5"),
        ("HUB_PROFILE_LEARNER_MEM", "a gigabyte"),
        ("HUB_PROFILE_LEARNER_CPU", "0"),
        ("HUB_PROFILE_LEARNER_PIDS", "3"),
    ],
)
def test_bad_env_values_fail_at_startup_naming_the_variable(key, value):
    with pytest.raises(SettingError, match="HUB_PROFILE_LEARNER"):
        profiles_from_env({key: value})


def test_a_bad_profile_value_names_its_own_variable_and_keeps_the_profiles_rule():
    with pytest.raises(SettingError) as caught:
        profiles_from_env({"HUB_PROFILE_DATA_SCIENCE_MEM": "a gigabyte"})
    assert caught.value.name == "HUB_PROFILE_DATA_SCIENCE_MEM"
    assert "not a valid memory specification" in str(caught.value)
    assert "suffix K, M, G, T" in str(caught.value)
