"""`python -m tracesieve`: the same as the `tracesieve` command."""

import sys

from .cli import main

sys.exit(main())
