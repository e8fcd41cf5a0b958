"""Searching the board: PostgreSQL's full-text search in production, a plain substring match on
SQLite (``make up``'s embedded database). The database's vendor decides, here and nowhere else.

On PostgreSQL each post keeps ``search_vector`` (the thread's title and its body, English
configuration), written by ``services`` and indexed with GIN (migration ``0002``); a search is
``websearch_to_tsquery`` against it, so ``"exact phrase"``, ``or`` and ``-word`` work as on a
search engine. On SQLite the words are matched case-insensitively in titles and bodies.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet, Value

CONFIG = "english"


def full_text() -> bool:
    return connection.vendor == "postgresql"


def index_post(post, title: str) -> None:
    """Write ``post``'s search vector (PostgreSQL; nothing to do elsewhere)."""
    if full_text():
        type(post).objects.filter(pk=post.pk).update(
            search_vector=SearchVector(Value(f"{title}\n{post.body}"), config=CONFIG)
        )


def matching(posts: QuerySet, text: str) -> Q:
    """Threads whose title or one of whose ``posts`` matches ``text``, as a filter of threads
    (full text: the title is in each post's search vector)."""
    if full_text():
        query = SearchQuery(text, config=CONFIG, search_type="websearch")
        return Q(pk__in=posts.filter(search_vector=query).values("thread_id"))
    hits = posts.filter(body__icontains=text).values("thread_id")
    return Q(title__icontains=text) | Q(pk__in=hits)
