"""``python -m lms import-course courses/<slug> [...]``: create or update courses from folders."""

from django.core.management.base import BaseCommand, CommandError

from courses.course_file import CourseFileError
from lms.courses.course_import import import_course


class Command(BaseCommand):
    help = "Create or update a course from its folder (courses/<slug>/course.yml). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("folders", nargs="+", help="course folders, e.g. courses/python-101")

    def handle(self, *args, folders: list[str], **options):
        for folder in folders:
            try:
                report = import_course(folder)
            except CourseFileError as exc:
                raise CommandError(f"Nothing was imported. {exc}") from exc
            what = "; ".join(
                f"{verb}: {', '.join(items)}"
                for verb, items in (
                    ("created", report.created),
                    ("updated", report.updated),
                    ("unpublished", report.unpublished),
                )
                if items
            )
            self.stdout.write(
                self.style.SUCCESS(f"{report.course.slug}: {what or 'already up to date'}")
            )
            for warning in report.warnings:
                self.stderr.write(self.style.WARNING(f"{report.course.slug}: {warning}"))
