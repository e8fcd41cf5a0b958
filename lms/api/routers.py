"""The API router: DRF's DefaultRouter, plus ``PUT`` on a collection for idempotent upserts whose
key is in the body (``PUT grades/``, ``PUT progress/``), mapped to the viewset's
``put_collection``. Viewsets without that method do not get the route."""

from __future__ import annotations

from rest_framework.routers import APIRootView, DefaultRouter

from .base import StudioAPIMixin


class StudioAPIRootView(StudioAPIMixin, APIRootView):
    """Python Learning Studio API v1. The OpenAPI schema is at schema/, its docs at docs/."""

    schema = None  # not an operation of the API: the schema leaves it out, as DRF's root does


class StudioRouter(DefaultRouter):
    APIRootView = StudioAPIRootView
    routes = [
        route._replace(mapping={**route.mapping, "put": "put_collection"})
        if route.name == "{basename}-list"
        else route
        for route in DefaultRouter.routes
    ]
