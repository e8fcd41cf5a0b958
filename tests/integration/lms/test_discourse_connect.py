"""The LMS as a DiscourseConnect provider, against Discourse's side of the protocol played by
pydiscourse's SSO helpers: a signed request, the browser through the LMS (signing in when it must),
and the signed answer Discourse would accept; and every request Discourse must not get an answer
to refused with a 400 page and a log line."""

from __future__ import annotations

import base64
import logging
import secrets
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from django.utils import timezone
from pydiscourse.sso import sso_payload, sso_validate

from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from lms.discourse.models import UsedNonce
from lms.discourse.services import NONCE_MEMORY
from tests.support.fake_discourse import CONNECT_SECRET as DISCOURSE_CONNECT_SECRET
from tests.support.lms_factories import PASSWORD, CourseFactory

pytestmark = pytest.mark.django_db

SSO = "/discourse/sso"


class DiscoursePeer:
    """Discourse's side: signs a request for a fresh nonce, and reads the LMS's answer as
    Discourse's ``DiscourseConnect.parse`` does (signature first, then the fields)."""

    def __init__(self, url: str, secret: str = DISCOURSE_CONNECT_SECRET) -> None:
        self.return_url = f"{url}/session/sso_login"
        self.secret = secret
        self.nonce = secrets.token_hex(16)

    def request_query(self, **fields) -> str:
        return sso_payload(self.secret, **{"nonce": self.nonce,
                                           "return_sso_url": self.return_url, **fields})

    def request_url(self, **fields) -> str:
        return f"{SSO}?{self.request_query(**fields)}"

    def read_answer(self, location: str) -> dict[str, str]:
        assert location.startswith(f"{self.return_url}?")
        query = parse_qs(urlsplit(location).query)
        assert sso_validate(query["sso"][0], query["sig"][0], self.secret) == self.nonce
        return dict(parse_qsl(base64.b64decode(query["sso"][0]).decode(),
                              keep_blank_values=True))


@pytest.fixture
def peer(discourse):
    return DiscoursePeer(discourse)


@pytest.fixture
def second_course(db):
    return CourseFactory(slug="data-201", title="Data 201")


def test_a_signed_in_learner_is_answered_with_who_they_are_signed_for_discourse(
    client, peer, learner, course, second_course
):
    client.force_login(learner)

    response = client.get(peer.request_url())

    assert response.status_code == 302
    answer = peer.read_answer(response["Location"])
    assert answer == {
        "nonce": peer.nonce,
        "external_id": str(learner.pk),
        "email": "grace@example.org",
        "username": "grace",
        "name": learner.get_full_name(),
        "admin": "false",
        "moderator": "false",
        "add_groups": "course-python-101",
        "remove_groups": "course-data-201",
        "require_activation": "false",
    }


def test_external_id_is_the_account_not_its_username(client, peer, learner):
    learner.username = "grace-hopper"
    learner.save()
    client.force_login(learner)

    answer = peer.read_answer(client.get(peer.request_url())["Location"])

    assert answer["external_id"] == str(learner.pk)
    assert answer["username"] == "grace-hopper"


def test_staff_are_discourse_admins(client, peer, staff, course):
    client.force_login(staff)

    answer = peer.read_answer(client.get(peer.request_url())["Location"])

    assert (answer["admin"], answer["moderator"]) == ("true", "false")
    assert answer["remove_groups"] == "course-python-101"
    assert "add_groups" not in answer


def test_instructors_join_their_course_group_but_moderate_no_whole_forum(
    client, peer, instructor, course, second_course
):
    client.force_login(instructor)

    answer = peer.read_answer(client.get(peer.request_url())["Location"])

    assert (answer["admin"], answer["moderator"]) == ("false", "false")
    assert answer["add_groups"] == "course-python-101"
    assert answer["remove_groups"] == "course-data-201"


def test_a_learner_of_two_courses_gets_both_groups(client, peer, learner, course, second_course):
    enroll(learner, second_course, EnrollmentRole.LEARNER)
    client.force_login(learner)

    answer = peer.read_answer(client.get(peer.request_url())["Location"])

    assert answer["add_groups"] == "course-data-201,course-python-101"
    assert "remove_groups" not in answer


def test_an_account_without_an_email_is_refused_and_its_nonce_stays_usable(client, peer, learner):
    learner.email = ""
    learner.save()
    client.force_login(learner)

    response = client.get(peer.request_url())

    assert response.status_code == 400
    assert "no email address" in response.content.decode()
    assert not UsedNonce.objects.exists()


