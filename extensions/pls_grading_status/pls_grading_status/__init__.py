"""pls-grading-status: a learner's submissions followed to the grader inside JupyterLab.

Two halves ship in one wheel: the lab extension (one JupyterLab notification per submission,
updated in place from "queued" to the score; built on the host into ``labextension/``) and the
server extension (``pls_grading_status.app``), which learns of each submission from the event
the exchange emits on this server's event bus and asks the grader for its status with this
server's own hub token, so the browser holds no token.
"""

from __future__ import annotations

try:
    from ._version import __version__
except ImportError:  # a source checkout whose wheel was never built (the tests run it so)
    __version__ = "0.0.0+source"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt lab extension lives in this package, and its name in the lab."""
    return [{"src": "labextension", "dest": "pls-grading-status"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """The server extension jupyter_server loads (enabled by the wheel's config file)."""
    from .app import GradingStatusExtension

    return [{"module": "pls_grading_status.app", "app": GradingStatusExtension}]
