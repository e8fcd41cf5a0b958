"""The tutor as a jupyter-ai persona, for learners who ask in Jupyter AI's chat.

jupyter-ai's persona manager (``jupyter-ai-persona-manager``) finds personas through the
``jupyter_ai.personas`` entry point group; this package registers :class:`TutorPersona` there.
The persona holds no model and no key: every message goes to the same tutor service as the
panel (``mode: chat``), with this server's hub token, and the reply is streamed into the chat.

:class:`TutorOnlyPersonaManager` is the persona manager the learner image configures
(``PersonaManagerExtension.persona_manager_class``, in this package's server config): it
offers the Tutor and nothing else, whatever else declares the entry point, and never loads
persona code from a learner's ``.jupyter/personas/`` folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from time import time
from typing import Any

from jupyter_ai_persona_manager import BasePersona, PersonaDefaults, PersonaManager
from jupyterlab_chat.models import Message, NewMessage

from .relay import SseEvent, TutorProblem, TutorService, api_base

AVATAR = Path(__file__).parent / "tutor-avatar.svg"
# "@Tutor" and other mentions are addressing, not part of the question.
MENTION = re.compile(r"(^|\s)@[\w.-]+")
MAX_NOTEBOOKS = 20  # notebooks of a folder looked at
MAX_IDS = 100  # ids of each kind sent, as the panel sends (src/context.ts)


def tutor_from_environment() -> TutorService:
    """The tutor service as the hub configured this server (the same as the panel's relay)."""
    return TutorService(api_base(os.environ.get("PLS_TUTOR_URL", "")),
                        os.environ.get("JUPYTERHUB_API_TOKEN", ""))


def chat_location(root_dir: str, chat_path: str) -> tuple[str | None, str | None]:
    """Course and assignment of a chat file from its path under the work folder, by the
    panel's rule: ``<course>/...``, and ``<course>/<assignment>/...`` only when that folder
    holds a notebook with nbgrader cells (a lesson folder is no assignment)."""
    parts = [part for part in Path(chat_path).parts if part not in ("", "/")]
    if len(parts) < 2:
        return None, None
    if len(parts) < 3:
        return parts[0], None
    folder = Path(root_dir, parts[0], parts[1])
    for notebook in sorted(folder.glob("*.ipynb"))[:MAX_NOTEBOOKS]:
        try:
            if '"nbgrader"' in notebook.read_text(errors="replace"):
                return parts[0], parts[1]
        except OSError:
            continue
    return parts[0], None


def folder_identity(root_dir: str, chat_path: str) -> dict[str, list[str]]:
    """The cell ids and nbgrader grade ids of the notebooks beside a chat file: a chat in an
    assignment's or a lesson's folder is about those notebooks, and the tutor places the
    question by their ids (docs/tutor.md, "Which policy applies"), as it does the panel's."""
    cell_ids: list[str] = []
    grade_ids: list[str] = []
    folder = Path(root_dir, chat_path).parent
    for notebook in sorted(folder.glob("*.ipynb"))[:MAX_NOTEBOOKS]:
        try:
            cells = json.loads(notebook.read_text(errors="replace")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            continue
        for cell in cells if isinstance(cells, list) else []:
            if not isinstance(cell, dict):
                continue
            grade_id = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
            for value, found in ((cell.get("id"), cell_ids), (grade_id, grade_ids)):
                if isinstance(value, str) and value and "," not in value:
                    found.append(value)
    return {"cell_ids": cell_ids[:MAX_IDS], "grade_ids": grade_ids[:MAX_IDS]}


class TutorPersona(BasePersona):
    """The studio's tutor: explains, hints and asks guiding questions; never the solution of
    a graded cell (the tutor service enforces that, not this class)."""

    @property
    def defaults(self) -> PersonaDefaults:
        return PersonaDefaults(
            name="Tutor",
            description="Your course's tutor: explanations and hints, never the solution.",
            avatar_path=str(AVATAR),
            # The tutor service holds the real system prompt and the guardrails.
            system_prompt="Forwarded to the studio's tutor service.",
            slash_commands=set(),
        )

    async def process_message(self, message: Message) -> None:
        question = MENTION.sub(" ", message.body).strip()
        if not question:
            self.send_message("Ask me a question about your code or an error.")
            return
        root = getattr(self.parent, "root_dir", "") or os.getcwd()
        course, assignment = chat_location(root, self.get_chat_path(relative=True))
        if course is None:
            self.send_message(
                "I answer questions about your courses: open or create this chat inside a "
                "course folder (for example `python-101/`), then ask again."
            )
            return
        request = {
            "mode": "chat", "course": course, "assignment": assignment,
            "notebook": None, "cell_id": None, "cell_source": None, "error": None,
            "context_markdown": None, "question": question,
            **folder_identity(root, self.get_chat_path(relative=True)),
        }
        await self.stream_reply(tutor_from_environment(), request)

    async def stream_reply(self, tutor: TutorService, request: dict[str, Any]) -> None:
        """Ask the tutor and write its reply into one chat message as it streams: notices
        first, then the text; an error replaces what was streamed (as the contract says)."""
        events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        def arrived(event: SseEvent) -> None:
            if event.data is not None:
                events.put_nowait(event.data)

        asking = asyncio.ensure_future(tutor.ask(json.dumps(request).encode(), arrived))
        asking.add_done_callback(lambda _: events.put_nowait(None))
        reply = _ChatReply(self)
        self.set_status("is thinking...")
        try:
            while (event := await events.get()) is not None:
                kind = event.get("type")
                if kind == "notice":
                    reply.notice(str(event.get("text", "")))
                elif kind == "delta":
                    reply.add(str(event.get("text", "")))
                elif kind == "error":
                    reply.fail(str(event.get("message", "The tutor failed.")))
                elif kind == "done" and event.get("offline"):
                    reply.notice("Answered in offline mode.")
            try:
                await asking
            except TutorProblem as problem:
                if not reply.failed:
                    reply.fail(problem.message)
            if not reply.written:
                reply.fail("The tutor sent no reply.")
        finally:
            self.clear_status()


class _ChatReply:
    """One chat message from the persona, rewritten as the reply grows."""

    def __init__(self, persona: BasePersona):
        self.persona = persona
        self.notices: list[str] = []
        self.text = ""
        self.message_id: str | None = None
        self.failed = False

    @property
    def written(self) -> bool:
        return self.message_id is not None

    def notice(self, text: str) -> None:
        self.notices.append(text)
        self._show()

    def add(self, text: str) -> None:
        if not self.failed:
            self.text += text
            self._show()

    def fail(self, message: str) -> None:
        self.failed = True
        self.text = f"**The tutor could not answer:** {message}"
        self._show()

    def _show(self) -> None:
        body = "".join(f"> {notice}\n\n" for notice in self.notices) + self.text
        chat = self.persona.chat
        if self.message_id is None:
            self.message_id = chat.add_message(NewMessage(body=body, sender=self.persona.id))
            return
        chat.update_message(
            Message(id=self.message_id, body=body, time=time(), sender=self.persona.id,
                    raw_time=False),
            append=False,
        )


def only_the_tutor(persona_classes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entry-point personas a learner may talk to: the Tutor alone. Another package's
    persona (an agent with tools, a model picker, a key prompt) is left out, and so is any
    entry that failed to load (it would only show its traceback in the chat)."""
    return [entry for entry in persona_classes
            if isinstance(entry.get("persona_class"), type)
            and issubclass(entry["persona_class"], TutorPersona)]


class TutorOnlyPersonaManager(PersonaManager):
    """jupyter-ai's persona manager, offering the Tutor and nothing else."""

    def _init_ep_persona_classes(self) -> None:
        super()._init_ep_persona_classes()
        PersonaManager._ep_persona_classes = only_the_tutor(
            PersonaManager._ep_persona_classes or []
        )

    def _init_local_persona_classes(self) -> None:
        # Never import persona code from the learner's work folder (.jupyter/personas/).
        self._local_persona_classes = None
