"""The site's home page. Everything course-related lives in lms.courses."""

from __future__ import annotations

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.models import Page


class RoutedFromCache:
    """Mixed into the studio's page models (before ``Page``): a page the LMS serves from its
    cached route (``lms.base.views.serve_page``) carries its view restrictions (those of the
    page and of its ancestors, as Wagtail reads them), cached with the route, so Wagtail's check
    before serving it (``check_view_restrictions``) asks the database nothing. Any other copy of
    the page (the admin's, a selector's) reads them from the database as Wagtail does."""

    def get_view_restrictions(self):
        known = self.__dict__.get(KNOWN_VIEW_RESTRICTIONS)
        return super().get_view_restrictions() if known is None else known


KNOWN_VIEW_RESTRICTIONS = "_lms_view_restrictions_of_route"


class HomePage(RoutedFromCache, Page):
    """The studio's front page: what the studio is, and the way in (sign in, the catalogue)."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["courses.CourseIndexPage"]
    max_count = 1


class CacheVersion(models.Model):
    """A row per kind of data the LMS's processes cache answers from, whose ``value`` is
    replaced by a new random number whenever data of that kind changes
    (``lms.base.versioned_cache``)."""

    kind = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.kind} version {self.value}"
