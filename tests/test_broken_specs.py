"""A broken spec is an error naming file and JSON pointer; the output tree is left untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.cli import main

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if (p / "expected.txt").exists())


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_broken_spec_reports_file_and_pointer(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    sentinel = out / "case_sdk" / "acme" / "models.py"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("# previous generation\n")

    code = main(["generate", "--manifest", str(case / "providers.toml"), "--output", str(out)])

    stderr = capsys.readouterr().err
    assert code == 2
    for expected in (case / "expected.txt").read_text().splitlines():
        assert expected in stderr
    assert "nothing was written" in stderr
    assert [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()] == ["case_sdk/acme/models.py"]
    assert sentinel.read_text() == "# previous generation\n"
