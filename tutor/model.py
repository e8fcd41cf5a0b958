"""The model: any OpenAI-compatible endpoint, through the ``openai`` client, streaming.

:meth:`Model.stream` yields the reply's text as it arrives and turns every way the endpoint can
fail into :class:`ModelFailed` with a sentence for the learner: no connection, a refusal or
failure (4xx/5xx, also as an error event inside the stream), a stream that cannot be read, a
stall (no token for ``TUTOR_TIMEOUT_SECONDS``, measured here for each piece, so keep-alive
bytes do not hide it), a reply running past ``TUTOR_MAX_REPLY_SECONDS``, an empty reply. Nothing
else escapes: a failed reply never takes the service down.

The client retries what the ``openai`` client retries (connection errors, 408/409/429/5xx)
``TUTOR_UPSTREAM_RETRIES`` times, before anything was streamed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10.0


FAILURE_KINDS = ("timeout", "stalled", "too_long", "connection", "connection_lost",
                 "credentials", "no_model", "rate_limited", "server_error", "refused",
                 "stream_error", "malformed", "empty")
"""The kinds of :class:`ModelFailed`, for the tutor's metrics."""


class ModelFailed(Exception):
    """The model gave no usable reply: ``message`` for the learner, ``detail`` for the log,
    ``kind`` (one of :data:`FAILURE_KINDS`) for the metrics."""

    def __init__(self, message: str, detail: str = "", kind: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message
        self.kind = kind


def _status_kind(status: int) -> str:
    if status in (401, 403):
        return "credentials"
    if status == 404:
        return "no_model"
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "refused"


def _status_message(error: openai.APIStatusError, model: str) -> str:
    status = error.status_code
    if status in (401, 403):
        return ("The tutor's AI model refused the studio's credentials. Please tell your "
                "instructors: the tutor's model key needs to be checked.")
    if status == 404:
        return (f"The tutor's AI model ({model}) is not available at its endpoint. Please tell "
                "your instructors.")
    if status == 429:
        return "The AI model is busy right now (too many requests). Try again in a minute."
    if status >= 500:
        return f"The AI model failed to answer (HTTP {status}). Try again in a minute."
    return f"The AI model refused this request (HTTP {status}). Try rephrasing it."


class Model:
    """One endpoint and model, shared by every request (one connection pool)."""

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str = "",
        stall_seconds: float = 30.0,
        max_seconds: float = 120.0,
        max_output_tokens: int = 800,
        retries: int = 1,
    ) -> None:
        self.name = model
        self.stall_seconds = stall_seconds
        self.max_seconds = max_seconds
        self.max_output_tokens = max_output_tokens
        self.client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=httpx2.Timeout(stall_seconds, connect=min(CONNECT_SECONDS, stall_seconds)),
            max_retries=retries,
        )

    async def close(self) -> None:
        await self.client.close()

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        """The reply's text, piece by piece; :class:`ModelFailed` when it cannot be had.

        Each wait (for the answer, then for each piece) has its own timeout, and nothing is
        yielded inside one: a timeout must never fire while the caller, not this generator, is
        waiting (on a slow learner's connection, say)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_seconds

        def wait() -> float:
            return max(0.0, min(deadline, loop.time() + self.stall_seconds) - loop.time())

        produced = False
        stream = None
        try:
            async with asyncio.timeout(wait()):
                stream = await self.client.chat.completions.create(
                    model=self.name,
                    messages=messages,  # type: ignore[arg-type]
                    stream=True,
                    max_tokens=self.max_output_tokens,
                )
            pieces = stream.__aiter__()
            while True:
                try:
                    async with asyncio.timeout(wait()):
                        chunk = await pieces.__anext__()
                except StopAsyncIteration:
                    break
                text = _text_of(chunk)
                if text:
                    produced = True
                    yield text
        except TimeoutError:
            if loop.time() >= deadline:
                raise ModelFailed(
                    f"The reply took longer than {self.max_seconds:g} seconds and was stopped. "
                    "Try a shorter question.", "reply too long", "too_long"
                ) from None
            raise ModelFailed(self._stalled(), "stalled", "stalled") from None
        except openai.APITimeoutError:
            raise ModelFailed(self._stalled(), "timeout", "timeout") from None
        except openai.APIConnectionError as error:
            if produced:
                raise ModelFailed("The connection to the AI model broke off while it answered. "
                                  "Try again.", f"connection lost: {error}",
                                  "connection_lost") from None
            raise ModelFailed(
                "The tutor cannot reach its AI model right now. Try again in a minute; if it "
                "keeps happening, tell your instructors.", f"connection: {error}", "connection"
            ) from None
        except openai.APIStatusError as error:
            raise ModelFailed(_status_message(error, self.name),
                              f"HTTP {error.status_code}: {error.message}",
                              _status_kind(error.status_code)) from None
        except openai.APIError as error:  # an error event in the stream
            raise ModelFailed("The AI model stopped with an error while answering. Try again.",
                              f"stream error: {error.message}", "stream_error") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ModelFailed("The AI model sent a reply the tutor cannot read. Try again.",
                              f"malformed stream: {error!r}", "malformed") from None
        finally:
            if stream is not None:
                await stream.close()
        if not produced:
            raise ModelFailed("The AI model sent an empty reply. Try asking again.", "empty",
                              "empty")

    def _stalled(self) -> str:
        return (f"The AI model did not answer for {self.stall_seconds:g} seconds. Try again in "
                "a moment.")


def _text_of(chunk: Any) -> str:
    """The text a ``chat.completion.chunk`` adds ('' for role, usage and final chunks)."""
    choices = chunk.choices
    if choices is None:
        raise ValueError("a chunk without choices")
    if not choices:
        return ""
    delta = choices[0].delta
    if delta is None:
        return ""
    content = delta.content
    if content is not None and not isinstance(content, str):
        raise TypeError("a chunk whose content is not text")
    return content or ""
