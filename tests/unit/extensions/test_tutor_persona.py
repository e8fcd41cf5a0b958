"""The Tutor persona for jupyter-ai's chat: it forwards to the same tutor service as the panel
and is the only persona a learner is offered."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from jupyter_ai_persona_manager import BasePersona
from jupyterlab_chat.models import Message
from pls_tutor.persona import TutorPersona, chat_location, only_the_tutor
from traitlets.config import LoggingConfigurable

ROOT = Path(__file__).resolve().parents[3]


class FakeChat:
    """The parts of jupyterlab-chat's chat model a persona uses; keeps messages by id."""

    def __init__(self, path: str):
        self.path = path
        self.messages: dict[str, str] = {}
        self.users: list[str] = []

    def get_path(self) -> str:
        return self.path

    def get_id(self) -> str:
        return "chat-1"

    def set_user(self, user) -> None:
        self.users.append(user.username)

    def add_message(self, new_message, trigger_actions=None) -> str:
        message_id = f"m{len(self.messages) + 1}"
        self.messages[message_id] = new_message.body
        return message_id

    def update_message(self, update, append=False, trigger_actions=None) -> None:
        before = self.messages[update.id] if append else ""
        self.messages[update.id] = before + update.body

    def broadcast_writing_status(self, user, status) -> None:
        pass


class FakeManager(LoggingConfigurable):
    """The persona manager as a persona sees it: its chat and the server's root folder."""

    def __init__(self, chat: FakeChat, root_dir: str):
        super().__init__()
        self.chat = chat
        self.root_dir = root_dir
        self.event_logger = None
        self.base_url = "/user/learner1/"

    def get_chat_path(self, relative: bool = False) -> str:
        return self.chat.path if relative else os.path.join(self.root_dir, self.chat.path)


def persona_in(tmp_path: Path, chat_path: str) -> tuple[TutorPersona, FakeChat]:
    chat = FakeChat(chat_path)
    return TutorPersona(parent=FakeManager(chat, str(tmp_path)), chat=chat), chat


def message(body: str) -> Message:
    return Message(body=body, id="q1", time=0.0, sender="learner1")


def sse(event: dict) -> bytes:
    return f"data: {json.dumps(event)}\n\n".encode()


def streaming(*events: dict):
    async def script(handler) -> None:
        handler.set_header("Content-Type", "text/event-stream")
        for event in events:
            handler.write(sse(event))
            await handler.flush()

    return script


async def test_persona_asks_the_tutor_and_streams_the_reply_into_one_message(
    tutor, tmp_path, server_token
):
    tutor.ask = streaming(
        {"type": "notice", "text": "Offline mode."},
        {"type": "delta", "text": "A list keeps "},
        {"type": "delta", "text": "its order."},
        {"type": "done", "exchange_id": 4, "offline": True, "refused": False},
    )
    persona, chat = persona_in(tmp_path, "python-101/questions.chat")

    await persona.process_message(message("@Tutor what is a list?"))

    (received,) = tutor.received
    request = json.loads(received.body)
    assert request["mode"] == "chat"
    assert (request["course"], request["assignment"]) == ("python-101", None)
    assert request["question"] == "what is a list?"
    assert received.headers["Authorization"] == f"token {server_token}"
    (reply,) = chat.messages.values()
    assert reply.startswith("> Offline mode.")
    assert "A list keeps its order." in reply


async def test_failed_reply_is_replaced_by_the_tutors_message(tutor, tmp_path):
    tutor.ask = streaming({"type": "delta", "text": "Half"},
                          {"type": "error", "message": "The model did not answer in time."})
    persona, chat = persona_in(tmp_path, "python-101/questions.chat")

    await persona.process_message(message("why?"))

    (reply,) = chat.messages.values()
    assert "Half" not in reply
    assert "The model did not answer in time." in reply


async def test_chat_outside_a_course_folder_is_not_sent_to_the_tutor(tutor, tmp_path):
    persona, chat = persona_in(tmp_path, "untitled.chat")

    await persona.process_message(message("hello"))

    assert tutor.received == []
    (reply,) = chat.messages.values()
    assert "course folder" in reply


async def test_tutor_down_is_said_in_the_chat(tutor_down, tmp_path):
    persona, chat = persona_in(tmp_path, "python-101/questions.chat")

    await persona.process_message(message("hello"))

    (reply,) = chat.messages.values()
    assert "does not answer" in reply


def test_chat_in_an_assignment_folder_names_the_assignment(tmp_path):
    (tmp_path / "python-101" / "ps1-basics").mkdir(parents=True)
    (tmp_path / "python-101" / "lessons").mkdir()
    (tmp_path / "python-101" / "ps1-basics" / "ps1-basics.ipynb").write_text(
        json.dumps({"cells": [{"metadata": {"nbgrader": {"solution": True}}}]}))
    (tmp_path / "python-101" / "lessons" / "01-basics.ipynb").write_text('{"cells": []}')

    assert chat_location(str(tmp_path), "python-101/ps1-basics/help.chat") == (
        "python-101", "ps1-basics")
    assert chat_location(str(tmp_path), "python-101/lessons/help.chat") == ("python-101", None)


async def test_a_chat_in_an_assignment_folder_sends_the_ids_of_its_notebooks(tutor, tmp_path):
    tutor.ask = streaming({"type": "done", "exchange_id": 1, "offline": True, "refused": False})
    folder = tmp_path / "python-101" / "ps2-functions"
    folder.mkdir(parents=True)
    (folder / "ps2-functions.ipynb").write_text(json.dumps({"cells": [
        {"id": "ps2-01", "cell_type": "markdown", "source": "# PS2",
         "metadata": {"nbgrader": {"grade_id": "ps2-instructions"}}},
        {"id": "ps2-02", "cell_type": "markdown", "source": "## Problem 1", "metadata": {}},
    ]}))
    persona, _chat = persona_in(tmp_path, "python-101/ps2-functions/help.chat")

    await persona.process_message(message("How do I start?"))

    request = json.loads(tutor.received[0].body)
    assert (request["cell_ids"], request["grade_ids"]) == (["ps2-01", "ps2-02"],
                                                          ["ps2-instructions"])


async def test_a_chat_beside_no_notebook_sends_no_ids(tutor, tmp_path):
    tutor.ask = streaming({"type": "done", "exchange_id": 1, "offline": True, "refused": False})
    persona, _chat = persona_in(tmp_path, "python-101/questions.chat")

    await persona.process_message(message("hello"))

    request = json.loads(tutor.received[0].body)
    assert (request["cell_ids"], request["grade_ids"]) == ([], [])


class OtherAgentPersona(BasePersona):
    """A persona of another package (an agent with tools, its own model picker)."""


def test_learners_are_offered_the_tutor_alone():
    entries = [
        {"module": "claude-acp", "persona_class": OtherAgentPersona, "traceback": None},
        {"module": "tutor", "persona_class": TutorPersona, "traceback": None},
        {"module": "broken", "persona_class": None, "traceback": "ImportError: ..."},
    ]

    assert only_the_tutor(entries) == [entries[1]]


def test_tutor_is_registered_under_jupyter_ais_persona_entry_point():
    pyproject = tomllib.loads((ROOT / "extensions" / "pls_tutor" / "pyproject.toml").read_text())
    group = pyproject["project"]["entry-points"]["jupyter_ai.personas"]
    assert group == {"tutor": "pls_tutor.persona:TutorPersona"}
