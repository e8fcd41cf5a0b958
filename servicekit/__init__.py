"""What the studio's processes share besides course content: the plumbing of a hub service.

The grader (``grading/``) and the tutor (``tutor/``) are JupyterHub services built the same way:
a tornado app behind JupyterHub's ``HubOAuth``, JSON errors, a SQLAlchemy store, settings from the
environment, and a client of the LMS's API. That plumbing is written once, here. This package
imports none of the parts (``lms``, ``hub``, ``grading``, ``tutor``, ``extensions``); any of them
may import it (``make lint`` holds both rules). Each module is importable alone, so a part pays
only for what it uses (``servicekit.secrets`` needs nothing beyond the standard library).
"""
