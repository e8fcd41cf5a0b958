"""WSGI entry point for gunicorn (``make up`` and production).

Each gunicorn worker imports this module, which sets Django up and loads what the first request
would (the URL map, every app's Wagtail hooks), then moves every object that exists by then out
of the garbage collector's sight (``gc.freeze``): they live as long as the worker, and a full
collection, which Python runs every so often, would otherwise walk them all (a few hundred
milliseconds of CPU for a worker of this size, during which its request waits).
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver
from wagtail import hooks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.prod")
application = get_wsgi_application()


def _load_and_freeze() -> None:
    get_resolver().url_patterns  # noqa: B018 - imports every app's URLs and views
    hooks.search_for_hooks()  # imports every app's wagtail_hooks
    gc.collect()
    gc.freeze()


_load_and_freeze()
