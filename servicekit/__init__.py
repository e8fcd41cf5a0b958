"""What the studio's processes share besides course content: the plumbing of a hub service.

The grader (``grading/``) and the tutor (``tutor/``) are JupyterHub services built the same way:
a tornado app behind JupyterHub's ``HubOAuth``, JSON errors, a SQLAlchemy store, settings from the
environment, and a client of the LMS's API. That plumbing is written once, here. This package
imports none of the parts (``lms``, ``hub``, ``grading``, ``tutor``, ``extensions``); any of them
may import it (``make lint`` holds both rules). Each module is importable alone, so a part pays
only for what it uses:

- ``settings``      settings from the environment (pydantic-settings), the variables every part
  shares (``STUDIO_VAR_DIR``, ``LMS_INTERNAL_URL``, ...); ``secrets``: secrets from ``NAME`` or
  ``NAME_FILE``, and generated once (standard library only)
- ``errors``        ``ServiceError``: a refusal with its HTTP status, code and sentence (standard
  library only)
- ``hub_auth``      who is calling: ``Caller`` and its course roles, JupyterHub's ``HubOAuth``
- ``web``           the tornado base handler (identification, JSON answers and errors), the
  routes every service has, serving until SIGTERM
- ``store``         the SQLAlchemy engine (SQLite pragmas, PostgreSQL through psycopg 3), sessions,
  table creation, aware UTC times
- ``lms_client``    the client of the LMS's API v1: token, timeouts, retries with backoff, errors
- ``docker_engine`` whether a Docker engine answers
"""
