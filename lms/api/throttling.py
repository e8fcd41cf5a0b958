"""A scoped throttle for enrolling and leaving (each changes groups in the LMS, the hub and
nbgrader). Its rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["enrollment"]``."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class EnrollmentRateThrottle(UserRateThrottle):
    scope = "enrollment"

    def get_rate(self) -> str:
        # Read at request time (DRF's default reads once at import), so settings changes apply.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
