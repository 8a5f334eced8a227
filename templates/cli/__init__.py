"""`kling`: the end-user command line (typer + rich), installed with the SDK's `cli` extra.

Exit codes (also in `kling --help` and the README):

    0    done: the video is saved (batch: every line succeeded)
    1    the job ran and failed or was cancelled (batch: some lines failed, were refused or still run)
    2    bad arguments or a request refused locally: nothing was sent
    3    the provider refused the submit (auth, credits, rate limit, unreachable): no job exists
    4    the submit's outcome is unknown: the job may exist and is not resubmitted (batch: lines in doubt)
    5    the deadline passed: the job may still be running, follow it with `kling status REF`
    6    the job succeeded but the video could not be saved: `kling status REF -o FILE` retries
    130  interrupted: a submitted job keeps running, its reference is printed
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `kling` command line; returns its exit code."""
    try:
        from .app import run
    except ImportError as exc:  # typer / rich are an optional extra
        from .. import DISTRIBUTION

        # kling-sdk is not on a package index: its extra is installed from where the SDK came from.
        print(
            f"kling: {exc.name} is missing; install the {DISTRIBUTION} `cli` extra from where you installed the SDK, "
            "e.g. in the kling-codegen repository: pip install './generated[cli]'",
            file=sys.stderr,
        )
        return 2
    return run(list(sys.argv[1:] if argv is None else argv))
