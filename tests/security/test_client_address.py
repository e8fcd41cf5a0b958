"""The client's address, for the sign-in throttle and the API's anonymous rate limit: the peer,
unless the peer is a proxy listed in ``LMS_TRUSTED_PROXIES``; then the first hop of
``X-Forwarded-For`` from the right that no listed proxy has. A header a client sends itself
never picks the address it is counted under."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from rest_framework.settings import api_settings

from lms.api.throttling import AnonymousRateThrottle, CallerRateThrottle, EnrollmentRateThrottle
from lms.base.client_address import client_address
from tests.support.lms_factories import PASSWORD, UserFactory

FRONT = "172.18.0.5"  # the front proxy, as compose's backend network would address it


def address(peer: str, forwarded: str | None = None) -> str | None:
    headers = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **headers))


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards(settings):
    settings.LMS_TRUSTED_PROXIES = []
    assert address("203.0.113.7", forwarded="10.9.9.9") == "203.0.113.7"


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    (FRONT, "203.0.113.7", "203.0.113.7"),  # what nginx sends: the address it saw
    (FRONT, "10.9.9.9, 203.0.113.7", "203.0.113.7"),  # the client's own header, then nginx's
    (FRONT, "garbage, 203.0.113.7", "203.0.113.7"),
    (FRONT, "203.0.113.7, 172.19.0.2", "203.0.113.7"),  # a TLS terminator in front of nginx
    (FRONT, "", FRONT),  # the proxy's own request
    (FRONT, "not-an-address", FRONT),
    ("198.51.100.4", "203.0.113.7", "198.51.100.4"),  # not a proxy: its header is ignored
])
def test_a_trusted_proxys_forwarded_address_is_the_client(settings, peer, forwarded, client):
    settings.LMS_TRUSTED_PROXIES = [FRONT, "172.19.0.0/16"]
    assert address(peer, forwarded) == client


def test_a_proxy_may_be_named_by_its_host_name(settings):
    settings.LMS_TRUSTED_PROXIES = ["localhost"]
    assert address("127.0.0.1", forwarded="203.0.113.7") == "203.0.113.7"
    assert address("198.51.100.4", forwarded="203.0.113.7") == "198.51.100.4"


@pytest.mark.parametrize("throttle", [AnonymousRateThrottle, CallerRateThrottle,
                                      EnrollmentRateThrottle])
def test_an_api_caller_cannot_pick_its_rate_limit_identity(settings, throttle):
    """DRF's own throttles key an anonymous caller on any X-Forwarded-For it sends; the LMS's
    key it on the client's address by the one rule."""
    settings.LMS_TRUSTED_PROXIES = []
    for forwarded in ("10.0.0.1", "10.0.0.2, 10.0.0.3"):
        request = RequestFactory().get("/api/v1/", REMOTE_ADDR="203.0.113.7",
                                       HTTP_X_FORWARDED_FOR=forwarded)
        assert throttle().get_ident(request) == "203.0.113.7"


def test_the_api_is_throttled_by_those_throttles():
    throttles = api_settings.DEFAULT_THROTTLE_CLASSES
    assert throttles == [AnonymousRateThrottle, CallerRateThrottle]


@pytest.mark.django_db
def test_sign_in_failures_count_against_the_forwarded_address_only_from_the_proxy(settings):
    settings.LMS_TRUSTED_PROXIES = [FRONT]
    settings.AXES_FAILURE_LIMIT = 3
    settings.LMS_LOGIN_FAILURES_PER_ADDRESS = 3
    UserFactory(username="grace")

    def sign_in(peer, forwarded, username):
        return Client(REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded).post(
            "/login/", {"username": username, "password": "wrong"})

    for n in range(3):  # one guesser behind the proxy, pretending to be many
        sign_in(FRONT, f"10.0.0.{n}, 203.0.113.7", f"someone{n}")

    counted = set(AccessAttempt.objects.values_list("ip_address", flat=True))
    assert counted == {"203.0.113.7"}
    grace_elsewhere = Client(REMOTE_ADDR=FRONT, HTTP_X_FORWARDED_FOR="198.51.100.20")
    response = grace_elsewhere.post("/login/", {"username": "grace", "password": PASSWORD})
    assert response.status_code == 302  # the proxy itself is not locked out: only the guesser
    spoofed = Client(REMOTE_ADDR="198.51.100.30", HTTP_X_FORWARDED_FOR="203.0.113.99")
    spoofed.post("/login/", {"username": "grace", "password": "wrong"})
    assert AccessAttempt.objects.filter(ip_address="198.51.100.30").exists()
