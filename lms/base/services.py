"""Writes that shape the site as a whole."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from .models import HomePage


@transaction.atomic
def ensure_home_page() -> HomePage:
    """Make sure the studio's home page exists and the default site points at it.

    Idempotent. Wagtail's first migration leaves a placeholder "Welcome" page as the site root;
    it is replaced by the studio's home page the first time this runs. A database emptied by
    ``flush`` (as transactional tests leave it) has no tree root or locale at all: they are
    recreated as Wagtail's migrations create them. What goes under the home page is its apps'
    business (the course index: ``lms.courses.services.ensure_site_structure``).
    """
    home = HomePage.objects.first()
    if home is None:
        home = _tree_root().add_child(
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
    return home


def _tree_root() -> Page:
    root = Page.get_first_root_node()
    if root is None:
        language = get_supported_content_language_variant(settings.LANGUAGE_CODE)
        locale, _ = Locale.objects.get_or_create(language_code=language)
        root = Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
    return root
