"""``python -m minnet.exercises check [PATH ...]``: see :mod:`minnet.exercises.checker`."""

import sys

from minnet.exercises.checker import main

sys.exit(main())
