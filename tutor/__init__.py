"""The AI tutor: the JupyterHub service ``tutor`` (``python -m tutor serve``).

Contracts: ``docs/tutor.md``. One concern per module:

- :mod:`tutor.settings`    every variable the tutor reads (``TUTOR_*``, ``OPENAI_*``, ...)
- :mod:`tutor.ask`         the ``POST ask`` body: checked and trimmed to the input budget
- :mod:`tutor.course_data` the course folders: assignments, answer cells, hints, solutions
- :mod:`tutor.policy`      each assignment's policy and hints from the LMS (cached), else
  ``course.yml``
- :mod:`tutor.prompts`     the system prompt that teaches; notebook content as quoted data
- :mod:`tutor.guard`       the solution-leak guard, while streaming
- :mod:`tutor.model`       the OpenAI-compatible endpoint through the ``openai`` client
- :mod:`tutor.offline`     offline mode: exceptions explained, instructors' hints
- :mod:`tutor.limits`      per-learner rate limit and daily quota
- :mod:`tutor.store`       the exchange log (SQLite by default, PostgreSQL by URL)
- :mod:`tutor.tutoring`    the decisions and the reply's events
- :mod:`tutor.app`         the tornado application (thin handlers)

Who is asking (hub token or cookie -> user, groups, course roles), JSON errors, the store's set-up
and the client of the LMS's API are the hub services' shared plumbing, ``servicekit``. Like every
part, the tutor never imports ``lms``, ``hub``, ``grading`` or ``extensions``.
"""
