"""A signed-in page reads its session and its person in one query (lms/accounts/sessions.py,
lms/accounts/backends.py), and checks what Django's sessions check."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms.accounts.sessions import SignInSession
from tests.support.lms_factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"  # a page that needs a signed-in person and reads little else


def person_queries(client) -> list[str]:
    """The queries of ``GET /api/v1/me/`` that read a session or a person."""
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(ME)
    assert answer.status_code == 200
    return [q["sql"] for q in queries
            if "accounts_signinsession" in q["sql"] or 'FROM "accounts_user"' in q["sql"]]


def test_the_session_row_names_its_person(client):
    person = UserFactory()
    client.force_login(person)
    row = SignInSession.objects.get(session_key=client.session.session_key)
    assert row.user_id == person.pk
    assert row.get_decoded()[SESSION_KEY] == str(person.pk)


def test_a_signed_in_page_reads_the_session_and_its_person_in_one_query(client):
    client.force_login(UserFactory())
    reads = person_queries(client)
    assert len(reads) == 1
    assert "JOIN" in reads[0]


def test_a_person_who_may_no_longer_sign_in_is_signed_out(client):
    person = UserFactory()
    client.force_login(person)
    person.is_active = False
    person.save()
    assert client.get(ME).status_code in (401, 403)


def test_a_changed_password_signs_out_other_sessions(client):
    person = UserFactory()
    client.force_login(person)
    person.set_password("a-new-password-for-tests")
    person.save()
    assert client.get(ME).status_code in (401, 403)


def test_deleting_a_person_deletes_their_sessions(client):
    person = UserFactory()
    client.force_login(person)
    person.delete()
    assert not SignInSession.objects.exists()


def test_signing_out_ends_the_session(client):
    client.force_login(UserFactory())
    client.post("/logout/")
    assert client.get(ME).status_code in (401, 403)
    assert not SignInSession.objects.filter(user__isnull=False).exists()
