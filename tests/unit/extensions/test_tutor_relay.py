"""The tutor extension's server side: /pls-tutor/{status,history,ask} in a learner's server,
relayed to the tutor service (docs/tutor.md) with the server's own hub token."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

# A bound for the fake tutor to wait on the browser, so a relay that buffers fails the test
# instead of hanging it; nothing is asserted about how long anything takes.
WAIT_FOR_BROWSER_SECONDS = 30

EXPLAIN = {
    "mode": "explain", "course": "python-101", "assignment": "ps1-basics",
    "notebook": "python-101/ps1-basics/ps1-basics.ipynb", "cell_id": "ps1-celsius-answer",
    "cell_source": "celsius_to_fahrenheit(c)",
    "error": {"ename": "NameError", "evalue": "name 'c' is not defined",
              "traceback": ["NameError: name 'c' is not defined"]},
    "context_markdown": "## Problem 1", "question": None,
}


def sse(event: dict) -> bytes:
    """One server-sent event, as the tutor writes it."""
    return f"data: {json.dumps(event)}\n\n".encode()


def events_of(body: bytes) -> list[dict]:
    """The JSON data of each server-sent event in a relayed body."""
    return [json.loads(line[len(b"data: "):]) for line in body.split(b"\n")
            if line.startswith(b"data: ")]


async def failed(fetch) -> tuple[int, dict, dict]:
    """Status, JSON body and headers of a request the relay answered with an error."""
    with pytest.raises(HTTPClientError) as caught:
        await fetch
    response = caught.value.response
    return response.code, json.loads(response.body), dict(response.headers)


def stream_of(*events: dict):
    """A tutor script that streams events, each flushed on its own."""

    async def script(handler) -> None:
        handler.set_header("Content-Type", "text/event-stream")
        for event in events:
            handler.write(sse(event))
            await handler.flush()

    return script


# -- status and history -----------------------------------------------------------------------


async def test_status_is_asked_with_the_servers_hub_token_for_the_notebooks_course(
    tutor, jp_fetch, server_token
):
    status = {"policy": "hints-only", "offline": True, "model": None,
              "quota": {"used": 3, "limit": 100, "resets_at": "2026-12-02T00:00:00Z"},
              "rate": {"per_minute": 6}, "message": "Offline mode."}
    tutor.status = (200, status)

    response = await jp_fetch("pls-tutor", "status", params={
        "course": "python-101", "assignment": "ps2-functions", "learner": "someone-else"})

    assert json.loads(response.body) == status
    (received,) = tutor.received
    assert received.path == "/services/tutor/api/status"
    assert received.query == {"course": "python-101", "assignment": "ps2-functions"}
    assert received.headers["Authorization"] == f"token {server_token}"


async def test_status_passes_on_the_notebooks_ids(tutor, jp_fetch):
    tutor.status = (200, {"policy": "off", "offline": False, "model": None})

    await jp_fetch("pls-tutor", "status", params={
        "course": "python-101", "cell_ids": "ps3-01,ps3-02", "grade_ids": "ps3-instructions"})

    (received,) = tutor.received
    assert received.query == {"course": "python-101", "cell_ids": "ps3-01,ps3-02",
                              "grade_ids": "ps3-instructions"}


async def test_history_relays_the_learners_own_exchanges(tutor, jp_fetch):
    exchange = {"id": 7, "course": "python-101", "assignment": None, "learner": "learner1",
                "mode": "chat", "cell_id": None, "error_type": None, "question": "What is a list?",
                "reply": "A list is…", "offline": False, "refused": False,
                "created_at": "2026-12-01T10:00:00Z"}
    tutor.history = (200, {"exchanges": [exchange]})

    response = await jp_fetch("pls-tutor", "history", params={"course": "python-101"})

    assert json.loads(response.body) == {"exchanges": [exchange]}
    assert tutor.received[0].query == {"course": "python-101"}


async def test_tutor_refusing_a_course_keeps_its_status_and_message(tutor, jp_fetch):
    tutor.status = (403, {"error": "not_in_course", "message": "You are not in data-201."})

    code, body, _ = await failed(jp_fetch("pls-tutor", "status", params={"course": "data-201"}))

    assert (code, body) == (403, {"error": "not_in_course", "message": "You are not in data-201."})


async def test_tutor_failing_without_its_json_is_a_bad_gateway_with_a_sentence(tutor, jp_fetch):
    tutor.status = (500, {"detail": "Traceback (most recent call last): ..."})

    code, body, _ = await failed(jp_fetch("pls-tutor", "status", params={"course": "python-101"}))

    assert code == 502
    assert body["error"] == "tutor_failed"
    assert "try again" in body["message"].lower()


# -- ask: the stream -------------------------------------------------------------------------


async def test_ask_relays_each_event_to_the_browser_before_the_reply_is_complete(
    tutor, jp_fetch
):
    browser_saw_first_delta = asyncio.Event()
    tutor_waited_for_the_browser = []

    async def script(handler) -> None:
        handler.set_header("Content-Type", "text/event-stream")
        handler.write(sse({"type": "notice", "text": "Your traceback was trimmed."}))
        handler.write(sse({"type": "delta", "text": "`c` is not "}))
        await handler.flush()
        try:  # the rest only once the browser has the first part, through the relay
            await asyncio.wait_for(browser_saw_first_delta.wait(), WAIT_FOR_BROWSER_SECONDS)
            tutor_waited_for_the_browser.append(True)
        except TimeoutError:
            tutor_waited_for_the_browser.append(False)
        handler.write(sse({"type": "delta", "text": "defined yet."}))
        handler.write(sse({"type": "done", "exchange_id": 12, "offline": False,
                           "refused": False}))

    tutor.ask = script
    chunks: list[bytes] = []

    def arrived(chunk: bytes) -> None:
        chunks.append(chunk)
        if b'"delta"' in b"".join(chunks):
            browser_saw_first_delta.set()

    response = await jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN),
                              streaming_callback=arrived)

    assert tutor_waited_for_the_browser == [True], "the relay held the first event back"
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert events_of(b"".join(chunks)) == [
        {"type": "notice", "text": "Your traceback was trimmed."},
        {"type": "delta", "text": "`c` is not "},
        {"type": "delta", "text": "defined yet."},
        {"type": "done", "exchange_id": 12, "offline": False, "refused": False},
    ]


async def test_ask_sends_the_request_unchanged_with_the_servers_hub_token(
    tutor, jp_fetch, server_token
):
    tutor.ask = stream_of({"type": "done", "exchange_id": 1, "offline": True, "refused": False})

    await jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN))

    (received,) = tutor.received
    assert (received.method, received.path) == ("POST", "/services/tutor/api/ask")
    assert json.loads(received.body) == EXPLAIN
    assert received.headers["Authorization"] == f"token {server_token}"


async def test_event_split_across_network_chunks_reaches_the_browser_whole(tutor, jp_fetch):
    async def script(handler) -> None:
        handler.set_header("Content-Type", "text/event-stream")
        whole = sse({"type": "delta", "text": "a reply in two halves"})
        for half in (whole[:9], whole[9:]):
            handler.write(half)
            await handler.flush()
        handler.write(sse({"type": "done", "exchange_id": 2, "offline": False,
                           "refused": False}))

    tutor.ask = script
    chunks: list[bytes] = []

    await jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN),
                   streaming_callback=chunks.append)

    assert all(chunk.endswith(b"\n\n") for chunk in chunks), chunks
    assert [event["type"] for event in events_of(b"".join(chunks))] == ["delta", "done"]


async def test_reply_cut_off_mid_stream_ends_with_an_error_event(tutor, jp_fetch):
    tutor.ask = stream_of({"type": "delta", "text": "Start of a reply"})  # then closes

    response = await jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN))

    events = events_of(response.body)
    assert [event["type"] for event in events] == ["delta", "error"]
    assert "cut off" in events[-1]["message"]


async def test_tutor_error_event_is_relayed_as_the_end_of_the_reply(tutor, jp_fetch):
    tutor.ask = stream_of({"type": "delta", "text": "Partial"},
                          {"type": "error", "message": "The model did not answer in time."})

    response = await jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN))

    assert events_of(response.body)[-1] == {"type": "error",
                                            "message": "The model did not answer in time."}


async def test_rate_limit_keeps_its_status_message_and_retry_after(tutor, jp_fetch):
    async def script(handler) -> None:
        handler.set_status(429)
        handler.set_header("Content-Type", "application/json")
        handler.set_header("Retry-After", "42")
        handler.write(json.dumps({"error": "rate_limited",
                                  "message": "You asked 6 questions this minute."}))

    tutor.ask = script

    code, body, headers = await failed(
        jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN)))

    assert code == 429
    assert body == {"error": "rate_limited", "message": "You asked 6 questions this minute."}
    assert headers["Retry-After"] == "42"


async def test_request_that_is_not_a_json_object_never_reaches_the_tutor(tutor, jp_fetch):
    code, body, _ = await failed(jp_fetch("pls-tutor", "ask", method="POST", body="[1, 2]"))

    assert (code, body["error"]) == (400, "bad_request")
    assert tutor.received == []


async def test_relay_refuses_a_browser_that_is_not_signed_in(tutor, jp_fetch):
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("pls-tutor", "status", params={"course": "python-101"},
                       headers={"Authorization": "token not-the-servers-token"})
    code = caught.value.code
    assert code == 403
    assert tutor.received == []


# -- no tutor ---------------------------------------------------------------------------------


async def test_missing_tutor_url_answers_json_that_says_so(no_tutor_url, jp_fetch):
    for request in (jp_fetch("pls-tutor", "status", params={"course": "python-101"}),
                    jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN))):
        code, body, _ = await failed(request)
        assert code == 503
        assert body["error"] == "tutor_not_configured"
        assert "PLS_TUTOR_URL" in body["message"]


async def test_tutor_down_answers_json_that_says_so(tutor_down, jp_fetch):
    for request in (jp_fetch("pls-tutor", "history", params={"course": "python-101"}),
                    jp_fetch("pls-tutor", "ask", method="POST", body=json.dumps(EXPLAIN))):
        code, body, _ = await failed(request)
        assert code == 502
        assert body["error"] == "tutor_unreachable"
        assert "does not answer" in body["message"]
