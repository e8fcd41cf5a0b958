"""Answers cached in each LMS process for as long as what they are made of stays the same.

Much of what a page costs is the same for every request until an editor or an admin changes
something: where a URL leads in the page tree (Wagtail walks it a page at a time), a course's
lessons and assignments, the catalogue's address, whether a person may open the Wagtail admin.
``cached(kind, name, key, compute)`` keeps such an answer in the ``versioned`` cache
(``CACHES``: Django's local-memory cache, one per process) under the current *version* of the
kind of data it is made of, so a process computes it once per version:

- :data:`CONTENT`: published pages (saved, published, unpublished, moved, deleted, with their
  drafts and children), their view restrictions and the sites (the receivers below);
- ``lms.accounts.permissions.PERMISSIONS``: who is in which group and holds which permission
  (its receivers are the accounts app's).

A version is a random number in a database row (:class:`~lms.base.models.CacheVersion`, one
per kind), replaced by a new random number in the same transaction as any change of that kind
(``changed``). Each request reads the versions at most once, all kinds in one small query
(``lms.base.request_memo``), before its first cached answer, so every process sees a change at
its next request, whichever process made it: the gunicorn workers need no shared cache for
that, and nothing is invalidated in place (answers of an old version are no longer asked for,
and age out). A random number, not a counter: a rolled-back transaction (or a database restored
from a backup) returns to an older version together with the data it described, and the number
a later change draws is never one seen before.

What is cached must not depend on who asks unless ``key`` says whom it is for: a person's
enrollments, progress and grades are read for each request. Values are pickled by the cache, so
each request gets its own copy of a cached page and may change it freely.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from django.core.cache import caches
from django.db.models.signals import post_delete, post_save
from wagtail.models import Page, PageViewRestriction, Site, get_page_models
from wagtail.signals import post_page_move

from .models import CacheVersion
from .request_memo import forget, remembered

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

CONTENT = "content"
CACHE_ALIAS = "versioned"
_VERSIONS_KEY = ("lms.base.versioned_cache", "versions")
_MISSING = object()


def new_version() -> int:
    """A fresh version: random, so that no two changes ever share one."""
    return random.getrandbits(62)


def version(kind: str) -> int:
    """The current version of ``kind`` (all kinds read in one query, once per request)."""
    versions = remembered(_VERSIONS_KEY, _read_versions)
    if kind not in versions:  # the first use of ``kind``, or a database emptied by ``flush``
        CacheVersion.objects.bulk_create(
            [CacheVersion(kind=kind, value=new_version())], ignore_conflicts=True
        )
        forget(_VERSIONS_KEY)
        versions = remembered(_VERSIONS_KEY, _read_versions)
    return versions[kind]


def _read_versions() -> dict[str, int]:
    return dict(CacheVersion.objects.values_list("kind", "value"))


def changed(kind: str) -> None:
    """Data of ``kind`` changed: every answer cached from it so far is out of date. Runs in the
    changing transaction, so the new version shows when (and if) the change commits."""
    value = new_version()
    if not CacheVersion.objects.filter(kind=kind).update(value=value):
        CacheVersion.objects.bulk_create(
            [CacheVersion(kind=kind, value=value)], ignore_conflicts=True
        )
    forget(_VERSIONS_KEY)


def cached(kind: str, name: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``'s answer for ``(name, key)`` in the current version of ``kind``, computed
    at most once per version and process. None is never kept (a page not found is asked
    again)."""
    cache = caches[CACHE_ALIAS]
    cache_key = _cache_key(name, version(kind), key)
    value = cache.get(cache_key, _MISSING)
    if value is _MISSING:
        value = compute()
        if value is not None:
            cache.set(cache_key, value)
    return value


def cached_many(
    kind: str, name: str, keys: Iterable[K], compute: Callable[[list[K]], dict[K, T]]
) -> dict[K, T]:
    """The answers for many keys of ``name`` at once: those not cached in the current version
    are computed together, by one call ``compute(missing_keys) -> {key: answer}`` (one query
    for all of them, however many)."""
    cache = caches[CACHE_ALIAS]
    current = version(kind)
    cache_keys = {key: _cache_key(name, current, key) for key in keys}
    found = cache.get_many(list(cache_keys.values()))
    answers = {key: found[cache_key] for key, cache_key in cache_keys.items() if cache_key in found}
    missing = [key for key in cache_keys if key not in answers]
    if missing:
        computed = compute(missing)
        cache.set_many({cache_keys[k]: v for k, v in computed.items() if v is not None})
        answers.update(computed)
    return answers


def _cache_key(name: str, current: int, key: Hashable) -> str:
    # hashed: a URL path may hold characters a cache key may not (spaces, any length)
    digest = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
    return f"{name}:{current}:{digest}"


def find_site(request) -> Site | None:
    """Wagtail's ``Site.find_for_request``, the site answering at the request's host, cached
    per host and content version; handed to Wagtail the way it keeps its own for the request,
    so that page URLs (``pageurl``) on a page Wagtail does not serve ask the database nothing."""
    if not hasattr(request, "_wagtail_site"):
        host = (request.get_host(), request.get_port())
        found = cached(CONTENT, "lms.base.site", host, lambda: Site.find_for_request(request))
        request._wagtail_site = found
    return request._wagtail_site


def _content_changed(sender, **kwargs) -> None:
    changed(CONTENT)


def connect_content_receivers() -> None:
    """Replace the content version on every change that can alter a cached answer: any page
    model saved or deleted (publishing, unpublishing and drafts save the page; a move saves it
    too, and ``post_page_move`` covers its subtree's new paths), a view restriction or a site
    saved or deleted. Called once, when the app is ready (every page model is known then)."""
    for model in {Page, PageViewRestriction, Site, *get_page_models()}:
        uid = f"lms.base.versioned_cache:{model._meta.label}"
        post_save.connect(_content_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_content_changed, sender=model, dispatch_uid=uid)
    post_page_move.connect(_content_changed, dispatch_uid="lms.base.versioned_cache")
