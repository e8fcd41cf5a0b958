"""The accounts app in the Wagtail admin: where an admin unlocks a locked-out sign-in.

The failed sign-ins that make a lockout are django-axes' access attempts, listed in the Django
admin (``/django-admin/axes/accessattempt/``): deleting a person's rows (search by username) or
an address's rows unlocks them at once (``lms.accounts.signin``). The Wagtail admin's Settings
menu links there for those who may delete them (staff).
"""

from __future__ import annotations

from django.urls import reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

UNLOCK_PERMISSION = "axes.delete_accessattempt"


class LockoutsMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.has_perm(UNLOCK_PERMISSION)


@hooks.register("register_settings_menu_item")
def lockouts_menu_item() -> MenuItem:
    return LockoutsMenuItem(
        "Sign-in lockouts",
        reverse("admin:axes_accessattempt_changelist"),
        name="sign-in-lockouts",
        icon_name="lock",
        order=900,
    )
