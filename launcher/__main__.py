"""``python -m launcher``: the whole studio in the foreground (``make up``)."""

import sys

from launcher.up import main

sys.exit(main(sys.argv[1:]))
