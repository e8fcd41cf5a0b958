"""The LMS's password backend (``AUTHENTICATION_BACKENDS``, after the throttle of
``lms/accounts/signin.py``)."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from lms.base.request_memo import recall

from .sessions import SESSION_PERSON, person_id


class UserBackend(ModelBackend):
    """Django's ``ModelBackend``, taking the signed-in person read with the session when there
    is one (the request's memo), else reading them as Django does."""

    def get_user(self, user_id):
        pk = person_id(user_id)
        person = recall((SESSION_PERSON, pk)) if pk is not None else None
        if person is None:
            return super().get_user(user_id)
        return person if self.user_can_authenticate(person) else None
