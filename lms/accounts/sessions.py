"""Signed-in browsers' sessions, read with their person in one query.

With Django's database sessions, a signed-in page costs two queries before any of its own: the
session's row, then its person (``django.contrib.auth.get_user`` asks the backend that signed
them in for the user whose id the session holds). This is Django's database session engine,
extended as its documentation shows ("Extending database-backed session engines"): the session
row keeps its person's id in a column of its own (:class:`SignInSession`, filled from the
session's ``_auth_user_id`` each time the session is saved), and is read joined to that person;
:class:`lms.accounts.backends.UserBackend` (the LMS's password backend, Django's
``ModelBackend`` otherwise) takes the person so read from the request's memo
(``lms.base.request_memo``) instead of reading them again.
What is checked does not change: the person comes from the row in the same database, a person
who may no longer sign in (``is_active``) is refused, and Django still checks the session's
password hash. Deleting a person deletes their sessions.

``SESSION_ENGINE = "lms.accounts.sessions"`` (``lms/settings/base.py``). ``clearsessions`` removes
expired rows, as with Django's engine.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.db import models

from lms.base.request_memo import remembered

SESSION_PERSON = "lms.accounts.session_person"  # the request memo's key, with the person's id


class SignInSessionManager(BaseSessionManager):
    def get_queryset(self):
        return super().get_queryset().select_related("user")


class SignInSession(AbstractBaseSession):
    """Django's session row, with the id of the person signed in with it (none before)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )

    objects = SignInSessionManager()

    class Meta:
        app_label = "accounts"
        verbose_name = "session"

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        return SignInSession

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.user_id = person_id(data.get(SESSION_KEY))
        return row

    def load(self):
        row = self._get_session_from_db()
        if row is None:
            return {}
        if row.user is not None:
            remembered((SESSION_PERSON, row.user.pk), lambda: row.user)
        return self.decode(row.session_data)


def person_id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
