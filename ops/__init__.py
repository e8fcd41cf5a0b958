"""Operations on a studio's state: ``make backup`` and ``make restore`` (``python -m ops``).

One archive holds every piece of the studio's state (:mod:`ops.stacks` lists them: the LMS's,
the hub's, the grader's and the tutor's databases, the LMS's uploads, the grader's course
directories with submissions, exchange and feedback, the hub's folder, learners' work volumes
and the course folders), each with its checksum in a manifest (:mod:`ops.archive`). It runs
beside a studio, never inside one: it imports none of the parts, only ``servicekit``'s
settings and the default paths they share (``servicekit.state``).
"""
