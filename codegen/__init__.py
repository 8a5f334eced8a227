"""kling-codegen: providers.toml + vendored specs -> typed, deterministic Python SDK.

The pipeline, one module per stage::

    manifest.load -> specs.load -> parse.build_api (IR) -> render.render_files -> output.write | output.compare
"""

from __future__ import annotations

__version__ = "0.2.0"
