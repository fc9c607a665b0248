"""``python -m minnet ...`` runs the command line of :mod:`minnet.cli`."""

import sys

from minnet.cli import main

sys.exit(main())
