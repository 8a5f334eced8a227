"""The pipeline end to end: manifest -> IR -> rendered, verified, formatted files ({path: text})."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from codegen.pipeline import verify as verification
from codegen.pipeline.diagnostics import Diagnostics
from codegen.pipeline.manifest import Manifest
from codegen.pipeline.output import provider_scopes
from codegen.pipeline.parse import build_api
from codegen.pipeline.render import format_python, render_files


def generate(
    manifest: Manifest,
    providers: Collection[str] | None = None,
    *,
    diagnostics: Diagnostics | None = None,
    overlay: Mapping[str, bytes] | None = None,
    verify: bool = True,
) -> dict[str, str | bytes]:
    """Every file the inputs produce, relative to the output directory; with `providers`, only theirs.

    `overlay` replaces vendored documents by path (drift candidates). `verify` compiles the rendering, checks its
    names and imports it once in a locked-down subprocess (see `codegen.pipeline.verify`); without it nothing
    generated is imported. Spec defects the generator handles land in `diagnostics`; what it cannot compile raises
    `GenerationError` naming the file and pointer, and nothing is returned.
    """
    diagnostics = diagnostics if diagnostics is not None else Diagnostics()
    only = frozenset(providers) if providers else None
    for name in only or ():
        manifest.provider(name)
    api = build_api(manifest, only, diagnostics, overlay)
    # The shared runtime is rendered for one provider too: the import check needs it, even if it is not kept.
    rendered = render_files(api, manifest.templates, formatted=False)
    if verify:
        with verification.importing(rendered, api):  # the import check runs while ruff formats
            files = format_python(rendered)
            verification.check_names(files, api, str(files[f"{manifest.package}/_runtime/base_client.py"]))
    else:
        files = format_python(rendered)
    if only is None:
        return files
    owned = tuple(scope + "/" for scope in provider_scopes(manifest, only))
    return {path: text for path, text in files.items() if path.startswith(owned)}
