"""Whether a person may open the Wagtail admin: the menu of every page asks (the "Wagtail admin"
link, Wagtail's user bar), and Django would read all of the person's permissions to answer, two
queries a page. Instead the people who hold Wagtail's admin access (``wagtailadmin.
access_admin``, given directly or through a group: staff's and instructors' groups) are read
once per version of the permissions and process (``lms.base.versioned_cache``), one query for
everybody, and the version is replaced whenever anyone's groups or permissions, or a group's
permissions, change (:func:`connect_permission_receivers`). Only the menu reads it; the admin
itself checks permissions as Django does, on every request.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save

from lms.base import versioned_cache

from .models import User

PERMISSIONS = "permissions"
ADMIN_ACCESS = ("wagtailadmin", "access_admin")


def may_use_admin(user) -> bool:
    """Whether ``user`` holds Wagtail's admin access, as Django's ``user.has_perm`` answers it:
    an active superuser always, another active user when the permission is theirs or one of
    their groups'."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.pk in _admin_users()


def _admin_users() -> frozenset[int]:
    app_label, codename = ADMIN_ACCESS
    access = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return versioned_cache.cached(
        PERMISSIONS, "lms.accounts.admin_users", "",
        lambda: frozenset(
            User.objects.filter(Q(user_permissions__in=access) | Q(groups__permissions__in=access))
            .values_list("pk", flat=True)
        ),
    )


def _permissions_changed(sender, **kwargs) -> None:
    versioned_cache.changed(PERMISSIONS)


def connect_permission_receivers() -> None:
    """Replace the permissions version when a person joins or leaves a group, a person's or a
    group's permissions change, or a group or a permission is saved or deleted."""
    for through in (User.groups.through, User.user_permissions.through,
                    Group.permissions.through):
        m2m_changed.connect(_permissions_changed, sender=through,
                            dispatch_uid=f"lms.accounts.permissions:{through._meta.label}")
    for model in (Group, Permission):
        uid = f"lms.accounts.permissions:{model._meta.label}"
        post_save.connect(_permissions_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_permissions_changed, sender=model, dispatch_uid=uid)
