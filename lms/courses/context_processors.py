from django.utils.functional import SimpleLazyObject

from lms.base import versioned_cache

from .models import CourseIndexPage


def _catalogue_url(request) -> str:
    index = versioned_cache.cached(
        versioned_cache.CONTENT, "lms.courses.catalogue_page", "",
        lambda: CourseIndexPage.objects.live().first(),
    )
    return (index.get_url(request) if index is not None else None) or "/"


def catalogue(request):
    """``catalogue_url``, the course index's URL, for every template (the navigation, the home
    page, the breadcrumbs), looked up only when a template uses it (the page once per content
    version, ``lms.base.versioned_cache``)."""
    return {"catalogue_url": SimpleLazyObject(lambda: _catalogue_url(request))}
