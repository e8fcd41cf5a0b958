"""What peer review tells the rest of the LMS, sent by ``lms.review.services`` once a write is
committed (``transaction.on_commit``).

The seam for notifications (``lms.notifications``): its receivers connect to these signals and
never read the review models to find out what happened; nothing here delivers anything. Each is
sent with ``assignment`` (an ``AssignmentPage``) and the named arguments:
"""

from django.dispatch import Signal

reviews_assigned = Signal()
"""Reviews were given to a reviewer ("you have reviews to do"): ``reviewer``, ``reviews`` (the
new :class:`~lms.review.models.Review` rows), ``deadline`` (the review deadline or None)."""

work_reviewed = Signal()
"""A review of an author's work was submitted ("your work was reviewed"): ``author``,
``review``. Not sent for a review hidden before it was submitted."""

review_replied = Signal()
"""The author (or an instructor) answered a review: ``review``, ``reply``; the reviewer is
``review.reviewer``."""

review_hidden = Signal()
"""An instructor hid a review as abusive: ``review``, ``by``."""
