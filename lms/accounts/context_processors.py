from django.utils.functional import SimpleLazyObject

from .permissions import may_use_admin


def admin_access(request):
    """``may_use_admin`` for every template (the menu's "Wagtail admin" link and Wagtail's user
    bar), looked up only when a template uses it, from the cache of ``permissions``."""
    user = getattr(request, "user", None)
    return {"may_use_admin": SimpleLazyObject(lambda: user is not None and may_use_admin(user))}
