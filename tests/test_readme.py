"""The README's Python snippets type-check under `mypy --strict`, each as a module of its own.

A block may be left out only by the line `<!-- readme: not standalone (why) -->` right above its fence; the first
snippet and the step-by-step one never are.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT

README = ROOT / "README.md"
SKIP = re.compile(r"<!-- readme: not standalone \((?P<why>[^)]+)\) -->\s*$")
FENCE = re.compile(r"^```python\n(?P<code>.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Snippet:
    line: int  # where its fence is in the README
    code: str
    skipped: str | None  # why it is not checked, if it is marked


def snippets(text: str) -> list[Snippet]:
    """Every ```python block of a Markdown text, with its line and its skip mark."""
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = SKIP.match(before.strip())
        found.append(Snippet(text.count("\n", 0, match.start()) + 1, match.group("code"), mark and mark.group("why")))
    return found


def test_the_snippets_are_found_and_marks_are_read() -> None:
    text = "a\n```python\nx = 1\n```\n<!-- readme: not standalone (needs a key) -->\n```python\ny\n```\n"
    assert snippets(text) == [Snippet(2, "x = 1\n", None), Snippet(6, "y\n", "needs a key")]


def test_the_readme_snippets_pass_mypy_strict(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    found = snippets(text)
    step_by_step = text.index("Or step by step")
    first_step = next(s for s in found if text.index(s.code) > step_by_step)
    assert found[0].skipped is None and first_step.skipped is None, "the first and the step-by-step are checked"
    paths = []
    for snippet in found:
        if snippet.skipped is None:
            path = tmp_path / f"readme_line_{snippet.line}.py"
            path.write_text(snippet.code, encoding="utf-8")
            paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *paths],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"README.md snippets (readme_line_N.py: the fence at line N):\n{done.stdout}"


PIP_INSTALL = re.compile(r"pip install (?P<args>[^`&\n]+)")


def test_every_install_the_readme_shows_is_from_the_repository() -> None:
    """Nothing is published to a package index: each `pip install` names a path of this repository."""
    installs = [m.group("args").split() for m in PIP_INSTALL.finditer(README.read_text(encoding="utf-8"))]
    assert installs
    for args in installs:
        targets = [a.strip("'\"") for a in args if not a.startswith("-")]
        assert targets and all(t.startswith(".") for t in targets), args
        for target in targets:
            assert (ROOT / re.sub(r"\[[^\]]*\]$", "", target)).is_dir(), target
