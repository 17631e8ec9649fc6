"""``python -m studio generate <modality> ...``: see ``studio.cli``."""

import sys

from studio.cli import main

sys.exit(main())
