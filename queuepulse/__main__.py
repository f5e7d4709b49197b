"""``python -m queuepulse``: the same command line as the ``queuepulse`` script."""

from __future__ import annotations

import sys

from queuepulse.cli import main

sys.exit(main())
