"""``python -m temporal_router.cli``: the ``temporal-router`` command."""

import sys

from . import main

sys.exit(main())
