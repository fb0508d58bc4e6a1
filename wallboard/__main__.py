"""``python -m wallboard``: the same as the ``wallboard`` command."""

from __future__ import annotations

import sys

from wallboard.cli import main

sys.exit(main())
