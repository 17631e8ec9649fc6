"""``python -m studio <command> ...``: see ``studio.cli``."""

import sys

from studio.cli import main

sys.exit(main())
