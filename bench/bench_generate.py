"""Time `codegen generate` (all providers) against datamodel-codegen and openapi-python-client on the same specs.

Each tool runs as a fresh command, side by side, on the vendored documents of providers.toml; the peers get one
invocation per document (that is how they are used), timed together. Prints a table with ratios to ours.

    python bench/bench_generate.py [--runs 5]

The peers are installed into bench/.work/peers on first use (a separate venv, so that their pins do not touch ours).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
PEERS = WORK / "peers"
PEER_PINS = ["datamodel-code-generator==0.89.0", "openapi-python-client==0.29.1"]


def ensure_peers() -> Path:
    bin_dir = PEERS / "bin"
    if not (bin_dir / "openapi-python-client").exists() or not (bin_dir / "datamodel-codegen").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *PEER_PINS], check=True)
    return bin_dir


def vendored_inputs(tmp: Path) -> tuple[list[Path], list[Path]]:
    """(OpenAPI documents, JSON Schemas) of every provider; Oxen's model objects give their json_request_schema."""
    manifest = tomllib.loads((ROOT / "providers.toml").read_text())
    openapi, schemas = [], []
    for provider in manifest["providers"].values():
        for spec in provider["specs"].values():
            path = ROOT / spec["path"]
            data = json.loads(path.read_text())
            if spec["format"] == "openapi" and "openapi" not in data and spec.get("extract"):
                # a catalogue entry vendored whole: the peers get the OpenAPI document inside it, as we read it
                for token in spec["extract"].strip("/").split("/"):
                    data = data[int(token)] if isinstance(data, list) else data[token]
                path = tmp / f"{path.stem}.openapi.json"
                path.write_text(json.dumps(data))
            if spec["format"] == "openapi":
                openapi.append(path)
            else:
                extracted = tmp / f"{path.stem}.schema.json"
                schema = data.get("request_schema") or data["json_request_schema"]  # the hub's name, or the docs'
                extracted.write_text(json.dumps(schema))
                schemas.append(extracted)
    return openapi, schemas


def timed(commands: list[list[str]], cwd: Path) -> tuple[float, int]:
    """Wall time of running the commands one after another, and how many failed."""
    failed = 0
    start = time.perf_counter()
    for command in commands:
        if subprocess.run(command, cwd=cwd, capture_output=True, check=False).returncode != 0:
            failed += 1
    return time.perf_counter() - start, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    peers = ensure_peers()
    with tempfile.TemporaryDirectory(prefix="kling-bench-") as tmp_name:
        tmp = Path(tmp_name)
        openapi, schemas = vendored_inputs(tmp)
        manifest_providers = tomllib.loads((ROOT / "providers.toml").read_text())["providers"]
        out = tmp / "out"

        def ours() -> list[list[str]]:
            return [[sys.executable, "-m", "codegen", "generate", "-q", "--output", str(out / "ours")]]

        def dmcg() -> list[list[str]]:
            cmds = []
            for i, path in enumerate(openapi + schemas):
                kind = "openapi" if path in openapi else "jsonschema"
                cmds.append([
                    str(peers / "datamodel-codegen"), "--input", str(path), "--input-file-type", kind,
                    "--output", str(out / f"dmcg_{i}.py"), "--output-model-type", "pydantic_v2.BaseModel",
                    "--formatters", "ruff-format", "--disable-timestamp",
                ])  # fmt: skip
            return cmds

        def opc() -> list[list[str]]:
            return [
                [
                    str(peers / "openapi-python-client"),
                    "generate",
                    "--path",
                    str(path),
                    "--output-path",
                    str(out / f"opc_{i}"),
                    "--overwrite",
                ]
                for i, path in enumerate(openapi)
            ]

        tools = [
            (
                f"kling-codegen ({len(manifest_providers)} providers, models + clients)",
                ours,
                len(openapi) + len(schemas),
            ),
            ("datamodel-codegen 0.89.0 (models only)", dmcg, len(openapi) + len(schemas)),
            ("openapi-python-client 0.29.1 (OpenAPI docs only)", opc, len(openapi)),
        ]
        results = []
        for name, commands, n_inputs in tools:
            timed(commands(), ROOT)  # warm-up: .pyc files, page cache
            samples, failures = [], 0
            for _ in range(args.runs):
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                seconds, failed = timed(commands(), ROOT)
                samples.append(seconds)
                failures = failed
            results.append((name, n_inputs, failures, statistics.median(samples)))

    base = results[0][3]
    print(f"median of {args.runs} runs, {sys.platform}, Python {sys.version.split()[0]}")
    print("| tool | input documents | failed | median wall time | ratio to kling-codegen |")
    print("|---|---|---|---|---|")
    for name, n_inputs, failed, seconds in results:
        print(f"| {name} | {n_inputs} | {failed} | {seconds:.2f} s | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
