"""Promote reviewed recordings (tests/fixtures.recorded, see record.py) into the committed fixtures.

    diff -ru tests/fixtures tests/fixtures.recorded                  # review first
    python tests/contract/promote.py                                 # every recording
    python tests/contract/promote.py --provider fal submit_text_to_video status_queued

Each promoted file is moved from the recorded tree into tests/fixtures/<provider>/; then run the contract suite
(`python -m pytest tests/contract`) and commit the fixtures with the change they show.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
RECORDED = Path(os.environ.get("KLING_RECORD_DIR") or ROOT / "tests" / "fixtures.recorded")


def promote(recorded: Path, fixtures: Path, providers: Sequence[str] = (), scenarios: Sequence[str] = ()) -> list[str]:
    """Move recordings (only those providers' / scenarios', if given) into the fixture tree; what happened to each."""
    report = []
    for source in sorted(recorded.glob("*/*.json")):
        provider, scenario = source.parent.name, source.stem
        if (providers and provider not in providers) or (scenarios and scenario not in scenarios):
            continue
        target = fixtures / provider / source.name
        action = (
            "added" if not target.exists() else "unchanged" if target.read_bytes() == source.read_bytes() else "updated"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        report.append(f"{action} {provider}/{source.name}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Promote from the command line; exit 1 when nothing matched."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="scenario names (file stems); default: every recording")
    parser.add_argument("--provider", action="append", default=[], help="only this provider (repeatable)")
    args = parser.parse_args(argv)
    report = promote(RECORDED, FIXTURES, args.provider, args.scenarios)
    print("\n".join(report) if report else f"nothing to promote in {RECORDED}")
    return 0 if report else 1


if __name__ == "__main__":
    raise SystemExit(main())
