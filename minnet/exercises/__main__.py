"""``python -m minnet.exercises check|list|grade|challenge``: see :mod:`minnet.exercises.cli`."""

import sys

from minnet.exercises.cli import main

sys.exit(main())
