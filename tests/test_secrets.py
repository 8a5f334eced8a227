"""Keys never print: the Secret wrapper, and redaction of every form a provider can echo a key back in.

Each test provokes one way a key comes back — an error body (raw, JSON-escaped, URL-encoded), a response
header, a failed job's status document, a 2xx answer that fails validation, a log record, a client's repr or
vars() — and checks it with the suite's own scan (`conftest.find_leaks`), which is written independently of
the SDK's redaction. The last tests prove that scan would catch each form.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle
from typing import Any

import conftest
import httpx
import pytest
from conftest import API_KEY, Recorder, call, find_leaks, make_client, secret_forms, texts_to_scan
from manifest_support import has_mapping
from test_boundary import PROVIDERS, TARGETS, body_with, client_class

from kling_sdk._runtime.errors import GenerationFailedError, KlingError
from kling_sdk._runtime.redact import REDACTED, Secret, logger, redact_text, redact_url
from kling_sdk.testing import FakeServer

FORMS = sorted(secret_forms(API_KEY))
WITH_FAKE = [name for name, p in PROVIDERS.items() if p.fake is not None]
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def leaks(*objects: Any) -> list[str]:
    """What the suite's scan finds in these errors, clients or texts."""
    errors = [o for o in objects if isinstance(o, BaseException)]
    texts = [o for o in objects if isinstance(o, str)]
    clients = [o for o in objects if not isinstance(o, BaseException | str)]
    return find_leaks(texts_to_scan(errors, texts, clients))


# ------------------------------------------------------------------------------------------------ the wrapper
def test_a_secret_never_prints_pickles_or_shows_in_vars() -> None:
    secret = Secret(API_KEY)
    assert repr(secret) == str(secret) == f"{secret}" == f"{secret!r}" == f"{secret:>40}".strip() == REDACTED
    assert "%s %r" % (secret, secret) == f"{REDACTED} {REDACTED}"  # noqa: UP031 - the old formatting path too
    assert secret.reveal() == API_KEY and secret == Secret(API_KEY) and secret != API_KEY
    assert copy.copy(secret) is secret and copy.deepcopy(secret) is secret
    with pytest.raises(TypeError) as refused:
        pickle.dumps(secret)
    assert not leaks(str(refused.value))
    with pytest.raises(TypeError):
        vars(secret)
    with pytest.raises(AttributeError):
        secret._value = "other"  # type: ignore[misc]


@both
@pytest.mark.parametrize("provider", sorted(PROVIDERS), ids=str)
def test_clients_hold_the_key_only_in_a_secret(provider: str, is_async: bool) -> None:
    cls = client_class(PROVIDERS[provider], is_async)
    client = cls(api_key=API_KEY, base_url="https://kling-user:url-pass-5678@proxy.example/v1")
    assert not leaks(client), leaks(client)
    assert repr(client) == f"{cls.__name__}(base_url='https://{REDACTED}@proxy.example/v1', api_key={REDACTED})"
    assert API_KEY not in repr(vars(client)) and not find_leaks([repr(vars(client))])
    assert not leaks(copy.copy(client))
    with pytest.raises(Exception) as refused:
        pickle.dumps(client)
    assert not leaks(str(refused.value))
    # Not over-redacted: the one place that sends the key still has it, and the URL's password is scrubbed too.
    assert client._headers(False, None)[PROVIDERS[provider].auth.header].endswith(API_KEY)
    assert redact_text("proxy said url-pass-5678") == f"proxy said {REDACTED}"


def test_kling_holds_its_keys_only_in_secrets() -> None:
    from kling_sdk.unified import AsyncKling, Kling

    names = [p for p in PROVIDERS if has_mapping(PROVIDERS[p])]
    for cls in (Kling, AsyncKling):
        kling = cls(names, api_keys=dict.fromkeys(names, API_KEY))
        clients = [kling.client(name) for name in names]
        assert not leaks(kling, *clients)
        assert list(kling._api_keys.values()) == [Secret(API_KEY)] * len(names)


# ------------------------------------------------------------------------------------------------ error bodies
TOKEN = "@@KEY@@"


