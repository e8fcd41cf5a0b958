from django.utils.functional import SimpleLazyObject

from lms.base import versioned_cache

from .models import CourseIndexPage


def _catalogue_url() -> str:
    """The course index's URL, asked of Wagtail without the request: Wagtail then takes the
    sites' root paths from its cache instead of looking up the request's site in the database
    on every page; with one site, the studio's, the URL is the same relative path (with
    several, the index's full URL). Kept per process for one content version
    (``lms.base.versioned_cache``: publishing, moving or renaming a page, or a site's change,
    makes a new one)."""
    return versioned_cache.cached(
        versioned_cache.CONTENT, "lms.courses.catalogue_url", "", _index_url
    )


def _index_url() -> str:
    index = CourseIndexPage.objects.live().only("url_path").first()
    return (index.get_url() if index is not None else None) or "/"


def catalogue(request):
    """``catalogue_url``, the course index's URL, for every template (the navigation, the home
    page, the breadcrumbs), looked up only when a template uses it."""
    return {"catalogue_url": SimpleLazyObject(_catalogue_url)}
