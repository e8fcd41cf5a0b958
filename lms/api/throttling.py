"""A scoped throttle for enrolling and leaving (each changes groups in the LMS, the hub and
nbgrader). Its rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["enrollment"]`` when the
settings name one, else ``DEFAULT_RATE``."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class EnrollmentRateThrottle(UserRateThrottle):
    scope = "enrollment"
    DEFAULT_RATE = "30/hour"

    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or self.DEFAULT_RATE
