"""``python -m ops backup|restore|verify``: ``make backup`` and ``make restore``.

    python -m ops backup [PATH]               # default var/backups/studio-backup-<UTC time>.tar.gz
    python -m ops restore ARCHIVE [--force]   # into a fresh, stopped studio
    python -m ops verify ARCHIVE              # every item's checksum
    python -m ops backup --compose [--env-file .env] [--project NAME] [PATH]

Without ``--compose`` it works on ``make up``'s studio, found as the parts find their state
(``STUDIO_VAR_DIR``, the database URLs, ...); with it, on the ``docker-compose.yml`` stack.
An error is one sentence on stderr and exit status 1.
"""

import sys

from ops.cli import main

sys.exit(main(sys.argv[1:]))
