"""The grader service: nbgrader course directories, an authenticated HTTP exchange, a durable
autograde queue and the push of grades to the LMS.

It runs as the JupyterHub service ``grader`` (``python -m grading serve``) and never imports
``lms``, ``hub`` or ``extensions``: it meets them over HTTP (the hub API for who is calling, the
LMS API for grades) and through the course folders (``courses.course_file``). The contract
between its modules is ``docs/grading.md``.
"""
