"""docker-compose.yml's stack (:mod:`tests.support.compose_stack`), started once for this folder.

Starting it takes minutes, so every test here shares one: the stack lives while this folder's
tests run (package scope), and the tests that use it are one pytest-xdist group
(``compose-stack``, see tests/conftest.py), so one worker starts it once. The stack checks
(test_compose_stack.py) and the fault tests (test_faults.py) do not depend on their order: each
fault test waits until the part it killed is back and every part answers through the entry point
before it ends, so the stack is as the next test expects it (the files also run in that order,
the checks first).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.compose_stack import Stack, compose_stack, host_address
from tests.support.fake_openai import FakeOpenAI


def pytest_itemcollected(item):
    if {"stack", "fake_model"} & set(item.fixturenames):
        item.add_marker(pytest.mark.xdist_group("compose-stack"))


@pytest.fixture(scope="package")
def fake_model() -> Iterator[FakeOpenAI]:
    """The tutor's model: a local OpenAI-compatible server where the stack's tutor reaches it."""
    with FakeOpenAI(host=host_address()) as fake:
        yield fake


@pytest.fixture(scope="package")
def stack(tmp_path_factory, fake_model) -> Iterator[Stack]:
    with compose_stack(tmp_path_factory.mktemp("compose"), fake_model.url) as stack:
        yield stack
