"""pls-tutor: the AI tutor of Python Learning Studio inside a learner's JupyterLab.

Two halves ship in one wheel: the lab extension (the tutor panel, "Explain this error" on error
outputs, "Hint" on nbgrader answer cells; built on the host into ``labextension/``) and the
server extension (``pls_tutor.app``), which relays the browser's requests to the studio's tutor
service with this server's own hub token, so no key or token ever reaches the browser.
"""

from __future__ import annotations

try:
    from ._version import __version__
except ImportError:  # a source checkout whose wheel was never built (the tests run it so)
    __version__ = "0.0.0+source"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt lab extension lives in this package, and its name in the lab."""
    return [{"src": "labextension", "dest": "pls-tutor"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """The server extension jupyter_server loads (enabled by the wheel's config file)."""
    from .app import TutorExtension

    return [{"module": "pls_tutor.app", "app": TutorExtension}]
