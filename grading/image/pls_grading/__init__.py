"""Python Learning Studio's grading code that runs inside the learner image.

- :mod:`pls_grading.execute`: the grading sandbox's notebook runner
  (``python -m pls_grading.execute``), started by ``grading.sandbox`` on the grader's host.
- :mod:`pls_grading.output_cap`: an IPython extension the runner loads into the kernel.

This package is imported by every sandbox and may sit beside nbgrader's exchange plug-in, so it
imports nothing itself: each module pays only for what it uses.
"""
