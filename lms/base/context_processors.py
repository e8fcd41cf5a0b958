from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _catalogue_url(request) -> str:
    from lms.courses.models import CourseIndexPage

    index = CourseIndexPage.objects.live().first()
    return (index.get_url(request) if index is not None else None) or "/"


def studio(request):
    """Values every template may use: the site name, the hub's public URL and the catalogue's
    URL (looked up only when a template uses it)."""
    return {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "hub_url": settings.STUDIO_HUB_URL,
        "catalogue_url": SimpleLazyObject(lambda: _catalogue_url(request)),
    }
