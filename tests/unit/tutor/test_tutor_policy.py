"""Policies and hints: read from the LMS with the tutor's token, cached, with course.yml (or
the last answer read) when the LMS cannot be asked."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.fake_lms import TOKEN, FakeLMS
from tutor.policy import PolicySource


@pytest.fixture
def lms():
    fake = FakeLMS().start()
    yield fake
    fake.stop()


def read(source: PolicySource, course):
    return asyncio.run(source.assignments("python-101", course))


def test_the_lms_says_each_assignments_policy_and_hints(lms, python101):
    lms.set_policy("python-101", "ps1-basics", "off", ["From the LMS."], title="PS1")
    lms.set_policy("python-101", "ps2-functions", "full")
    lms.set_policy("python-101", "ps3-data-structures", "hints-only", released=False)
    found = read(PolicySource(lms.url, TOKEN, max_age=30), python101)
    assert {n: p.policy for n, p in found.items()} == {
        "ps1-basics": "off", "ps2-functions": "full", "ps3-data-structures": "hints-only"}
    assert found["ps1-basics"].hints == ("From the LMS.",)
    assert found["ps1-basics"].title == "PS1"
    assert found["ps3-data-structures"].released is False
    assert {p.source for p in found.values()} == {"lms"}
    assert len(lms.requests) == 2  # two pages


def test_an_answer_is_reused_for_the_policy_seconds(lms, python101):
    lms.set_policy("python-101", "ps1-basics", "off")
    source = PolicySource(lms.url, TOKEN, max_age=300)
    read(source, python101)
    lms.set_policy("python-101", "ps1-basics", "full")
    assert read(source, python101)["ps1-basics"].policy == "off"
    assert len(lms.requests) == 1
    fresh = PolicySource(lms.url, TOKEN, max_age=0)
    assert read(fresh, python101)["ps1-basics"].policy == "full"


def test_the_lms_failing_means_the_last_answer_read(lms, python101):
    lms.set_policy("python-101", "ps1-basics", "off")
    source = PolicySource(lms.url, TOKEN, max_age=0)
    read(source, python101)
    lms.failing = True
    found = read(source, python101)
    assert (found["ps1-basics"].policy, found["ps1-basics"].source) == ("off", "lms-cached")


@pytest.mark.parametrize("how", ["failing", "garbage", "unreachable", "wrong token"])
def test_without_any_answer_course_yml_decides(lms, python101, how):
    url, token = lms.url, TOKEN
    if how == "unreachable":
        lms.stop()
    elif how == "wrong token":
        token = "not-the-tutors-token-0123456789"
    else:
        setattr(lms, how, True)
    found = read(PolicySource(url, token, max_age=30, timeout=2), python101)
    assert {n: (p.policy, p.source) for n, p in found.items()} == {
        "ps1-basics": ("full", "course.yml"),
        "ps2-functions": ("hints-only", "course.yml"),
        "ps3-data-structures": ("off", "course.yml"),
    }
    assert found["ps1-basics"].hints[0].startswith("For the temperature conversion")


def test_without_a_token_the_lms_is_never_asked(lms, python101):
    found = read(PolicySource(lms.url, "", max_age=30), python101)
    assert found["ps3-data-structures"].policy == "off"
    assert lms.requests == []


def test_an_assignment_the_lms_does_not_list_falls_back_to_course_yml(lms, python101):
    lms.set_policy("python-101", "ps1-basics", "hints-only")
    found = read(PolicySource(lms.url, TOKEN, max_age=30), python101)
    assert (found["ps1-basics"].policy, found["ps1-basics"].source) == ("hints-only", "lms")
    assert (found["ps3-data-structures"].policy,
            found["ps3-data-structures"].source) == ("off", "course.yml")
