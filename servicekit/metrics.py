"""Metrics for Prometheus, the way every part of the studio exports them.

- **Who may read them** (:func:`refusal`): a part's ``/metrics`` (the LMS's, the grader's, the
  tutor's) answers only ``Authorization: Bearer <STUDIO_METRICS_TOKEN>``, which is what
  Prometheus sends for a scrape job with ``authorization: {credentials_file: <file>}``. Without
  a token configured nobody may read them (404); a wrong or missing token is 401. The rule and
  its sentences are written once here: the grader's and the tutor's endpoint
  (``servicekit.web``) and the LMS's view call it. The hub's own ``/hub/metrics`` is
  JupyterHub's, with the same token held by the hub service ``prometheus`` (scope
  ``read:metrics``, ``hub.services``).
- **Several processes, one set of numbers** (:func:`use_multiprocess_dir`,
  :func:`fresh_multiprocess_dir`): a part that runs
  several processes (the LMS's gunicorn workers, the grader's workers beside its API) keeps each
  process's numbers in files of one folder, prometheus_client's multiprocess mode, and the
  process that answers ``/metrics`` adds them up (:func:`exposition`). A counter of a worker
  that died and was restarted stays in the sum. prometheus_client decides the mode when it is
  imported, so the folder is named before anything imports it: this module imports
  prometheus_client only inside the functions that need it.
- **Numbers measured when scraped**: :class:`DiskSpace`, the free and total bytes of the file
  systems holding a part's state (what the alert "disk filling" watches). A part adds its own
  such collectors (the grader's queue, read from its database) to :func:`exposition`.
"""

from __future__ import annotations

import hmac
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own variable naming the multiprocess folder (set by the parts that run
several processes, never by an admin)."""
TOKEN_VARIABLE = "STUDIO_METRICS_TOKEN"  # noqa: S105 - the name of the variable


@dataclass(frozen=True)
class Refusal:
    """Why a request for ``/metrics`` is not answered: its status, code, sentence, headers."""

    status: int
    code: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


METRICS_OFF = Refusal(
    404, "not-found",
    f"Metrics are off here: the studio's admin turns them on with {TOKEN_VARIABLE}.",
)
WRONG_TOKEN = Refusal(
    401, "unauthenticated",
    "Metrics are read with 'Authorization: Bearer <the studio's metrics token>' "
    f"({TOKEN_VARIABLE}).",
    {"WWW-Authenticate": 'Bearer realm="metrics"'},
)


def refusal(authorization: str | None, token: str) -> Refusal | None:
    """None when ``authorization`` (the request's header) carries ``token`` as a bearer token;
    else why not. An empty ``token`` (metrics not configured) refuses everyone."""
    if not token:
        return METRICS_OFF
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                              token.encode()):
        return WRONG_TOKEN
    return None


def fresh_multiprocess_dir(folder: Path) -> Path:
    """``folder`` made empty (and made when missing), for prometheus_client's multiprocess
    mode: the files of an earlier run are removed, their counters would be added to this
    run's. For a process that names it to the processes it starts itself (the LMS's gunicorn:
    ``--env PROMETHEUS_MULTIPROC_DIR=<folder>``)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def use_multiprocess_dir(folder: Path) -> Path:
    """:func:`fresh_multiprocess_dir`, named as prometheus_client's multiprocess folder in this
    process's environment, which the processes it starts inherit. Called once when a part
    starts, before this process imports prometheus_client, which decides at import whether to
    count in memory or in the folder (RuntimeError otherwise: its numbers would be missing from
    the sum without a word)."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client is imported already: name the metrics folder before it is"
        )
    os.environ[MULTIPROCESS_VARIABLE] = str(fresh_multiprocess_dir(folder))
    return folder


def exposition(*collectors: Any) -> tuple[bytes, str]:
    """The text Prometheus reads and its content type: every metric this process defined (in
    multiprocess mode, those of every process counting in the folder, summed), then what
    ``collectors`` (objects with ``collect()``) measure now."""
    # prometheus_client is imported here, not above: see use_multiprocess_dir.
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROCESS_VARIABLE)
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(REGISTRY)  # a registry is a collector of what was registered in it
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def _existing(path: Path) -> Path:
    """``path``, or its nearest parent that exists (a folder made only later is measured on the
    file system it will be made on)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class DiskSpace:
    """``studio_disk_free_bytes`` and ``studio_disk_size_bytes`` of the file systems holding
    ``folders`` (label ``folder``: what it holds, e.g. ``grader``), measured when scraped."""

    FREE = "studio_disk_free_bytes"
    SIZE = "studio_disk_size_bytes"

    def __init__(self, folders: Mapping[str, Path]) -> None:
        self.folders = dict(folders)

    def describe(self) -> Iterable[Any]:
        return self._families({})

    def collect(self) -> Iterable[Any]:
        usage = {name: shutil.disk_usage(_existing(path)) for name, path in self.folders.items()}
        return self._families(usage)

    def _families(self, usage: Mapping[str, Any]) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # as in exposition()

        free = GaugeMetricFamily(self.FREE, "Bytes free for the studio (not reserved for "
                                 "root) on the file system holding the folder", labels=["folder"])
        size = GaugeMetricFamily(self.SIZE, "Size in bytes of the file system holding the "
                                 "folder", labels=["folder"])
        for name, measured in usage.items():
            free.add_metric([name], measured.free)
            size.add_metric([name], measured.total)
        yield free
        yield size