def test_an_anonymous_visitor_signs_in_to_the_lms_and_comes_back_answered(client, peer, learner):
    url = peer.request_url()

    response = client.get(url)

    assert response.status_code == 302
    login = response["Location"]
    assert login.startswith("/login/?next=")
    assert parse_qs(urlsplit(login).query)["next"] == [url]

    form = client.post(login, {"username": "grace", "password": PASSWORD})
    assert form.status_code == 302 and form["Location"] == url
    answer = peer.read_answer(client.get(form["Location"])["Location"])
    assert answer["external_id"] == str(learner.pk)


def test_a_replayed_request_is_refused(client, peer, learner, caplog):
    client.force_login(learner)
    url = peer.request_url()
    assert client.get(url).status_code == 302

    with caplog.at_level(logging.WARNING, logger="lms.discourse"):
        replay = client.get(url)

    assert replay.status_code == 400
    assert "answered already" in replay.content.decode()
    assert "refused a sign-in request for grace" in caplog.text


def test_a_payload_whose_nonce_was_answered_stays_refused_for_the_nonces_lifetime(
    client, peer, learner
):
    """DiscourseConnect's payloads expire on Discourse's side (its nonces live 10 minutes); the
    provider refuses a nonce it answered for longer than that, then forgets it."""
    UsedNonce.objects.create(nonce=peer.nonce,
                             used_at=timezone.now() - NONCE_MEMORY + timezone.timedelta(minutes=1))
    UsedNonce.objects.create(nonce="long-gone", used_at=timezone.now() - NONCE_MEMORY * 2)
    client.force_login(learner)

    assert client.get(peer.request_url()).status_code == 400
    assert not UsedNonce.objects.filter(nonce="long-gone").exists()


def test_the_same_nonce_another_user_answered_is_refused(client, peer, learner, other_learner):
    client.force_login(learner)
    url = peer.request_url()
    assert client.get(url).status_code == 302
    client.force_login(other_learner)

    assert client.get(url).status_code == 400


def test_a_tampered_payload_is_refused(client, peer, learner, caplog):
    client.force_login(learner)
    query = parse_qs(peer.request_query())
    forged = base64.b64encode(
        urlencode({"nonce": peer.nonce, "return_sso_url": "https://evil.example/steal"}).encode()
    ).decode()

    with caplog.at_level(logging.WARNING, logger="lms.discourse"):
        response = client.get(SSO, {"sso": forged, "sig": query["sig"][0]})

    assert response.status_code == 400
    assert "signature does not match" in response.content.decode()
    assert "signature does not match" in caplog.text
    assert not UsedNonce.objects.exists()


def test_a_request_signed_with_another_secret_is_refused(client, discourse, learner):
    client.force_login(learner)

    response = client.get(DiscoursePeer(discourse, secret="not-the-school-secret").request_url())

    assert response.status_code == 400


@pytest.mark.parametrize("drop", ["sig", "sso", "both"])
def test_an_unsigned_request_is_refused(client, peer, learner, drop):
    client.force_login(learner)
    query = {k: v[0] for k, v in parse_qs(peer.request_query()).items()}
    for name in (["sig", "sso"] if drop == "both" else [drop]):
        query.pop(name)

    response = client.get(SSO, query)

    assert response.status_code == 400
    assert "not signed" in response.content.decode()


def test_an_unsigned_request_is_refused_before_asking_anyone_to_sign_in(client, peer):
    response = client.get(SSO, {"sso": parse_qs(peer.request_query())["sso"][0]})

    assert response.status_code == 400


def test_a_signed_request_answering_somewhere_else_is_refused(client, peer, learner):
    client.force_login(learner)

    response = client.get(peer.request_url(return_sso_url="https://evil.example/session/sso_login"))

    assert response.status_code == 400
    assert "somewhere other than this school" in response.content.decode()


def test_a_signed_request_without_a_nonce_is_refused(client, discourse, learner):
    client.force_login(learner)
    query = sso_payload(DISCOURSE_CONNECT_SECRET,
                        return_sso_url=f"{discourse}/session/sso_login")

    assert client.get(f"{SSO}?{query}").status_code == 400


def test_the_answer_keeps_the_query_of_the_return_url(client, peer, learner):
    client.force_login(learner)
    peer.return_url = f"{peer.return_url}?origin=/c/python-101"

    response = client.get(peer.request_url())

    assert response["Location"].startswith(f"{peer.return_url}&sso=")


def test_without_discourse_the_endpoint_does_not_exist(client, learner):
    client.force_login(learner)
    query = sso_payload("any", nonce="n", return_sso_url="https://forum.school.example/x")

    assert client.get(f"{SSO}?{query}").status_code == 404


def test_an_inactive_account_gets_no_answer(client, peer, learner):
    url = peer.request_url()
    client.force_login(learner)
    learner.is_active = False
    learner.save()

    response = client.get(url)

    assert response.status_code == 302 and response["Location"].startswith("/login/")

