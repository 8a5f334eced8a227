"""Vendored documents the lock calls fetched are the real ones: byte-identical to the reference copies kept beside
the repository (`../shared/provider-schemas`, when present), and every transcribed one says so."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from manifest_support import ROOT

LOCK = json.loads((ROOT / "specs" / "lock.json").read_text())["files"]
REFERENCE = ROOT.parent / "shared" / "provider-schemas"


def test_every_lock_origin_says_fetched_transcribed_or_built() -> None:
    for path, entry in LOCK.items():
        assert entry["origin"].startswith(("fetched", "transcribed from ", "built from ")), (path, entry["origin"])


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="no reference copies beside this checkout")
def test_documents_with_a_reference_copy_are_byte_identical_and_locked_as_fetched() -> None:
    copies = {p.name: p for p in REFERENCE.rglob("*.json")}
    compared = 0
    for path, entry in LOCK.items():
        copy = copies.get(Path(path).name)
        if copy is None:
            continue
        compared += 1
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == entry["sha256"], path
        assert (ROOT / path).read_bytes() == copy.read_bytes(), path
        assert entry["origin"].startswith("fetched"), (path, entry["origin"])
    assert compared, "no vendored document has a reference copy"
