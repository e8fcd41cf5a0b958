"""``make up``'s supervisor: runs the whole studio on this machine (see :mod:`launcher.up`).

It starts the LMS and JupyterHub (which starts the grader and the tutor) as processes of their
own and imports none of them.
"""
