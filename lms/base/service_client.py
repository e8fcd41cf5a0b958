"""What the LMS's clients of the studio's hub services (the grader, the tutor) share: how a call
is made and how its failures become errors with a sentence for a person.

Server to server: every request carries ``Authorization: token <LMS_HUB_SERVICE_TOKEN>`` (the hub
API token of the hub service ``lms``, which the services trust to act for the instructors of
every course) and ``X-Studio-User: <username>`` of the instructor acting, for the service's log.
The LMS alone decides who may ask (each client's app does); a client only talks HTTP. A failure is
one of three errors, each client's own subclasses of these:

- :class:`ServiceNotConfigured`: no URL (or no hub token) is set for the service;
- :class:`ServiceUnavailable`: the service cannot be reached, timed out (``timed_out``), failed
  (5xx, or anything but 2xx and 4xx) or sent something unreadable;
- :class:`ServiceRefused`: the service answered 4xx; ``message`` is its own (``{"error",
  "message"}``), ``status`` and ``code`` say which refusal.

A subclass of :class:`ServiceClient` names its service and settings and adds one method per call.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Self

import requests
from django.conf import settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds; at most the service's own timeout


class ServiceError(Exception):
    """A service could not do what was asked; ``message`` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceNotConfigured(ServiceError):
    pass


class ServiceUnavailable(ServiceError):
    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ServiceRefused(ServiceError):
    """A 4xx answer: ``status``, the service's ``code`` (``error``) and its ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ServiceClient:
    """One instructor's calls to one hub service. ``acting_for`` is sent as ``X-Studio-User``."""

    service: ClassVar[str]
    """The service's name in messages and logs: "grader", "tutor"."""
    url_setting: ClassVar[str]
    """The setting (and variable) holding the service's API URL, e.g. ``LMS_GRADER_API_URL``."""
    timeout_setting: ClassVar[str]
    """The setting holding the seconds to wait for an answer, e.g. ``LMS_GRADER_TIMEOUT``."""
    without_service: ClassVar[str]
    """What is unavailable without the service; ends the sentence "No <service> service is
    configured for this LMS (<url_setting> is empty), so …"."""
    without_credentials: ClassVar[str]
    """What the LMS cannot do without its hub token; ends the sentence "… has no hub service
    token (LMS_HUB_SERVICE_TOKEN), so it cannot …"."""
    NotConfigured: ClassVar[type[ServiceNotConfigured]]
    Unavailable: ClassVar[type[ServiceUnavailable]]
    Refused: ClassVar[type[ServiceRefused]]

    def __init__(
        self,
        base_url: str,
        token: str,
        acting_for: str,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.acting_for = acting_for
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = session or requests.Session()

    @classmethod
    def is_configured(cls) -> bool:
        return bool(getattr(settings, cls.url_setting))

    @classmethod
    def for_user(cls, username: str, *, at_most: float | None = None) -> Self:
        """A client from the settings acting for ``username``; :attr:`NotConfigured` when the
        service's URL or the LMS's hub token is missing. ``at_most``: seconds to wait for an
        answer, when less than the service's setting (a page that must not hang on a read)."""
        if not cls.is_configured():
            raise cls.NotConfigured(
                f"No {cls.service} service is configured for this LMS ({cls.url_setting} is "
                f"empty), so {cls.without_service}."
            )
        if not settings.LMS_HUB_SERVICE_TOKEN:
            raise cls.NotConfigured(
                f"The {cls.service} service is configured but the LMS has no hub service token "
                f"(LMS_HUB_SERVICE_TOKEN), so it cannot {cls.without_credentials}."
            )
        timeout = getattr(settings, cls.timeout_setting)
        return cls(
            getattr(settings, cls.url_setting),
            settings.LMS_HUB_SERVICE_TOKEN,
            username,
            timeout=timeout if at_most is None else min(timeout, at_most),
        )

    @classmethod
    def unreadable(cls) -> ServiceUnavailable:
        """The error for an answer the LMS cannot make sense of."""
        return cls.Unavailable(
            f"The {cls.service} service sent an answer the LMS cannot read; nothing is shown "
            "from it."
        )

    @classmethod
    def body_of(cls, response: requests.Response) -> Any:
        """The JSON body of a successful answer (``{}`` for an empty one, e.g. 204)."""
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise cls.unreadable() from None

    def json(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> Any:
        """The JSON body of a successful call (``{}`` for an empty one, e.g. 204)."""
        return self.body_of(self.request(method, path, payload, **kwargs))

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        params: dict[str, str] | None = None,
        accept: str = "application/json",
    ) -> requests.Response:
        """``method`` on ``<base_url>/<path>``: the 2xx response, or one of the three errors."""
        url = f"{self.base_url}/{path}"
        headers = {
            "Authorization": f"token {self.token}",
            "X-Studio-User": self.acting_for,
            "Accept": accept,
        }
        changing = method != "GET"  # a failed change may or may not have happened
        try:
            response = self.session.request(
                method,
                url,
                json=payload,
                params=params,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            seconds = self.timeout[1]
            log.warning("%s %s %s: no answer within %ss", self.service, method, url, seconds)
            raise self.Unavailable(
                f"The {self.service} service did not answer within {seconds:g} "
                f"second{'' if seconds == 1 else 's'}. Try again in a minute"
                + (
                    "; if you asked for a change, reload the page first to see whether it went "
                    "through."
                    if changing
                    else "."
                ),
                timed_out=True,
            ) from None
        except requests.RequestException as exc:
            log.warning("%s %s %s: %s", self.service, method, url, exc)
            raise self.Unavailable(
                f"The {self.service} service cannot be reached at the moment"
                + ("; nothing was changed" if changing else "")
                + ". Try again in a minute, or ask the studio's administrators to check it."
            ) from None
        if not 200 <= response.status_code < 300:
            raise self._error(method, url, response)
        return response

    def _error(self, method: str, url: str, response: requests.Response) -> ServiceError:
        """The service's ``{"error", "message"}`` as an exception; 5xx (and answers that are not
        the service's, such as the hub proxy's 503 page) as unavailable."""
        status = response.status_code
        code, message = "", ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = str(body.get("error") or "")
            message = str(body.get("message") or "")
        log.warning("%s %s %s: %s %s %s", self.service, method, url, status, code, message)
        if status >= 500 or status < 400:
            return self.Unavailable(
                f"The {self.service} service failed to answer (HTTP {status})"
                + (f": {message}" if message else ".")
                + " Try again later."
            )
        if status in {401, 403} and not message:
            message = f"The {self.service} refused the LMS's credentials (LMS_HUB_SERVICE_TOKEN)."
        message = message or f"The {self.service} refused this (HTTP {status})."
        return self.Refused(status, code or "refused", message)
