"""What a course page shows is assembled from parts, each from the app that owns it.

The course pages are Wagtail pages of this app, and Wagtail asks the page model for its template
context (``Page.get_context``). Part of what they show belongs to apps above courses, which
courses never imports (docs/architecture.md, "The LMS, app by app"): the course page lists the
learner's grades, the assignment page shows a grade and the instructors' grading panel, both the
gradebook's. So a page's context is built by *providers*, registered in Wagtail's hook registry
(each app's ``wagtail_hooks.py``) under the page's hook name below:

    provider(page, request, context) -> dict

``context`` is what the page has so far (Wagtail's ``page``, ``request``, ``self``, then the
parts of the providers before); the dict returned is added to it. The page's own part is
courses' provider, registered with ``order=OWN`` so that it comes first; others run in Wagtail's
hook order (``order``, then ``INSTALLED_APPS``). A provider may raise ``PermissionDenied`` or
``Http404`` as a view would.
"""

from __future__ import annotations

from typing import Any

from wagtail import hooks

COURSE_INDEX_PAGE = "lms_course_index_page_context"
COURSE_PAGE = "lms_course_page_context"
LESSON_PAGE = "lms_lesson_page_context"
ASSIGNMENT_PAGE = "lms_assignment_page_context"
DASHBOARD = "lms_dashboard_context"
"""The learner's dashboard (no page: ``page`` is None). A provider adds to ``panels``, each a
dict with the ``template`` that shows it, so that apps above the dashboard's owner add a panel
without it knowing them."""

OWN = -100
"""The hook order of a page's own part (courses' providers): before every other app's."""


def build(hook_name: str, page, request, context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with the part of every provider registered under ``hook_name`` added."""
    for provider in hooks.get_hooks(hook_name):
        context.update(provider(page, request, context))
    return context


class ContextFromProviders:
    """Mixed into a page model: its context is Wagtail's plus the parts of the providers
    registered under ``context_hook``."""

    context_hook: str

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        return build(self.context_hook, self, request, context)