def _fill(template: Any, text: str) -> Any:
    if isinstance(template, dict):
        return {k: _fill(v, text) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, text) for v in template]
    return template.replace("{message}", text) if isinstance(template, str) else template


def _echoing_template(provider: str) -> dict[str, Any]:
    """The provider's own error shape that carries a message: its 401 when that echoes one, else the first of its
    fake's error templates that does (a provider whose 401 is a fixed text still echoes in its other errors)."""
    fake = PROVIDERS[provider].fake
    assert fake is not None
    templates = [fake.errors["unauthorized"], *fake.errors.values()]
    return next(t for t in templates if "{message}" in json.dumps(t["body"]))


def _error_answer(provider: str, form: str) -> httpx.Response:
    """The provider's own error shape (its fake template in the manifest), echoing the key as `form` on the wire,
    in every header the provider's error shape reads and in a generic one."""
    template = _echoing_template(provider)
    text = json.dumps(_fill(template["body"], f"key {TOKEN} is not valid")).replace(TOKEN, form)
    shape = PROVIDERS[provider].errors
    headers = {"content-type": "application/json", "x-request-id": form}
    headers |= {name: form for name in (shape.request_id_header, shape.code_header) if name}
    return httpx.Response(int(template["status"]), content=text.encode(), headers=headers)


@both
@pytest.mark.parametrize("provider", WITH_FAKE, ids=str)
@pytest.mark.parametrize("form", FORMS, ids=range(len(FORMS)))
async def test_error_bodies_and_headers_echoing_the_key_are_redacted(provider: str, form: str, is_async: bool) -> None:
    http_cls = httpx.AsyncClient if is_async else httpx.Client
    http = http_cls(transport=httpx.MockTransport(lambda request: _error_answer(provider, form)))
    client = client_class(PROVIDERS[provider], is_async)(api_key=API_KEY, http_client=http, max_retries=0)
    with pytest.raises(KlingError) as info:
        await call(client, "status", "abc")
    error = info.value
    assert not leaks(error), leaks(error)
    assert REDACTED in str(error)  # scrubbed, not dropped: the rest of the message is kept
    assert "is not valid" in str(error) or "is not valid" in json.dumps(getattr(error, "body", ""))


def test_plain_text_error_bodies_are_redacted(recorder: Recorder) -> None:
    recorder.status, recorder.headers = 500, {"content-type": "text/plain"}
    recorder.body = " | ".join(FORMS)  # the Recorder JSON-encodes it: one more escaped layer
    for provider in PROVIDERS.values():
        client = make_client(client_class(provider, False), recorder, max_retries=0)
        with pytest.raises(KlingError) as info:
            client.status("abc")
        assert not leaks(info.value), leaks(info.value)


# ------------------------------------------------------------------------------------------------ status documents
@both
@pytest.mark.parametrize("provider", [p for p in WITH_FAKE if PROVIDERS[p].jobs], ids=str)
async def test_a_failed_jobs_message_and_code_echoing_the_key_are_redacted(
    fresh_fake: FakeServer, monkeypatch: pytest.MonkeyPatch, provider: str, is_async: bool
) -> None:
    """The status document carries every form of the key in its failure message and code."""
    failure = fresh_fake.app.protocols[provider]["failure"]
    echoed = " | ".join(FORMS)
    monkeypatch.setitem(failure, "message", f"upstream rejected {echoed}")
    monkeypatch.setitem(failure, "code", FORMS[0])
    fresh_fake.app.inject(provider, "submit", fail_generation=True)
    client = fresh_fake.client(provider, is_async=is_async)
    _, operation, field = next(t for t in TARGETS if t[0] == provider)
    url = "https://example.com/a.png"
    with pytest.raises(GenerationFailedError) as info:
        await call(client, operation.replace("submit_", "run_"), body_with(provider, operation, field, url))
    error = info.value
    assert not leaks(error), leaks(error)
    assert error.message.count(REDACTED) == len(FORMS), error.message  # each form found, none merged or missed


