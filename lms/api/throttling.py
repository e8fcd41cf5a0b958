"""The API's rate limits: per caller, per anonymous client address, and a scoped one for
enrolling and leaving (each changes groups in the LMS, the hub and nbgrader). Rates are
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``LMS_API_THROTTLE_*``).

An anonymous client is known by its address as ``lms.base.client_address`` tells it, never by
an ``X-Forwarded-For`` it sent itself (DRF's own ``get_ident`` takes that header from anyone,
so a client could pick a fresh identity per request)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from lms.base.client_address import client_address


class ClientAddressIdent:
    """The throttles' ``get_ident``: the client's address by the LMS's one rule."""

    def get_ident(self, request) -> str:
        return client_address(request) or ""


class AnonymousRateThrottle(ClientAddressIdent, AnonRateThrottle):
    pass


class CallerRateThrottle(ClientAddressIdent, UserRateThrottle):
    pass


class EnrollmentRateThrottle(CallerRateThrottle):
    scope = "enrollment"

    def get_rate(self) -> str:
        # Read at request time (DRF's default reads once at import), so settings changes apply.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
