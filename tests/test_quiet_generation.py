"""Quiet generation: spec defects the manifest acknowledges are one line, new ones are printed in full, stale
acknowledgements are reported, and `codegen check` on a hand edit says the edit would be lost and how to keep it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from manifest_support import (
    MANIFEST,
    client_class,
    generated_file,
    operations,
    providers,
    request_schema_location,
    schema_at,
)

from codegen.pipeline.diagnostics import Diagnostic, GenerationError, KnownDefect, Location, acknowledge
from codegen.pipeline.manifest import load

SUMMARY = re.compile(r"^(\d+) known spec defects? handled; -v lists them$")


def _codegen(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`codegen ...` as a process in the workspace, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args], cwd=workspace, capture_output=True, text=True, timeout=300
    )


def _lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return (done.stdout + done.stderr).splitlines()


def _acknowledged() -> int:
    return sum(len(p.known_defects) for p in MANIFEST.providers)


# ---------------------------------------------------------------------------------------------- the policy
def _item(
    rule: str, file: str = "specs/p/a.json", pointer: str = "/x/y", message: str = "m", known: str | None = None
) -> Diagnostic:
    return Diagnostic("warning", Location(file, pointer), message, rule, known)


def _ack(rule: str, pointer: str, message: str = "*", files: tuple[str, ...] = ("specs/p/a.json",)) -> KnownDefect:
    return KnownDefect(Location("providers.toml", "/providers/p/known_defects/0"), files, rule, pointer, message, "ok")


@pytest.mark.parametrize(
    ("item", "ack", "matched"),
    [
        (_item("openapi-invalid"), _ack("openapi-invalid", "/x/y"), True),
        (_item("openapi-invalid"), _ack("openapi-invalid", "/x/*"), True),
        (_item("openapi-invalid"), _ack("default-coerced", "/x/y"), False),  # another rule
        (_item("openapi-invalid"), _ack("openapi-invalid", "/x/z"), False),  # another place
        (_item("openapi-invalid", pointer="/x/y/z"), _ack("openapi-invalid", "/x/y"), False),  # exact, not a prefix
        (_item("openapi-invalid", message="'a' is required"), _ack("openapi-invalid", "/x/y", "*'a'*"), True),
        (_item("openapi-invalid", message="'b' is required"), _ack("openapi-invalid", "/x/y", "*'a'*"), False),
        (_item("openapi-invalid", file="specs/q/a.json"), _ack("openapi-invalid", "/x/y"), False),  # another document
    ],
)
def test_an_acknowledgement_matches_its_rule_document_pointer_and_message(
    item: Diagnostic, ack: KnownDefect, matched: bool
) -> None:
    result = acknowledge([item], [ack])
    assert [d.known for d in result.known] == (["ok"] if matched else [])
    assert list(result.new) == ([] if matched else [item])
    assert list(result.stale) == ([] if matched else [ack])


def test_a_defect_the_manifest_handles_itself_is_known_without_an_acknowledgement() -> None:
    handled = _item("override-type", known="the spec is wrong here")
    result = acknowledge([handled], [])
    assert result.known == (handled,) and not result.new and not result.stale


def test_the_manifest_refuses_an_acknowledgement_without_a_reason_or_with_an_unknown_spec(workspace: Path) -> None:
    name = providers()[0]
    spec = MANIFEST.provider(name).specs[0].id
    base = (workspace / "providers.toml").read_text()
    for entry, expected in (
        (f'spec = "{spec}"\nrule = "openapi-invalid"\npointer = "/x"\nreason = " "', "/reason"),
        ('spec = "no-such-spec"\nrule = "openapi-invalid"\npointer = "/x"\nreason = "r"', "/spec"),
        ('rule = "openapi-invalid"\nreason = "r"', "missing required key 'pointer'"),
    ):
        (workspace / "providers.toml").write_text(f"{base}\n[[providers.{name}.known_defects]]\n{entry}\n")
        with pytest.raises(GenerationError) as caught:
            load(workspace / "providers.toml")
        assert f"/providers/{name}/known_defects/" in str(caught.value) and expected in str(caught.value)


# ---------------------------------------------------------------------------------------------- the commands
def test_generate_and_check_on_a_clean_tree_print_at_most_two_lines(workspace: Path) -> None:
    for command in ("generate", "check"):
        done = _codegen(workspace, command)
        assert done.returncode == 0, done.stderr
        lines = _lines(done)
        assert len(lines) <= 2, lines
        if _acknowledged():
            summary = [m for m in map(SUMMARY.match, lines) if m]
            assert len(summary) == 1, lines
    done = _codegen(workspace, "generate", "-q")
    assert done.returncode == 0 and _lines(done) == [], _lines(done)


def test_verbose_lists_every_known_defect_with_its_reason(workspace: Path) -> None:
    quiet, verbose = _codegen(workspace, "check"), _codegen(workspace, "check", "-v")
    assert verbose.returncode == 0, verbose.stderr
    counted = next((int(m[1]) for m in map(SUMMARY.match, _lines(quiet)) if m), 0)
    known = [line for line in verbose.stderr.splitlines() if "; known: " in line]
    assert len(known) == counted
    reasons = {d.reason for p in MANIFEST.providers for d in p.known_defects}
    assert reasons <= {line.rsplit("; known: ", 1)[1].rstrip("]") for line in known}  # every acknowledgement is used
    assert all(re.match(r"^(warning|info): \S+#/\S*: .+ \[[a-z-]+; known: .+\]$", line) for line in known), known


def test_a_new_defect_prints_in_full_beside_the_summary(workspace: Path) -> None:
    """A copy of the repository with one vendored spec edited: a default that does not fit its type."""
    name = providers()[0]
    op = operations(name, "submit")[0]
    document, pointer = request_schema_location(name, op)
    path = workspace / document
    doc = json.loads(path.read_text())
    node = schema_at(doc, pointer)
    node.setdefault("properties", {})["zz_probe"] = {"type": "integer", "default": "seven"}
    path.write_text(json.dumps(doc, indent=2))

    done = _codegen(workspace, "generate")
    assert done.returncode == 0, done.stderr
    new = [line for line in done.stderr.splitlines() if "zz_probe" in line]
    assert len(new) == 1 and new[0].startswith(f"warning: {document}#") and new[0].endswith("[default-dropped]"), new
    assert "'seven' does not match the declared type" in new[0]
    assert "[[providers.<name>.known_defects]]" in done.stderr  # how to acknowledge it once handled
    if _acknowledged():
        assert any(SUMMARY.match(line) for line in done.stderr.splitlines())
    quiet = _codegen(workspace, "check", "-q")  # -q: new warnings only (here also: the spec differs from its lock)
    assert quiet.returncode == 0, quiet.stderr
    assert new[0] in _lines(quiet) and all(line.startswith("warning: ") for line in _lines(quiet)), _lines(quiet)


def test_an_acknowledgement_that_matches_nothing_is_reported_stale(workspace: Path) -> None:
    name = providers()[-1]
    index = len(MANIFEST.provider(name).known_defects)
    entry = 'rule = "openapi-invalid"\npointer = "/paths/~1gone"\nreason = "fixed upstream long ago"'
    manifest = workspace / "providers.toml"
    manifest.write_text(f"{manifest.read_text()}\n[[providers.{name}.known_defects]]\n{entry}\n")
    done = _codegen(workspace, "check")
    assert done.returncode == 0, done.stderr
    stale = [line for line in done.stderr.splitlines() if "stale" in line]
    assert stale == [
        f"warning: providers.toml#/providers/{name}/known_defects/{index}: acknowledges openapi-invalid at "
        "'/paths/~1gone', which no longer occurs: remove the entry (stale)"
    ]
    other = next((p for p in providers() if p != name), None)
    if other is not None:  # a run limited to other providers does not judge this provider's acknowledgements
        assert "stale" not in _codegen(workspace, "check", "--provider", other).stderr


def test_check_on_a_hand_edit_says_it_would_be_lost_and_how_to_keep_it(workspace: Path) -> None:
    edited = generated_file(client_class(providers()[0]).__module__)
    target = workspace / "generated" / edited
    target.write_text(target.read_text() + "# local tweak\n")
    done = _codegen(workspace, "check")
    assert done.returncode == 1
    header = target.read_text().split("\n", 1)[0].removeprefix("# Generated by kling-codegen from ")
    assert f"hand-edited: {edited} (made from {header})" in done.stdout
    steps = [line for line in done.stderr.splitlines() if line.startswith("codegen check: ")]
    assert len(steps) == 1, done.stderr
    assert "the next `codegen generate` overwrites them and the edit is lost" in steps[0]
    assert "make it in the inputs each file is made from (templates/, providers.toml, specs/" in steps[0]
    assert "out of date" not in done.stderr  # the inputs did not change: regenerating is not the fix
