"""The JupyterHub side of the studio, as an importable package: the hub's configuration, its
authenticator and its spawners.

One concern per module, every knob a documented traitlet:

- :mod:`hub.settings`      :class:`~hub.settings.HubSettings`, every variable the hub reads
                           but the profiles' (servicekit's EnvSettings), and its generated
                           secrets
- :mod:`hub.config`        ``configure(c)``: one step per concern, assembling all of the below
                           for ``jupyterhub_config.py``
- :mod:`hub.origins`       which host serves what: learners' servers and the formgraders on
                           subdomains of the hub's public host
- :mod:`hub.authenticator` sign-on through the LMS (GenericOAuthenticator)
- :mod:`hub.errors`        error pages the hub shows instead of stack traces
- :mod:`hub.courses`       the course folders as the hub sees them (``CourseCatalog``, read
                           through ``courses.course_file``) and who may sign in (``is_enrolled``)
- :mod:`hub.roles`         RBAC: instructor roles per course
- :mod:`hub.services`      the hub's services and their roles (the idle culler, the grader and
                           its formgraders, the tutor, the LMS's token)
- :mod:`hub.profiles`      resource profiles (memory, CPU, processes, image) and their
                           ``HUB_PROFILE_<NAME>_<FIELD>`` variables
- :mod:`hub.materials`     course materials placed in a learner's work folder, never overwriting
- :mod:`hub.ports`         collision-free ports for the local fallback spawner
- :mod:`hub.spawners`      the hardened Docker spawner, its Swarm and Kubernetes variants, and the
                           local development fallback

The grader (``grading/``) and the tutor (``tutor/``) are parts of their own, which the hub starts
or routes to as services; ``make up``'s supervisor is ``launcher/``. ``hub`` imports none of the
other parts: only ``courses`` (``course.yml`` and the naming conventions) and ``servicekit``
(settings, secrets, the Docker probe).
"""
