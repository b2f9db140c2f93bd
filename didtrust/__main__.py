"""``python -m didtrust``: the same as the ``didtrust`` command."""

import sys

from didtrust.cli import main

sys.exit(main())
