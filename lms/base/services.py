"""Writes that shape the site as a whole."""

from __future__ import annotations

from django.db import transaction
from wagtail.models import Page, Site

from lms.courses.models import CourseIndexPage

from .models import HomePage


@transaction.atomic
def ensure_site_structure() -> CourseIndexPage:
    """Make sure the page tree is home → courses and the default site points at home.

    Idempotent. Wagtail's first migration leaves a placeholder "Welcome" page as the site root;
    it is replaced by the studio's home page the first time this runs.
    """
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        home = root.add_child(
            instance=HomePage(
                title="Python Learning Studio",
                slug="studio",  # a root page's slug never shows in URLs
                intro="Learn Python in JupyterLab, with autograded exercises and a tutor that "
                "teaches instead of handing out answers.",
            )
        )
        site = Site.objects.filter(is_default_site=True).first()
        placeholder = site.root_page if site else None
        if site is None:
            Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
        else:
            site.root_page = home
            site.save()
        if placeholder is not None and type(placeholder.specific) is Page:
            placeholder.delete()
    index = CourseIndexPage.objects.child_of(home).first()
    if index is None:
        index = home.add_child(
            instance=CourseIndexPage(
                title="Courses", slug="courses", intro="Courses you can take in the studio."
            )
        )
    return index
