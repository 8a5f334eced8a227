"""Start-up cost: `kling --help` wall time, and the CPU of `import kling_sdk.fal` against `import fal_client`.

Both run as fresh processes, interleaved, in one virtual environment that holds only the SDK's dependencies (httpx,
pydantic; typer and rich for the `cli` extra) and fal-client with its own (bench/.work/startup, made on first use
from the package index). The SDK is read from this checkout's generated/ (PYTHONPATH), so the numbers are those of
the tree as it is. An import's CPU is the process's user + system time minus that of an interpreter that imports
nothing (`python -c pass`), median of --runs.

    python bench/bench_startup.py [--runs 21]

Goals (issue 17): `kling --help` within 0.3 s; `import kling_sdk.fal` at most 1.0x the CPU of `import fal_client`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".work" / "startup"
PEER = "fal-client==1.0.3"
HELP_GOAL = 0.3  # seconds
IMPORT_GOAL = 1.0  # x fal_client


def ensure_venv() -> Path:
    """The bench environment: the SDK's dependencies (with the cli extra) and fal-client, nothing else."""
    python = VENV / "bin" / "python"
    if not (VENV / "bin" / "kling").exists() or not (VENV / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"{ROOT / 'generated'}[cli]", PEER], check=True)
        (VENV / ".complete").write_text("")
    return python


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    python = ensure_venv()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "generated"), "LC_ALL": "C.UTF-8"}
    commands = {
        "python -c pass": [str(python), "-c", "pass"],
        "import fal_client": [str(python), "-c", "import fal_client"],
        "import kling_sdk.fal": [str(python), "-c", "import kling_sdk.fal"],
        # what a program that makes a client loads: the client, httpx, pydantic and the provider's models
        "from kling_sdk.fal import FalClient": [str(python), "-c", "from kling_sdk.fal import FalClient"],
        "kling --help": [str(VENV / "bin" / "kling"), "--help"],
    }
    for command in commands.values():  # warm the file cache and the bytecode caches once
        run(command, env)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved, so that the machine's load falls on every command alike
        for name, command in commands.items():
            wall, cpu = run(command, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    wall = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    base = cpu["python -c pass"]
    print(f"Python {sys.version.split()[0]}, median of {args.runs} runs, load {os.getloadavg()[0]:.1f}")
    print("| command | wall | CPU | CPU over `python -c pass` |")
    print("|---|---|---|---|")
    for name in commands:
        over = (cpu[name] - base) * 1000
        print(f"| `{name}` | {wall[name] * 1000:.0f} ms | {cpu[name] * 1000:.0f} ms | {over:.0f} ms |")
    peer = max(cpu["import fal_client"] - base, 1e-9)
    for name in ("import kling_sdk.fal", "from kling_sdk.fal import FalClient"):
        ratio = (cpu[name] - base) / peer
        goal = (
            f" (goal <= {IMPORT_GOAL}x: {'met' if ratio <= IMPORT_GOAL else 'MISSED'})"
            if name.startswith("import")
            else ""
        )
        print(f"{name} / import fal_client (CPU over the bare interpreter): {ratio:.2f}x{goal}")
    help_ratio = wall["kling --help"] / HELP_GOAL
    met = "met" if help_ratio <= 1.0 else "MISSED"
    print(f"kling --help / {HELP_GOAL} s goal (wall): {help_ratio:.2f}x, {wall['kling --help']:.3f} s ({met})")


if __name__ == "__main__":
    main()
