"""What the generator's safety checks cost: each step of `codegen generate` timed in-process on the vendored specs.

    python bench/bench_verify.py [--runs 7]

Prints the median per step: parse, render (Jinja + datamodel-code-generator), compile (every module, before
formatting), format (ruff), names (AST checks) and the import check (the locked-down subprocess; `codegen generate`
overlaps it with formatting).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codegen.pipeline import verify  # noqa: E402
from codegen.pipeline.diagnostics import Diagnostics  # noqa: E402
from codegen.pipeline.manifest import load  # noqa: E402
from codegen.pipeline.parse import build_api  # noqa: E402
from codegen.pipeline.render import format_python, render_files  # noqa: E402


class _Clock:
    def __init__(self, samples: dict[str, list[float]]) -> None:
        self.samples = samples
        self.last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.samples.setdefault(step, []).append(now - self.last)
        self.last = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    manifest = load(ROOT / "providers.toml")
    samples: dict[str, list[float]] = {}
    for _ in range(args.runs):
        clock = _Clock(samples)
        api = build_api(manifest, None, Diagnostics())
        clock.lap("parse")
        raw = render_files(api, manifest.templates, formatted=False)
        clock.lap("render")
        verify.compile_all(raw, api)
        clock.lap("compile (safety)")
        files = format_python(raw)
        clock.lap("format")
        verify.check_names(files, api, str(files[f"{manifest.package}/_runtime/base_client.py"]))
        clock.lap("names (safety)")
        verify.import_check(raw, api)
        clock.lap("import check (safety)")
    print(f"median of {args.runs} runs, {sys.platform}, Python {sys.version.split()[0]}")
    print("| step | median |")
    print("|---|---|")
    for step, values in samples.items():
        print(f"| {step} | {statistics.median(values) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
