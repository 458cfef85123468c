"""``python -m bot`` is the ``stillpoint`` command."""

import sys

from bot.cli import main

if __name__ == "__main__":  # not when a chart-drawing process imports this module
    sys.exit(main())
