"""The course folders as the hub sees them: slugs, images, profiles and a user's courses.

Read through ``courses.course_file.load_course`` (the one reader of ``course.yml`` shared with the
LMS and the grader). A course folder that fails to load is logged and skipped, so one broken
``course.yml`` cannot stop the hub or other courses' spawns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from courses.course_file import COURSE_FILE_NAME, CourseFileError, CourseSpec, load_course
from courses.naming import STAFF_GROUP, instructor_courses, learner_courses

log = logging.getLogger(__name__)


def is_enrolled(groups: Iterable[str]) -> bool:
    """Staff, or a learner or instructor of at least one course."""
    groups = set(groups)
    return STAFF_GROUP in groups or bool(learner_courses(groups) or instructor_courses(groups))


class CourseCatalog:
    """The courses under one folder, loaded once and reloaded with :meth:`reload`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._courses: dict[str, CourseSpec] | None = None

    def reload(self) -> None:
        self._courses = None

    @property
    def courses(self) -> dict[str, CourseSpec]:
        if self._courses is None:
            self._courses = self._load()
        return self._courses

    def slugs(self) -> list[str]:
        return sorted(self.courses)

    def get(self, slug: str) -> CourseSpec | None:
        return self.courses.get(slug)

    def _load(self) -> dict[str, CourseSpec]:
        found: dict[str, CourseSpec] = {}
        if not self.root.is_dir():
            log.warning("Course folder %s does not exist: no courses", self.root)
            return found
        for course_file in sorted(self.root.glob(f"*/{COURSE_FILE_NAME}")):
            try:
                course = load_course(course_file.parent)
            except CourseFileError as exc:
                log.error("Skipping a course that cannot be read: %s", exc)
                continue
            if course.slug != course_file.parent.name:
                log.error(
                    "Skipping %s: its slug %r differs from its folder name",
                    course_file,
                    course.slug,
                )
                continue
            found[course.slug] = course
        return found
