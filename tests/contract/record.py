"""Record mode: re-run each fixture's call against a live provider (or the fake) and write what went over the wire.

    KLING_RECORD=1 FAL_KEY=... python -m pytest tests/contract/test_record.py   # writes tests/fixtures.recorded/fal/
    diff -ru tests/fixtures tests/fixtures.recorded                           # review what the provider does now
    python tests/contract/promote.py [--provider fal] [SCENARIO ...]          # copy the reviewed ones over

The call goes through the same generated client as replay; the key is redacted, signed URL queries dropped. The
recordings go to a separate tree (`KLING_RECORD_DIR`, default tests/fixtures.recorded, not committed): the committed
fixtures are the contract, changed only by a reviewed promotion, never overwritten by a recording run.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from contract_support import FIXTURES, REDACTED, ROOT, Fixture
from manifest_support import client_class, job_id_parameter

from kling_sdk._runtime.errors import KlingError
from kling_sdk._runtime.jobs import Job

RECORDED = Path(os.environ.get("KLING_RECORD_DIR") or ROOT / "tests" / "fixtures.recorded")
_SIGNED = re.compile(r"(https?://[^\s\"?]+)\?[^\s\"]*", re.I)


def redact_urls(value: Any) -> Any:
    """Drop the query of every URL in a JSON value: signed CDN URLs carry their credentials there."""
    if isinstance(value, dict):
        return {k: redact_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_urls(v) for v in value]
    if isinstance(value, str) and value.startswith("http") and "?" in value:
        return _SIGNED.sub(lambda m: f"{m[1]}?{REDACTED}", value)
    return value


class Recorder(httpx.HTTPTransport):
    """A real transport that keeps every exchange."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        scheme = request.headers.get("authorization", "").split(" ")[0]
        headers = {"authorization": f"{scheme} {REDACTED}"}
        if request.content:
            headers["content-type"] = request.headers.get("content-type", "")
        try:
            body = response.json()
        except ValueError:
            body = None
        self.exchanges.append({
            "request": {"method": request.method, "url": str(request.url), "headers": headers,
                        "json": json.loads(request.content) if request.content else None},
            "response": {"status": response.status_code,
                         "headers": {"content-type": response.headers.get("content-type", "")},
                         "json": redact_urls(body)},
        })  # fmt: skip
        return response


def record(
    fixture: Fixture,
    *,
    api_key: str,
    base_url: str | None,
    jobs: dict[str, Job[Any]],
    wait: float = 600,
    pause: Any = lambda: time.sleep(1.0),
) -> Fixture | None:
    """Re-record one fixture; None when its scenario's state was not reached (the old file is then kept).

    Calls that take a job id use the job this session's submit created; `status_<state>` scenarios wait for it.
    """
    if fixture.path.stem == "auth_error":
        api_key = "invalid-key-for-recording"
    call = dict(fixture.data["call"])
    wanted = fixture.path.stem.removeprefix("status_") if fixture.path.stem.startswith("status_") else None
    with client_class(fixture.provider, False, fixture.model)(
        api_key=api_key, base_url=base_url, max_retries=0
    ) as probe:
        job = jobs.get(fixture.provider)
        ident = job_id_parameter(fixture.provider, call["operation"], fixture.model)
        if "arguments" in call and job is not None and ident in call["arguments"]:
            call["arguments"] = {**call["arguments"], ident: job.id}
            deadline = time.monotonic() + wait
            while wanted and (state := probe.status(job).state) != wanted:
                if time.monotonic() > deadline or state not in ("queued", "running", "unknown"):
                    return None
                pause()
    recorder = Recorder()
    http = httpx.Client(transport=recorder)
    client = client_class(fixture.provider, False, fixture.model)(
        api_key=api_key, base_url=base_url, http_client=http, max_retries=0
    )
    with http, client:
        try:
            if "request" in call:
                result = getattr(client, call["operation"])(call["request"], extra_body=call.get("extra_body"))
                if isinstance(result, Job) and fixture.path.stem.startswith("submit_"):
                    jobs.setdefault(fixture.provider, result)
            else:
                result = getattr(client, call["operation"])(**call["arguments"])
        except KlingError as exc:
            raised: KlingError | None = exc
        else:
            raised = None
    expect = dict(fixture.data.get("expect", {}))
    if ("error" in expect) != (raised is not None):
        return None  # the scenario did not happen this time
    if raised is not None:
        expect = {"error": type(raised).__name__, "message": getattr(raised, "message", str(raised))}
        expect.update({k: getattr(raised, k) for k in ("code", "request_id") if getattr(raised, k, None)})
    else:
        # What this recording shows: the job it made, and the state it was recorded in (waited for by name).
        expect.pop("status", None)
        if isinstance(result, Job):
            expect["job_id"] = result.id
        if wanted:
            expect["status"] = {"state": wanted}
    data = {**fixture.data, "call": call, "exchanges": recorder.exchanges, "expect": expect}
    data["provenance"] = {"source": f"recorded from {base_url or 'the provider'} with KLING_RECORD=1",
                          "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    if base_url:
        data["base_url"] = base_url
    return Fixture(fixture.path, data)


def write(fixture: Fixture, root: Path) -> Path:
    """Write a recorded fixture under root/<provider>/<scenario>.json; never into the committed fixtures."""
    if root.resolve() == FIXTURES.resolve():
        raise ValueError(f"{root} holds the committed fixtures: record elsewhere, review, then promote (promote.py)")
    path = root / fixture.provider / fixture.path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
