"""``python -m bot`` is the ``stillpoint`` command."""

import sys

from bot.cli import main

sys.exit(main())
