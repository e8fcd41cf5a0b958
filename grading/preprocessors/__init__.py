"""The grader's own steps in nbgrader's pipelines, one preprocessor per module (as nbgrader's own
``nbgrader/preprocessors/``), put into nbgrader's lists by ``grading.autograde`` and
``grading.feedback``:

- ``flag_tampering``: sanitize; each nbgrader cell compared with the release and its metadata put
  back (``FlagTampering``).
- ``sandboxed_execute``: autograde; nbgrader's ``Execute`` run in a fresh container
  (``SandboxedExecute``).
- ``fail_tampered_cells``: autograde; the cells found tampered with earn no points
  (``FailTamperedCells``).
- ``clear_hidden_tracebacks``: feedback; the hidden tests' lines blanked in every output
  (``ClearHiddenTracebacks``).
- ``base``: what they share (the record they keep in a notebook's metadata, a failed cell's
  error output).
"""