# ------------------------------------------------------------------------------------------------ answers that do not fit
@both
@pytest.mark.parametrize("provider", [p for p in PROVIDERS if PROVIDERS[p].jobs], ids=str)
@pytest.mark.parametrize(
    "answer",
    [
        [API_KEY, {"echo": API_KEY}],
        {"status": {"echo": API_KEY}, "request_id": ["x" * 40 + API_KEY + "y" * 40], "generation_id": [API_KEY]},
        {"status": 12345, "id": {"k": "z" * 100 + API_KEY}, "generations": API_KEY, "error": [API_KEY] * 3},
    ],
    ids=["list", "wrong-types", "long-values"],
)
async def test_validation_errors_of_2xx_answers_never_show_the_key(
    recorder: Recorder, provider: str, answer: Any, is_async: bool
) -> None:
    """pydantic's text shows input values (and truncates long ones, which would defeat redaction): not used."""
    recorder.body = answer
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    op = client._provider.jobs.status_op
    with pytest.raises(KlingError) as info:
        if op.id_in == "path":
            await call(client, op.name, "abc")
        else:
            await call(client, op.name, **{op.id_param: "abc"})
    assert not leaks(info.value), leaks(info.value)
    assert "unexpected" in str(info.value) and REDACTED not in str(info.value)  # no value was shown at all


# ------------------------------------------------------------------------------------------------ logs
def test_log_records_and_their_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        for form in FORMS:
            logger.warning("provider said %s", form)
        try:
            raise RuntimeError(f"transport failed for {FORMS[-1]}")
        except RuntimeError:
            logger.exception("while sending")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert not find_leaks([text]), text
    assert text.count(REDACTED) == len(FORMS) + 1


# ------------------------------------------------------------------------------------------------ the policy
@pytest.mark.parametrize("form", FORMS, ids=range(len(FORMS)))
def test_redact_text_covers_every_form(form: str) -> None:
    Secret(API_KEY)  # registered
    assert redact_text(f"a {form} b") == f"a {REDACTED} b"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.example/v1", "https://api.example/v1"),
        ("https://user:pass@api.example/v1", f"https://{REDACTED}@api.example/v1"),
        ("https://token@api.example", f"https://{REDACTED}@api.example"),
        ("http://a:b@127.0.0.1:8000/x?y=1", f"http://{REDACTED}@127.0.0.1:8000/x?y=1"),
    ],
)
def test_urls_with_credentials_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_short_strings_are_not_secrets() -> None:
    Secret("abc")
    assert redact_text("abc abcd") == "abc abcd"


# ------------------------------------------------------------------------------------------------ the scan itself
@pytest.mark.parametrize("form", FORMS, ids=range(len(FORMS)))
def test_the_scan_catches_every_form(form: str) -> None:
    assert find_leaks([f"text {form} text"]) and not find_leaks(["text " + REDACTED + " text"])


def test_the_scan_looks_at_attributes_causes_logs_reprs_and_vars() -> None:
    class Leaky:
        def __init__(self) -> None:
            self.key = API_KEY.replace("/", "\\/")

        def __repr__(self) -> str:
            return "Leaky()"

    error = KlingError("fine")
    BaseException.__setattr__(error, "detail", API_KEY)  # bypass the SDK's redaction, as a careless subclass might
    chained = KlingError("fine too")
    chained.__cause__ = ValueError(json.dumps({"k": API_KEY}))
    try:
        assert leaks(error) and leaks(chained)
        assert find_leaks(texts_to_scan([], [f"GET /?key={FORMS[-1]}"], []))
        assert find_leaks(texts_to_scan([], [], [Leaky()]))
    finally:  # planted on purpose: keep them out of the suite's own scan
        conftest._seen_errors.remove(error)
        conftest._seen_errors.remove(chained)


def test_the_scan_records_the_suites_errors_and_clients(recorder: Recorder) -> None:
    client = make_client(client_class(PROVIDERS[next(iter(PROVIDERS))], False), recorder)
    error = KlingError("recorded")
    assert client in conftest._seen_clients and error in conftest._seen_errors
