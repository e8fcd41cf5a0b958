"""The LMS's own endpoints outside its apps' pages: ``/metrics`` for Prometheus, and the view
that serves Wagtail's pages (``serve_page``)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from wagtail import views as wagtail_views
from wagtail.models import Page
from wagtail.url_routing import RouteResult

from servicekit.metrics import DiskSpace, exposition, refusal

from . import versioned_cache
from .models import KNOWN_VIEW_RESTRICTIONS


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: django-prometheus's counts (requests, responses and latency by view,
    database connections and queries), summed over the gunicorn workers, and the free space of
    the file system holding the LMS's uploads (``studio_disk_*{folder="lms"}``). Read with the
    studio's metrics token, the rule of ``servicekit.metrics`` (404 when none is set, 401 with
    another), never with a session: Prometheus is no one's browser."""
    refused = refusal(request.headers.get("Authorization"), settings.STUDIO_METRICS_TOKEN)
    if refused is not None:
        answer = JsonResponse({"error": refused.code, "message": refused.message},
                              status=refused.status)
        for name, value in refused.headers.items():
            answer[name] = value
        return answer
    body, content_type = exposition(DiskSpace({"lms": Path(settings.MEDIA_ROOT)}))
    answer = HttpResponse(body, content_type=content_type)
    answer["Cache-Control"] = "no-store"
    return answer


def serve_page(request: HttpRequest, path: str) -> HttpResponse:
    """Wagtail's page view (``wagtail.views.serve``: its hooks, the page's view restrictions,
    the page's own ``serve``), with the route to the page cached per site and content version
    (``versioned_cache``): Wagtail finds a page by walking the tree from the site's root, two
    queries a level (four levels for a lesson), and the same path leads to the same page until
    a page or a site changes. The site (``versioned_cache.find_site``) and the route are handed
    to Wagtail the way it keeps its own for the request (``Site.find_for_request``,
    ``Page.route_for_request``). The studio's page types route by their path alone (none
    overrides ``route``), so one route serves everyone; a path that leads nowhere is not kept.
    The page's view restrictions are kept with its route (``models.RoutedFromCache``): Wagtail
    checks them before serving, as always."""
    site = versioned_cache.find_site(request)
    key = (site.pk if site else None, path)
    route = versioned_cache.cached(
        versioned_cache.CONTENT, "lms.base.route", key, lambda: _route(request, path)
    )
    if route is not None and not hasattr(request, "_wagtail_route_for_request"):
        request._wagtail_route_for_request = route
    return wagtail_views.serve(request, path)


def _route(request: HttpRequest, path: str) -> RouteResult | None:
    route = Page.route_for_request(request, path)
    if route is not None:
        page = route[0]
        # kept with the route (the page's model reads them from it: ``RoutedFromCache``)
        page.__dict__[KNOWN_VIEW_RESTRICTIONS] = list(page.get_view_restrictions())
    return route
