"""Import a course folder (``courses/<slug>/course.yml``) into the LMS page tree.

The whole course.yml is validated by the shared reader before anything is written, and the writes
run in one transaction: a bad file changes nothing. Importing the same folder twice changes
nothing either: pages are matched by slug (lessons) or nbgrader name (assignments), and a page is
saved and published only when one of its fields differs. Lessons and assignments that disappeared
from course.yml are unpublished, never deleted, because learners' progress and grades point at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import markdown
from django.db import transaction
from wagtail.models import Page

from courses.course_file import AssignmentSpec, CourseSpec, LessonSpec, load_course
from courses.naming import assignment_page_slug
from lms.accounts.models import User

from .models import AssignmentPage, CoursePage, EnrollmentRole, LessonPage
from .services import enroll, ensure_site_structure


@dataclass
class ImportReport:
    """What an import did, for the command's output and for tests."""

    course: CoursePage
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.unpublished)


def import_course(folder: Path | str) -> ImportReport:
    """Create or update the course in ``folder``; raises CourseFileError before any write."""
    spec = load_course(folder)
    with transaction.atomic():
        return _CourseImport(spec).run()


def _markdown_paragraphs(text: str) -> list[dict[str, Any]]:
    if not text:
        return []
    html = markdown.markdown(text, extensions=["tables", "fenced_code"])
    return [{"type": "paragraph", "value": html}]


def _differs(current: Any, wanted: Any) -> bool:
    """Field comparison; a StreamField compares by its blocks' types and values (not ids)."""
    if hasattr(current, "stream_block"):
        blocks = [(b["type"], b["value"]) for b in current.get_prep_value()]
        return blocks != [(b["type"], b["value"]) for b in wanted]
    return current != wanted


def _assign(page: Page, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(page, name, value)


def _save_if_changed(page: Page, values: dict[str, Any]) -> bool:
    """Apply ``values``; save and publish a revision only if a field changed (or it was
    unpublished), so a repeated import adds no revisions."""
    changed = [name for name, value in values.items() if _differs(getattr(page, name), value)]
    _assign(page, {name: values[name] for name in changed})
    if changed or not page.live:
        page.save_revision().publish()
        return True
    return False


class _CourseImport:
    def __init__(self, spec: CourseSpec) -> None:
        self.spec = spec
        self.report: ImportReport

    def run(self) -> ImportReport:
        spec = self.spec
        values = {
            "title": spec.title,
            "summary": spec.summary,
            "syllabus": _markdown_paragraphs(spec.syllabus),
            "enrollment_open": spec.enrollment == "open",
            "notebook_image": spec.image,
            "resource_profile": spec.profile,
            "grading_mode": spec.grading,
        }
        course = CoursePage.objects.filter(slug=spec.slug).first()
        if course is None:
            course = CoursePage(slug=spec.slug)
            _assign(course, values)
            ensure_site_structure().add_child(instance=course)
            course.save_revision().publish()
            self.report = ImportReport(course=course, created=[f"course {spec.slug}"])
        else:
            self.report = ImportReport(course=course)
            if _save_if_changed(course, values):
                self.report.updated.append(f"course {spec.slug}")
        lessons = [self.lesson_values(i, lesson) for i, lesson in enumerate(spec.lessons)]
        self.sync_children(course, LessonPage, "slug", lessons)
        assignments = [self.assignment_values(a) for a in spec.assignments]
        self.sync_children(course, AssignmentPage, "nbgrader_name", assignments)
        self.enroll_instructors(course)
        return self.report

    @staticmethod
    def lesson_values(position: int, lesson: LessonSpec) -> dict[str, Any]:
        return {
            "slug": lesson.slug,
            "title": lesson.title,
            "summary": lesson.summary,
            "notebook_path": lesson.notebook,
            "position": position,
            "body": [{"type": "notebook", "value": {"path": lesson.notebook}}],
        }

    @staticmethod
    def assignment_values(assignment: AssignmentSpec) -> dict[str, Any]:
        policy = assignment.late_policy
        return {
            "slug": assignment_page_slug(assignment.name),
            "nbgrader_name": assignment.name,
            "title": assignment.title,
            "summary": assignment.summary,
            "points": Decimal(str(assignment.points)),
            "release_at": assignment.release,
            "due_at": assignment.due,
            "late_policy": policy.mode,
            "late_percent_per_day": Decimal(str(policy.percent_per_day)),
            "late_cutoff_days": policy.cutoff_days,
            "tutor_policy": assignment.tutor,
            "hints": list(assignment.hints),
            "peer_review": assignment.peer_review.as_json() if assignment.peer_review.enabled
            else {},
        }

    def sync_children(
        self, course: CoursePage, model: type[Page], key: str, wanted: list[dict[str, Any]]
    ) -> None:
        """Create, update or unpublish ``model`` pages under ``course`` to match ``wanted``."""
        existing = {getattr(p, key): p for p in model.objects.child_of(course)}
        kind = model._meta.verbose_name
        for values in wanted:
            page = existing.pop(values[key], None)
            if page is None:
                page = model()
                _assign(page, values)
                course.add_child(instance=page)
                page.save_revision().publish()
                self.report.created.append(f"{kind} {values[key]}")
            elif _save_if_changed(page, values):
                self.report.updated.append(f"{kind} {values[key]}")
        for name, page in existing.items():
            if page.live:
                page.unpublish()
                self.report.unpublished.append(f"{kind} {name}")

    def enroll_instructors(self, course: CoursePage) -> None:
        users = {u.username: u for u in User.objects.filter(username__in=self.spec.instructors)}
        for username in self.spec.instructors:
            user = users.get(username)
            if user is None:
                self.report.warnings.append(
                    f"instructor {username!r} has no account yet: enroll them after they sign up"
                )
                continue
            enroll(user, course, EnrollmentRole.INSTRUCTOR)
