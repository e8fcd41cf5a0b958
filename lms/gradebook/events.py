"""What the gradebook tells the rest of the LMS, sent by ``services`` once a write is committed.

The seam for notifications: a receiver learns that a learner has a grade, or feedback to read,
without reading the gradebook's rules itself. Nothing here sends anything itself.
"""

from django.dispatch import Signal

grade_recorded = Signal()
"""A graded submission was recorded (``services.record_grade``), after its transaction
committed: ``grade`` (a :class:`~lms.gradebook.models.Grade`), ``created`` (a new submission's
grade, not a retried push), ``feedback_released`` (the grade has feedback now and did not have it
before: released with the grade, or later)."""
