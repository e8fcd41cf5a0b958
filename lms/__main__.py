"""``python -m lms <command>``: Django's management commands with the LMS settings.

``python -m lms import-course courses/python-101`` is the documented way to import a course;
every manage.py command works the same way, with dashes or underscores (``python -m lms migrate``).
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.dev")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "python -m lms"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
