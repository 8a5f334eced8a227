"""kling-codegen: providers.toml + vendored specs -> a typed, deterministic Python SDK, and its drift tooling.

Two halves:

- `codegen.pipeline`, the generator: manifest -> specs -> parse (the IR) -> render -> verify -> output (write or
  compare). `generate(manifest)` runs it and returns every file as `{path: text}`; the CLI, the drift impact and
  the tests call nothing else to produce code.
- `codegen.drift`, the schema-drift tooling: fetch (the providers' documents), changes and compare (what changed,
  rule by rule), impact (what it does to the generated SDK and the recorded fixtures), report, fixtures.
"""

from __future__ import annotations

__version__ = "0.2.0"  # before the import below: the pipeline's render reads it

from codegen.pipeline.generate import generate

__all__ = ["__version__", "generate"]
