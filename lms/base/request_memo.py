"""Answers kept for the length of one request.

While one page is built, several apps ask the same question: the course page's providers each
ask for the viewer's enrollment in the course (courses, the gradebook, the board, the groups,
Discourse), and every cached read asks for the versions of what it is made of
(``lms.base.versioned_cache``).
``remembered(key, compute)`` computes the answer for the first asker and hands the same one to
the others in the same request. Outside a request (a command, the worker, a test calling a
selector) there is no memo: it computes every time, as if it were not there.

A write that changes a remembered answer calls ``forget(key)`` (``lms.courses.services`` does
when it enrolls or removes someone), so the rest of the request reads it again.

The memo is a context variable that :class:`RequestMemoMiddleware` sets for each request and
drops after it: a gunicorn worker's thread serves one request at a time, in its own context, so
no answer passes from one request, or one person, to another.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_memo: ContextVar[dict | None] = ContextVar("lms_request_memo", default=None)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``'s answer, computed once per request for ``key`` (every time outside one)."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def recall(key: Hashable) -> object | None:
    """The answer kept for ``key`` in this request, or None (none kept, or outside a request)."""
    memo = _memo.get()
    return None if memo is None else memo.get(key)


def forget(key: Hashable) -> None:
    """Drop the answer kept for ``key``, if any: the next asker computes it again."""
    memo = _memo.get()
    if memo is not None:
        memo.pop(key, None)


class RequestMemoMiddleware:
    """Gives each request an empty memo, and drops it when the response is made."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _memo.set({})
        try:
            return self.get_response(request)
        finally:
            _memo.reset(token)
