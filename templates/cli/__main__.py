"""`python -m kling_sdk.cli`: the same as the `kling` command."""

import sys

from . import main

sys.exit(main())
