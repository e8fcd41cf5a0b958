"""What the board tells the rest of the LMS, sent by ``services`` once a write is committed.

The seam for notifications (in the LMS and by email): a notification service connects
receivers to these signals and never reads the board's models directly to find out what
happened. Each is sent with ``post`` (a :class:`~lms.community.models.Post`) and the named
extra arguments; nothing here sends anything itself.
"""

from django.dispatch import Signal

post_published = Signal()
"""A post became visible to the thread's readers (written, or approved after being held):
``post``."""

members_mentioned = Signal()
"""Course members were named in a published post: ``post``, ``users`` (the resolved ones)."""

answer_endorsed = Signal()
"""An instructor endorsed an answer: ``post``, ``by``."""

post_held = Signal()
"""A post was held for review (it may show a solution): ``post``, ``assignment``."""
