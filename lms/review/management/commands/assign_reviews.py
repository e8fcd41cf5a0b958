"""``python -m lms assign_reviews``: assign (or top up) the round of every assignment whose
peer reviewing is open; run it on a timer (e.g. hourly) so rounds open at the due date without
an instructor and late submitters and dropouts are handled (``lms.review.services``)."""

from django.core.management.base import BaseCommand

from lms.courses.models import AssignmentPage
from lms.review import selectors, services


class Command(BaseCommand):
    help = "Assign the peer reviews of every assignment whose reviewing is open."

    def handle(self, *args, **options) -> None:
        for assignment in AssignmentPage.objects.live().exclude(peer_review={}):
            if selectors.reviewing_open(assignment) and not selectors.past_deadline(assignment):
                result = services.assign_reviews(assignment)
                self.stdout.write(f"{assignment.nbgrader_name}: {result.in_words()}")
