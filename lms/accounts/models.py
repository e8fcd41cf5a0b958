"""Studio accounts. A custom user from the first migration, so that nothing has to be migrated
away from Django's default later (wagtail/news-template does the same)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from .sessions import SignInSession  # noqa: F401 - a model of this app (lms/accounts/sessions.py)
from .usernames import USERNAME_RULE, HubUsernameValidator, normalize_username


class Role(models.TextChoices):
    """What a person is in the studio as a whole. What they are *in a course* (learner or
    instructor) is their enrollment's role; staff run the studio and are hub admins."""

    LEARNER = "learner", "Learner"
    INSTRUCTOR = "instructor", "Instructor"
    STAFF = "staff", "Staff"


class StudioUserManager(UserManager):
    def get_by_natural_key(self, username: str):
        return self.get(**{self.model.USERNAME_FIELD: normalize_username(username)})

    def _create_user(self, username, email, password, **extra_fields):
        return super()._create_user(normalize_username(username), email, password, **extra_fields)

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.STAFF)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person with one studio account: the same name in the LMS, the hub and nbgrader."""

    username = models.CharField(
        "username",
        max_length=32,
        unique=True,
        help_text=USERNAME_RULE,
        validators=[HubUsernameValidator()],
        error_messages={"unique": "A user with that username already exists."},
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LEARNER)

    objects = StudioUserManager()

    class Meta:
        ordering = ["username"]

    def clean(self) -> None:
        super().clean()
        self.username = normalize_username(self.username)

    def save(self, *args, **kwargs) -> None:
        self.username = normalize_username(self.username)
        # Staff is a role; Django's flag follows it so the admin sites agree with the role.
        if self.role == Role.STAFF:
            self.is_staff = True
        super().save(*args, **kwargs)

    @property
    def is_studio_staff(self) -> bool:
        return self.is_superuser or self.role == Role.STAFF

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
