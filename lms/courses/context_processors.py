from django.utils.functional import SimpleLazyObject

from .models import CourseIndexPage


def _catalogue_url() -> str:
    """The course index's URL, asked of Wagtail without the request: Wagtail then takes the
    sites' root paths from its cache instead of looking up the request's site in the database
    on every page (a query and a good part of a page's time); with one site, the studio's, the
    URL is the same relative path (with several, the index's full URL)."""
    index = CourseIndexPage.objects.live().only("url_path").first()
    return (index.get_url() if index is not None else None) or "/"


def catalogue(request):
    """``catalogue_url``, the course index's URL, for every template (the navigation, the home
    page, the breadcrumbs), looked up only when a template uses it."""
    return {"catalogue_url": SimpleLazyObject(_catalogue_url)}
