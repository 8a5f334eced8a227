"""No payload runs and nothing outside the manifest is read or fetched: fetch, generate, check, list, drift, import.

One hostile document carries code in every text position it reaches (summaries, descriptions, titles, enum values,
defaults, names) and references out of the document: to a secret file, to a FIFO, to a loopback listener. The whole
command set then runs over it. Proofs: the canary file never appears; the listener never sees a connection; the FIFO
never gets a reader and the secret file is never opened (an audit hook in this process watches both) nor quoted;
the provider stand-in serves exactly the URL the manifest names.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from test_hostile_specs import BASE, CANARY, PAYLOADS, RUN

from codegen.cli import main
from codegen.drift.fetch import LOOPBACK_ENV

_WATCHED: set[str] = set()
_OPENED: list[str] = []
_WATCHERS: set[int] = set()  # threads of this module whose own opens do not count


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if (
        event == "open"
        and _WATCHED
        and threading.get_ident() not in _WATCHERS
        and isinstance(args[0], str | bytes | os.PathLike)
    ):
        path = os.fsdecode(args[0])
        if os.path.abspath(path) in _WATCHED:
            _OPENED.append(path)


sys.addaudithook(_audit)  # cannot be removed; it only looks at the paths this module watches


class Listener:
    """A loopback TCP port that counts every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


class Upstream:
    """The provider stand-in: serves the hostile document at one path and records every request."""

    def __init__(self, body: bytes) -> None:
        self.paths: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.paths.append(self.path)
                ok = self.path == "/acme/spec.json"
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) if ok else 0))
                self.end_headers()
                if ok:
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_document(listener: int, secret: Path, fifo: Path) -> dict[str, Any]:
    spec = json.loads((BASE / "spec.json").read_text())
    schemas = spec["components"]["schemas"]
    spec["info"]["description"] = PAYLOADS["triple"]
    spec["paths"]["/jobs"]["post"]["summary"] = PAYLOADS["triple"]
    spec["paths"]["/jobs"]["get"]["parameters"][0]["description"] = PAYLOADS["cr"]
    spec["paths"]["/jobs/{job_id}"]["get"]["parameters"][0]["description"] = PAYLOADS["backslash_newline"]
    schemas["Input"]["description"] = PAYLOADS["triple_single"] + PAYLOADS["trailing_quote"]
    schemas["Input"]["properties"]["prompt"]["description"] = PAYLOADS["line_separators"]
    schemas["Input"]["properties"]["mode"] = {"type": "string", "enum": ["std", PAYLOADS["triple"]], "default": "std"}
    schemas["Input"]["properties"][f'x"""\n{RUN}\n"""'] = {"type": "string", "default": PAYLOADS["cr"]}
    schemas["Input"]["properties"]["obj"] = {"type": "object", "title": RUN, "properties": {"a": {"type": "string"}}}
    schemas["Style"]["description"] = PAYLOADS["jinja"]
    schemas["Remote"] = {"$ref": f"http://127.0.0.1:{listener}/remote.json#/x"}
    schemas["Secret"] = {"$ref": secret.as_uri()}
    schemas["Fifo"] = {"$ref": fifo.as_uri()}
    schemas["Rebased"] = {"$id": f"http://127.0.0.1:{listener}/", "type": "object",
                          "properties": {"a": {"$ref": "#/components/schemas/Remote"}}}  # fmt: skip
    return spec


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    listener = Listener()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("TOP-SECRET-5f1c9 not for any output\n")
    fifo = outside / "fifo"
    os.mkfifo(fifo)
    body = json.dumps(hostile_document(listener.port, secret, fifo), indent=1).encode()
    upstream = Upstream(body)
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs").mkdir()
    (project / "specs" / "spec.json").write_text(json.dumps(json.loads((BASE / "spec.json").read_text()), indent=1))
    manifest = (BASE / "providers.toml").read_text()
    manifest = manifest.replace('templates = "../../templates"', f"templates = {json.dumps(str(ROOT / 'templates'))}")
    manifest = manifest.replace('lock = "lock.json"', 'lock = "specs/lock.json"')
    manifest = manifest.replace(
        'main = { path = "spec.json", format = "openapi" }',
        f'main = {{ path = "specs/spec.json", format = "openapi", url = "http://127.0.0.1:{upstream.port}/acme/spec.json" }}'
        '\n\n[providers.acme.fetch]\nhosts = ["127.0.0.1"]\nauth = "none"',
    )
    (project / "providers.toml").write_text(manifest)
    monkeypatch.setenv(LOOPBACK_ENV, "1")
    _WATCHED.update({str(secret), str(fifo), str(CANARY)})
    watch = FifoWatch(fifo)
    try:
        yield {"project": project, "listener": listener, "upstream": upstream, "secret": secret, "fifo": watch}
    finally:
        watch.close()
        _WATCHED.clear()
        listener.close()
        upstream.close()


class FifoWatch:
    """Polls the FIFO for a reader: one that opened it is recorded and released (never a hung test)."""

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.readers = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        _WATCHERS.add(threading.get_ident())
        while not self.done.wait(0.05):
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: nobody has it open for reading
                    raise
                continue
            self.readers += 1
            os.close(fd)

    def close(self) -> None:
        self.done.set()
        self.thread.join()


def test_every_command_keeps_to_the_document_and_runs_nothing(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    project: Path = world["project"]
    manifest = str(project / "providers.toml")
    outputs = []

    def run(*args: str) -> int:
        code = main([*args, "--manifest", manifest])
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
        assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
        return code

    assert run("fetch") == 0, outputs[-1]
    assert world["upstream"].paths == ["/acme/spec.json"]
    assert run("generate") == 0, outputs[-1]
    assert run("check") == 0, outputs[-1]
    assert run("list") == 0, outputs[-1]
    candidates = project / "candidates"
    shutil.copytree(project / "specs", candidates)
    edited = json.loads((candidates / "spec.json").read_text())
    edited["components"]["schemas"]["Input"]["properties"]["prompt"]["maxLength"] = 50
    (candidates / "spec.json").write_text(json.dumps(edited))
    assert run("drift", "--against", str(candidates), "--fail-on", "never", "--no-impact") == 0, outputs[-1]
    (project / "no-fixtures").mkdir()
    fixtures = str(project / "no-fixtures")
    assert run("drift", "--against", str(candidates), "--fail-on", "never", "--fixtures", fixtures) == 0, outputs[-1]
    probe = (
        "import acme_sdk.acme as m\n"
        "r = m.TextToVideoRequest(prompt='p', mode=m.TextToVideoRequest.model_fields['mode'].annotation.__args__[1])\n"
        "print(sorted(r.to_wire()))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=project / "out", capture_output=True, text=True)
    assert done.returncode == 0 and "'mode'" in done.stdout, done.stderr

    assert not CANARY.exists(), "a payload ran"
    assert world["listener"].connections == 0, "something followed a reference to the loopback listener"
    assert world["upstream"].paths == ["/acme/spec.json"], "fetch asked for something the manifest does not name"
    assert _OPENED == [], f"opened outside the manifest: {_OPENED}"
    world["fifo"].close()
    assert world["fifo"].readers == 0, "the FIFO was opened"
    secret = world["secret"].read_text().strip()
    generated = [p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()]
    assert all(secret not in text for text in outputs) and all(secret.encode() not in data for data in generated)
    assert "leaves the document: not followed" in "".join(outputs)
