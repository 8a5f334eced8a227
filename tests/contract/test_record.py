"""Record mode, tested against the fake provider; with KLING_RECORD=1 and keys it re-records from the providers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import API_KEY
from contract_support import FIXTURES, Fixture, load_fixtures
from manifest_support import provider, providers
from promote import promote
from record import RECORDED, record, write
from test_replay import replay

from kling_sdk.testing import FakeServer

# What the fake can be made to do on demand; failures, cancellations and model errors are scripted per test.
REPRODUCIBLE = ("submit_", "status_queued", "status_running", "status_succeeded", "result", "list", "auth_error")
KEYS = {name: provider(name).auth.env for name in providers()}


def _reproducible(fixture: Fixture) -> bool:
    return fixture.path.stem.startswith(REPRODUCIBLE) and not fixture.path.stem.endswith("_failed")


def _session_order(fixtures: list[Fixture]) -> list[Fixture]:
    """Submits first (they create the job the other calls follow), then states in the order they happen."""
    rank = ("submit_", "status_queued", "status_running", "list", "status_succeeded", "result", "auth_error")
    return sorted(fixtures, key=lambda f: next(i for i, p in enumerate(rank) if f.path.stem.startswith(p)))


async def test_record_mode_rewrites_fixtures_that_replay_and_hold_no_secret(
    fresh_fake: FakeServer, tmp_path: Path
) -> None:
    fake = fresh_fake
    wanted = [f for f in load_fixtures() if _reproducible(f)]
    jobs: dict = {}
    written = []
    for fixture in _session_order(wanted):
        recorded = record(
            fixture, api_key=API_KEY, base_url=fake.base_url(fixture.provider), jobs=jobs, wait=5,
            pause=lambda: fake.app.clock.sleep(5),
        )  # fmt: skip
        assert recorded is not None, f"{fixture.name}: state not reached on the fake"
        written.append(write(recorded, tmp_path))
    assert len(written) == len(wanted) and {p.parent.name for p in written} == {f.provider for f in load_fixtures()}
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert API_KEY not in text and "token=" not in text, path
        fixture = Fixture(path, json.loads(text))
        assert fixture.data["provenance"]["recorded_at"]
        await replay(fixture, is_async=False)


@pytest.mark.skipif(os.environ.get("KLING_RECORD") != "1", reason="set KLING_RECORD=1 and provider keys to re-record")
@pytest.mark.parametrize("provider", sorted(KEYS))
def test_rerecord_fixtures_from_the_live_provider(provider: str) -> None:
    key = os.environ.get(KEYS[provider])
    if not key:
        pytest.skip(f"{KEYS[provider]} is not set")
    jobs: dict = {}
    base_url = os.environ.get(f"{provider.upper()}_BASE_URL")
    for fixture in _session_order([f for f in load_fixtures() if f.provider == provider and _reproducible(f)]):
        recorded = record(fixture, api_key=key, base_url=base_url, jobs=jobs)
        if recorded is not None:
            write(recorded, RECORDED)  # reviewed with `diff -ru tests/fixtures <RECORDED>`, then promote.py


def test_record_mode_never_writes_the_committed_fixtures(tmp_path: Path) -> None:
    fixture = load_fixtures()[0]
    assert RECORDED.resolve() != FIXTURES.resolve()
    before = fixture.path.read_bytes()
    changed = Fixture(fixture.path, {**fixture.data, "provenance": {"source": "a recording"}})
    with pytest.raises(ValueError, match="committed fixtures"):
        write(changed, FIXTURES)
    assert fixture.path.read_bytes() == before
    assert write(changed, tmp_path) == tmp_path / fixture.provider / fixture.path.name


def test_reviewed_recordings_are_promoted_by_name(tmp_path: Path) -> None:
    recorded, committed = tmp_path / "recorded", tmp_path / "fixtures"
    names = providers()
    for name in names:
        for scenario, text in (("submit_x", "new\n"), ("status_y", "same\n")):
            (recorded / name).mkdir(parents=True, exist_ok=True)
            (recorded / name / f"{scenario}.json").write_text(text)
        (committed / name).mkdir(parents=True)
        (committed / name / "status_y.json").write_text("same\n")
        (committed / name / "submit_x.json").write_text("old\n")
    chosen = names[0]
    report = promote(recorded, committed, providers=[chosen], scenarios=["submit_x"])
    assert report == [f"updated {chosen}/submit_x.json"]
    assert (committed / chosen / "submit_x.json").read_text() == "new\n"
    assert not (recorded / chosen / "submit_x.json").exists()  # promoted: no longer pending review
    for other in names[1:]:
        assert (committed / other / "submit_x.json").read_text() == "old\n"
    everything = promote(recorded, committed)
    assert f"unchanged {chosen}/status_y.json" in everything and len(everything) == 2 * len(names) - 1
