"""`python -m kling_sdk.testing serve --port 8000`: the fake providers in the foreground."""

import sys

from .serve import main

sys.exit(main())
