"""When a learner's server cannot start, dies or sits idle, in the real studio: the hub says so
in its UI and API, and no container is left behind.

One studio of this module's own (``own_studio_factory``, Docker names under ``pls-test3``):

- the instructor profile names an image that does not exist (``HUB_PROFILE_INSTRUCTOR_IMAGE``), so
  the demo instructor's spawns fail while the learners' (the course's image) work;
- the idle culler runs with a short timeout. It is longer than the hub's poll of a server
  (JupyterHub's ``Spawner.poll_interval``, 30 s), so a killed container is noticed by the hub's
  own poll before the culler would stop the server. learner1's server, the one left idle for the
  culler, is started with the studio, so its idle minute passes while the other tests run.
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest
import requests

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PREFIX = "pls-test3"
PORTS = {"lms": 18200, "hub": 18201, "proxy_api": 18202, "hub_api": 18281}
MISSING_IMAGE = f"{PREFIX}-missing-image:latest"
IDLE_TIMEOUT = 60  # seconds; > the hub's 30 s poll of a running server (see the docstring)
CULL_EVERY = 5
SPAWN_FAILS_SECONDS = 60
NOTICED_SECONDS = 120  # the hub polls every 30 s
CULLED_SECONDS = IDLE_TIMEOUT + CULL_EVERY + 120


@pytest.fixture(scope="module")
def own(tmp_path_factory, own_studio_factory):
    with own_studio_factory(
        tmp_path_factory,
        PREFIX,
        PORTS,
        HUB_IDLE_TIMEOUT=str(IDLE_TIMEOUT),
        HUB_IDLE_CULL_EVERY=str(CULL_EVERY),
        HUB_PROFILE_INSTRUCTOR_IMAGE=MISSING_IMAGE,
    ) as own:
        yield own


@pytest.fixture(scope="module", autouse=True)
def idle_learner1(own) -> dict:
    """learner1 signed in, their server started and from then on left alone (the culler's
    test): set up before the module's first test, so IDLE_TIMEOUT runs while the others do.
    ``docker inspect`` of the container right after the spawn."""
    own.studio.login("learner1")
    return container(own, "learner1")


# -- helpers ----------------------------------------------------------------------------------


def wait_for(predicate, seconds: float, what: str):
    """``predicate()``'s first value other than None and False, polled until ``seconds`` pass
    (a ``requests.Response`` is falsy when its status is an error: it counts)."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            last = predicate()
            if last is not None and last is not False:
                return last
        time.sleep(1)
    raise AssertionError(f"{what} within {seconds} s (last: {last!r})")


def default_server(studio, username: str) -> dict | None:
    """The user's default server as the hub's API reports it, None when it is not running."""
    response = studio.api(username, "GET", f"/users/{username}")
    assert response.status_code == 200, (response.status_code, response.text)
    model = response.json()
    return (model.get("servers") or {}).get("")


def container(own, username: str) -> dict | None:
    """``docker inspect`` of the user's container, None when there is none."""
    result = own.studio.docker("container", "inspect", own.container_name(username), check=False)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def progress_events(studio, username: str) -> list[dict]:
    """The events of the user's spawn progress stream (what the spawn-pending page shows), up
    to the one that ends it."""
    events = []
    with studio.api(username, "GET", f"/users/{username}/server/progress", stream=True) as stream:
        assert stream.status_code == 200, (stream.status_code, stream.text)
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                events.append(json.loads(line[len("data:") :]))
                if events[-1].get("failed") or events[-1].get("ready"):
                    break
    return events


def text_of(html: str) -> str:
    return " ".join(html.split())


def home_page(studio, session: requests.Session) -> str:
    page = session.get(f"{studio.hub_url}/hub/home", timeout=30)
    assert page.status_code == 200, (page.status_code, page.url)
    return page.text


def assert_says_the_image_is_missing(page: requests.Response) -> None:
    """A hub page that names the missing image and what to do, with no stack trace."""
    text = text_of(page.text)
    assert page.status_code == 500, (page.status_code, page.url, text[:2000])
    assert f"The notebook image {MISSING_IMAGE} is not built on this host" in text, text
    assert "run images/build notebook" in text, text
    assert "Traceback" not in text and "docker.errors" not in text, text


