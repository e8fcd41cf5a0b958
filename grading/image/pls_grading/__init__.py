"""Python Learning Studio's grading code that runs inside the learner image.

- :mod:`pls_grading.execute`: the grading sandbox's notebook runner
  (``python -m pls_grading.execute``), started by ``grading.sandbox`` on the grader's host.
- :mod:`pls_grading.kernel_client`: the runner's client of its kernel (the Jupyter messaging
  protocol on pyzmq).
- :mod:`pls_grading.shell_kernel`: the kernel the runner starts for the judge's grading
  (IPython's shell on pyzmq); :mod:`pls_grading.kernel`: the one for in-kernel grading
  (ipykernel without debugpy).
- :mod:`pls_grading.output_cap`: an IPython extension the runner loads into the kernel.
- :mod:`pls_grading.guard`: the IPython extension the runner asks before each graded cell
  whether the learner's code changed how cells run (and which puts it back).

This package is imported by every sandbox and may sit beside nbgrader's exchange plug-in, so it
imports nothing itself: each module pays only for what it uses.
"""
