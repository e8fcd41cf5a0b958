"""``recount_grades [--course SLUG]``: apply every assignment's due date and late policy to its
grades again and choose again which grade counts. Publishing an assignment page does this for
that assignment; this command is for repairs and after bulk changes."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lms.courses.models import AssignmentPage, CoursePage
from lms.courses.selectors import in_course
from lms.gradebook.services import recount_grades


class Command(BaseCommand):
    help = "Apply the late policies to all grades again and choose again which grade counts."

    def add_arguments(self, parser):
        parser.add_argument("--course", help="only this course (its slug)")

    def handle(self, *args, course: str | None = None, **options):
        assignments = AssignmentPage.objects.all()
        if course:
            page = CoursePage.objects.filter(slug=course).first()
            if page is None:
                raise CommandError(f"No course with the slug {course!r}.")
            assignments = assignments.filter(in_course(page))
        total = 0
        for assignment in assignments.defer_streamfields().order_by("path"):
            total += recount_grades(assignment)
        self.stdout.write(f"{total} grade(s) changed.")