# -- a missing image --------------------------------------------------------------------------


def test_missing_image_fails_the_spawn_with_a_clear_message(own):
    studio = own.studio
    assert studio.docker("image", "inspect", MISSING_IMAGE, check=False).returncode != 0
    session = studio.login("instructor", spawn=False)

    # "Start My Server" on the hub's home page. The image is checked before anything is
    # created, so the spawn fails at once: this request shows the error page, or it lands on
    # the spawn-pending page, which shows the failure once the spawn has ended (the browser's
    # page follows the progress stream, then reloads).
    started = session.get(f"{studio.hub_url}/hub/spawn/instructor", timeout=60)
    if started.status_code != 200:
        assert_says_the_image_is_missing(started)
    pending_url = f"{studio.hub_url}/hub/spawn-pending/instructor"
    pending = wait_for(
        lambda: (page := session.get(pending_url, timeout=30)).status_code != 200 and page,
        SPAWN_FAILS_SECONDS,
        "the spawn-pending page did not show the failure",
    )
    assert_says_the_image_is_missing(pending)
    assert "The latest attempt to start your server" in text_of(pending.text)

    # The progress stream the spawn-pending page reads ends with the same message.
    events = progress_events(studio, "instructor")
    assert events and events[-1]["failed"] is True, events
    message = events[-1]["message"]
    assert message.startswith("Spawn failed: "), message
    assert f"The notebook image {MISSING_IMAGE} is not built on this host" in message, message
    assert "images/build notebook" in message, message
    assert "Traceback" not in message and "ImageNotFound" not in message, message

    # Nothing half-started: the hub reports no server and no container was created.
    assert default_server(studio, "instructor") is None
    assert container(own, "instructor") is None


# -- a container that dies --------------------------------------------------------------------


def test_a_killed_container_is_reported_stopped_and_removed(own):
    studio = own.studio
    session = studio.login("learner2")
    killed = container(own, "learner2")
    assert killed and killed["State"]["Running"], killed
    assert 'id="stop"' in home_page(studio, session), "no Stop button for a running server"
    studio.docker("kill", own.container_name("learner2"))

    # Nobody asks the hub anything but the user model (which does not poll the server): the
    # hub's own periodic poll notices that the container is gone and stops the server.
    wait_for(
        lambda: default_server(studio, "learner2") is None,
        NOTICED_SECONDS,
        "the hub did not notice that learner2's container died",
    )
    # No ghost: no exited container stays behind (dockerspawner creates it with Docker's
    # auto-remove), and the home page offers to start the server, not to stop it.
    wait_for(
        lambda: container(own, "learner2") is None, 30, "learner2's dead container was left behind"
    )
    home = home_page(studio, session)
    assert 'id="stop"' not in home, "the home page still offers to stop a dead server"
    assert "Start My Server" in text_of(home)

    # The next start works, in a new container.
    studio.spawn("learner2")
    restarted = container(own, "learner2")
    assert restarted and restarted["State"]["Running"], restarted
    assert restarted["Id"] != killed["Id"]
    assert studio.server_status(session, "learner2") == 200


# -- the idle culler --------------------------------------------------------------------------


def test_the_culler_stops_an_idle_server(own, idle_learner1):
    studio = own.studio
    assert idle_learner1["State"]["Running"]

    # No requests after the spawn: the culler stops the server after IDLE_TIMEOUT seconds.
    wait_for(
        lambda: default_server(studio, "learner1") is None,
        CULLED_SECONDS,
        "the culler did not stop learner1's idle server",
    )
    wait_for(
        lambda: container(own, "learner1") is None,
        30,
        "learner1's culled container was left behind",
    )
    # The culler stops servers; it does not delete users or their work.
    assert studio.api("learner1", "GET", "/users/learner1").status_code == 200
    volume = studio.docker("volume", "inspect", f"{own.prefix}-work-learner1", check=False)
    assert volume.returncode == 0, volume.stderr
