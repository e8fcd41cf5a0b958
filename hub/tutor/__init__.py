"""The AI tutor: the JupyterHub service ``tutor`` (``python -m hub.tutor serve``).

Contracts: ``docs/tutor.md``. One concern per module:

- :mod:`hub.tutor.settings`    the only reader of ``TUTOR_*`` and ``OPENAI_*`` variables
- :mod:`hub.tutor.auth`        who is asking: hub token or cookie -> user, groups, course roles
- :mod:`hub.tutor.ask`         the ``POST ask`` body: checked and trimmed to the input budget
- :mod:`hub.tutor.course_data` the course folders: assignments, answer cells, hints, solutions
- :mod:`hub.tutor.policy`      each assignment's policy and hints from the LMS (cached), else
  ``course.yml``
- :mod:`hub.tutor.prompts`     the system prompt that teaches; notebook content as quoted data
- :mod:`hub.tutor.guard`       the solution-leak guard, while streaming
- :mod:`hub.tutor.model`       the OpenAI-compatible endpoint through the ``openai`` client
- :mod:`hub.tutor.offline`     offline mode: exceptions explained, instructors' hints
- :mod:`hub.tutor.limits`      per-learner rate limit and daily quota
- :mod:`hub.tutor.store`       the exchange log (SQLite by default, PostgreSQL by URL)
- :mod:`hub.tutor.tutoring`    the decisions and the reply's events
- :mod:`hub.tutor.app`         the tornado application (thin handlers)

Like the rest of ``hub``, it never imports ``lms``, ``grading`` or ``extensions``.
"""
