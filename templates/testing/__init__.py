"""A fake of every Kling provider for tests and demos: a real HTTP server on loopback, driven by the specs.

    with serve(queued=1, running=3) as fake:
        client = fake.client("fal")                  # or FalClient(base_url=fake.base_url("fal"), api_key=...)
        result = client.run_text_to_video({"prompt": "a fox"})
        fake.app.inject("fal", "get_status", Fault(status=429, retry_after=1))
        assert fake.app.count("fal", "submit") == 1

Command line: `python -m kling_sdk.testing serve --port 8000`. pytest: the `kling_fake` fixture.
Needs the `testing` extra (uvicorn, jsonschema).
"""

from .app import FakeProvider, Fault, body_digest, load_protocols, sample_video
from .serve import FAKE_KEY, FakeServer, VirtualClock, serve

__all__ = [
    "FAKE_KEY",
    "FakeProvider",
    "FakeServer",
    "Fault",
    "VirtualClock",
    "body_digest",
    "load_protocols",
    "sample_video",
    "serve",
]
