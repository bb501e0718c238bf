"""``python -m capture_client``: see ``capture_client.cli``."""

from __future__ import annotations

import sys

from capture_client.cli import main

sys.exit(main())
