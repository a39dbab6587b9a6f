"""``python -m temporal_router``: the ``temporal-router`` command."""

import sys

from .cli import main

sys.exit(main())
