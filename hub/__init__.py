"""The JupyterHub side of the studio, as an importable package.

One concern per module, every knob a documented traitlet:

- :mod:`hub.settings`      environment variables and generated secrets (the only env reader)
- :mod:`hub.errors`        error pages the hub shows instead of stack traces
- :mod:`hub.profiles`      resource profiles (memory, CPU, processes, image)
- :mod:`hub.courses`       the course folders, read through ``courses.course_file``
- :mod:`hub.roles`         RBAC: instructor roles per course, service roles
- :mod:`hub.authenticator` sign-on through the LMS (GenericOAuthenticator)
- :mod:`hub.materials`     course materials placed in a learner's work folder, never overwriting
- :mod:`hub.ports`         collision-free ports for the local fallback spawner
- :mod:`hub.spawners`      the hardened Docker spawner and the local development fallback
- :mod:`hub.services`      hub-managed services (the idle culler, the grader, the tutor)
- :mod:`tutor`         the AI tutor service itself (``python -m tutor serve``)
- :mod:`hub.config`        ``configure(c)``: assembles all of the above for ``jupyterhub_config.py``

``hub`` never imports ``lms``, ``grading`` or ``extensions``; the only outside code it uses is
``courses.course_file``, the shared reader of ``course.yml``.
"""
