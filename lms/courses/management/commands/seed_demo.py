"""``python -m lms seed-demo``: demo accounts, every course under STUDIO_COURSES_DIR imported,
the demo learners enrolled. What ``make up`` runs before serving; safe to run again."""

from django.conf import settings
from django.core.management.base import BaseCommand

from courses.course_file import COURSE_FILE_NAME
from lms.accounts.demo import ensure_demo_accounts
from lms.accounts.models import Role, User
from lms.courses.course_import import import_course
from lms.courses.services import enroll


class Command(BaseCommand):
    help = "Create demo accounts, import the courses folder and enroll the demo learners."

    def handle(self, *args, **options):
        accounts = ensure_demo_accounts()
        learners = User.objects.filter(
            username__in=[a.username for a in accounts if a.role == Role.LEARNER]
        )
        for course_file in sorted(settings.STUDIO_COURSES_DIR.glob(f"*/{COURSE_FILE_NAME}")):
            report = import_course(course_file.parent)
            for learner in learners:
                enroll(learner, report.course)
            self.stdout.write(f"course {report.course.slug}: imported")
        self.stdout.write("Demo accounts (username / password / role):")
        for account in accounts:
            self.stdout.write(f"  {account.username:<12} {account.password:<14} {account.role}")
