"""The site's home page. Everything course-related lives in lms.courses."""

from __future__ import annotations

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.models import Page


class HomePage(Page):
    """The studio's front page: what the studio is, and the way in (sign in, the catalogue)."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["courses.CourseIndexPage"]
    max_count = 1
