"""The grading sandbox's kernel: ``python -m pls_grading.kernel``, ipykernel without debugpy.

ipykernel imports debugpy when it creates its kernel, for JupyterLab's debugger, which costs
~0.17 s of CPU in the learner image; every submission starts at least one kernel, and a graded
run is never debugged. So :mod:`pls_grading.execute` starts the course's Python kernel through
this module instead of ``ipykernel_launcher`` (only when the kernel spec is ipykernel's own), and
debugpy is not importable in it: a notebook that imports debugpy gets an ``ImportError``.
Otherwise this is ``ipykernel_launcher``.
"""

import sys

sys.modules.setdefault("debugpy", None)  # type: ignore[arg-type]  # ipykernel: no debugger


def main() -> None:
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
