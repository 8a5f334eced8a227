"""The public API: `kling_sdk.errors` and `kling_sdk.types` as the documented homes, re-exported where users look;
context managers that keep their type; every refused request an `InvalidRequestError`, however it was built; async
callbacks awaited; a readable `Progress` reported once per news."""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, ROOT, call
from manifest_support import (
    client_class,
    invalid_requests,
    neutral_base,
    neutral_params,
    providers,
    request_properties,
    sdk_module,
    simplest_submit,
    submit_body,
    submits,
)

import kling_sdk.errors
import kling_sdk.types
from kling_sdk._runtime import errors as runtime_errors
from kling_sdk._runtime.models import NEUTRAL
from kling_sdk.errors import InvalidRequestError, KlingError
from kling_sdk.types import Progress
from kling_sdk.unified import DEFAULT_MODEL, TASKS, AsyncKling, Kling

both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
SUBMITS = submits()
SUBMIT_IDS = [f"{name}-{op.model}-{op.name}" for name, op in SUBMITS]


def _public(module: Any) -> dict[str, Any]:
    return {name: getattr(module, name) for name in module.__all__}


# ---------------------------------------------------------------------------------------------- where things live
def test_every_error_lives_in_kling_sdk_errors_in_one_tree() -> None:
    defined = {
        name for name, value in vars(runtime_errors).items()
        if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == runtime_errors.__name__
    }  # fmt: skip
    sdk_errors = {name for name in defined if issubclass(getattr(runtime_errors, name), KlingError)}
    assert set(kling_sdk.errors.__all__) == sdk_errors, "every error the runtime defines, and only those"
    assert all(issubclass(cls, KlingError) for cls in _public(kling_sdk.errors).values())
    assert issubclass(InvalidRequestError, ValueError)
    for name in sdk_errors:  # the docstring draws the whole tree
        assert name in (kling_sdk.errors.__doc__ or ""), name


def test_the_core_types_live_in_kling_sdk_types() -> None:
    wanted = {"Job", "JobStatus", "JobState", "VideoResult", "Progress", "PollPolicy", "LocalFile", "Failure"}
    assert wanted <= set(kling_sdk.types.__all__)
    assert all(not getattr(value, "__module__", "").endswith("types") for value in _public(kling_sdk.types).values())


@pytest.mark.parametrize("where", ["kling_sdk.unified", *(sdk_module(name).__name__ for name in providers())])
def test_errors_and_types_are_re_exported_where_users_look(where: str) -> None:
    module = importlib.import_module(where)
    for home in (kling_sdk.errors, kling_sdk.types):
        for name, value in _public(home).items():
            assert name in module.__all__, f"{where} does not export {name}"
            assert getattr(module, name) is value, f"{where}.{name} is not {home.__name__}.{name}"


# ---------------------------------------------------------------------------------------------- typing
def _mypy(tmp_path: Path, modules: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """mypy --strict over snippet modules, from the repository (its config, its cache)."""
    paths = []
    for name, text in modules.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / f"{name}.py"))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *paths],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_context_managers_keep_the_client_type_under_mypy_strict(tmp_path: Path) -> None:
    lines = ["from typing import assert_type", "from kling_sdk.unified import AsyncKling, InvalidRequestError, Kling"]
    body = ["def sync() -> None:", "    with Kling() as kling:", "        assert_type(kling, Kling)"]
    body_async = ["async def asynchronous() -> None:", "    async with AsyncKling() as kling:"]
    body_async.append("        assert_type(kling, AsyncKling)")
    for name in providers():
        sync, asynchronous = client_class(name), client_class(name, True)
        module = sdk_module(name).__name__
        lines.append(f"from {module} import {sync.__name__}, {asynchronous.__name__}")
        body += [f"    with {sync.__name__}() as c_{name}:", f"        assert_type(c_{name}, {sync.__name__})"]
        body += [f"        c_{name}.{simplest_submit(name).name.replace('submit_', 'run_')}"]
        body_async += [f"    async with {asynchronous.__name__}() as a_{name}:"]
        body_async += [f"        assert_type(a_{name}, {asynchronous.__name__})"]
    body += [
        "    try:",
        "        pass",
        "    except InvalidRequestError as exc:",
        "        print(exc.provider, exc.field)",
    ]
    done = _mypy(tmp_path, {"uses_the_sdk": "\n".join([*lines, "", *body, "", *body_async]) + "\n"})
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_entering_a_client_gives_the_client_itself(is_async: bool) -> None:
    for name in providers():
        client = client_class(name, is_async)(api_key=API_KEY)
        if is_async:
            async with client as entered:
                assert entered is client
        else:
            with client as entered:
                assert entered is client
    kling = (AsyncKling if is_async else Kling)(api_keys={})
    if is_async:
        async with kling as entered_kling:
            assert entered_kling is kling
    else:
        with kling as entered_kling:
            assert entered_kling is kling


# ---------------------------------------------------------------------------------------------- validation
def _too_long(task: str) -> tuple[str, int]:
    declared = next(p for p in neutral_params(task) if p.max_length is not None)
    return declared.name, declared.max_length


@pytest.mark.parametrize("task", list(TASKS))
def test_a_neutral_request_breaking_its_rules_is_an_invalid_request_error(task: str) -> None:
    cls = TASKS[task]
    field, limit = _too_long(task)
    data = neutral_base(task, **{field: "x" * (limit + 1)})
    built = [lambda: cls(**data), lambda: cls.model_validate(data), lambda: cls.model_validate_json(json.dumps(data))]
    for build in built:
        with pytest.raises(InvalidRequestError) as info:
            build()
        assert (info.value.provider, info.value.field) == (NEUTRAL, field)
        assert str(info.value).startswith(f"[{NEUTRAL}] {field}: ")
    request = cls(**neutral_base(task))
    with pytest.raises(InvalidRequestError):  # frozen: a request never changes after it was checked
        setattr(request, field, "x")
    try:  # what a caller writes, catching one kind
        cls(**data)
    except ValueError as exc:
        assert isinstance(exc, InvalidRequestError)


@pytest.mark.parametrize(("name", "op"), SUBMITS, ids=SUBMIT_IDS)
def test_a_provider_request_model_refuses_with_an_invalid_request_error_however_built(name: str, op: Any) -> None:
    cls = getattr(sdk_module(name, op.model), op.request)
    for why, field, body in invalid_requests(name, op.name, op.model):
        for how, build in (
            ("constructor", lambda body=body: cls(**body)),
            ("model_validate", lambda body=body: cls.model_validate(body)),
            ("model_validate_json", lambda body=body: cls.model_validate_json(json.dumps(body))),
        ):
            with pytest.raises(InvalidRequestError) as info:
                build()
            assert info.value.provider == name, (why, how)
            assert field in str(info.value), (why, how, str(info.value))


@pytest.mark.parametrize(("name", "op"), SUBMITS, ids=SUBMIT_IDS)
def test_assigning_a_bad_value_to_a_request_is_an_invalid_request_error(name: str, op: Any) -> None:
    cls = getattr(sdk_module(name, op.model), op.request)
    request = cls.model_validate(submit_body(name, op.name, model=op.model))
    properties = request_properties(name, op.name, op.model)
    limited = [f for f, prop in properties.items() if "maxLength" in json.dumps(prop)]
    field = next(iter(limited), None) or next(iter(properties))
    attribute = next(n for n, info in cls.model_fields.items() if (info.alias or n) == field)
    with pytest.raises(InvalidRequestError) as info:
        setattr(request, attribute, 12345 if not limited else "x" * 100_000)
    assert info.value.provider == name and field in str(info.value)


# ---------------------------------------------------------------------------------------------- callbacks
@pytest.mark.parametrize("name", providers())
async def test_async_callbacks_are_awaited_by_the_async_client(fresh_fake: Any, name: str, tmp_path: Path) -> None:
    client = fresh_fake.client(name, is_async=True)
    op = simplest_submit(name)
    done: list[str] = []

    async def on_progress(update: Progress) -> None:
        await asyncio.sleep(0)
        done.append(f"progress {update.state}")

    async def on_submitted(job: Any) -> None:
        await asyncio.sleep(0)
        done.append("submitted")

    async def on_bytes(written: int, total: int | None) -> None:
        await asyncio.sleep(0)
        done.append("bytes")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would be a RuntimeWarning
        run = getattr(client, op.name.replace("submit_", "run_"))
        result = await run(submit_body(name, op.name), on_progress=on_progress, on_submitted=on_submitted)
        await client.download(result, tmp_path / "out.mp4", on_bytes=on_bytes)
        gc.collect()
    assert done[0] == "submitted" and "progress succeeded" in done and done[-1] == "bytes", done


async def test_async_callbacks_are_awaited_by_async_kling(fresh_fake: Any, tmp_path: Path) -> None:
    task = next(iter(TASKS))
    name = next(p for p in providers() if p in fresh_fake.base_urls and (p, DEFAULT_MODEL, task) in _adapters())
    seen: list[str] = []

    async def on_progress(update: Progress) -> None:
        await asyncio.sleep(0)
        seen.append(update.state)

    async with AsyncKling(name, api_keys={name: API_KEY}, base_url=fresh_fake.base_url(name)) as kling:
        kling.client(name)._clock = fresh_fake.app.clock
        await kling.run(TASKS[task](**neutral_base(task)), on_progress=on_progress)
    assert seen and seen[-1] == "succeeded"


def _adapters() -> set[tuple[str, str, str]]:
    from kling_sdk.unified import ADAPTERS  # (provider, model, task)

    return set(ADAPTERS)


def test_an_async_callback_given_to_a_sync_client_is_closed_with_a_warning(fresh_fake: Any) -> None:
    name = providers()[0]
    client = fresh_fake.client(name)
    op = simplest_submit(name)

    async def on_progress(update: Progress) -> None:
        raise AssertionError("a sync client cannot run it")

    with pytest.warns(RuntimeWarning, match="sync client cannot await"):
        getattr(client, op.name.replace("submit_", "run_"))(submit_body(name, op.name), on_progress=on_progress)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.collect()  # closed, so no "never awaited" warning is left to come


# ---------------------------------------------------------------------------------------------- progress
def test_progress_reads_well() -> None:
    update = Progress("abc", "queued", "IN_QUEUE", 4.607000050782517e-06, 3, (), "submit")
    assert repr(update) == "Progress(job_id='abc', state='queued', raw_status='IN_QUEUE', elapsed=0.0, queue_position=3, source='submit')"  # fmt: skip
    long = Progress("abc", "running", "IN_PROGRESS", 12.345, None, ("a", "b", "40%"), "stream")
    assert repr(long) == "Progress(job_id='abc', state='running', raw_status='IN_PROGRESS', elapsed=12.3, logs=(…3 lines, last '40%'), source='stream')"  # fmt: skip


@both
@pytest.mark.parametrize("name", providers())
async def test_each_observation_is_reported_once(fresh_fake: Any, name: str, is_async: bool) -> None:
    client = fresh_fake.client(name, is_async=is_async)
    op = simplest_submit(name)
    seen: list[Progress] = []
    await call(client, op.name.replace("submit_", "run_"), submit_body(name, op.name), on_progress=seen.append)
    facts = [(p.state, p.raw_status, p.queue_position, p.logs) for p in seen]
    # What the submit's answer said is not said again by the first check, nor a queued job's by every poll.
    repeated = [i for i in range(1, len(seen)) if facts[i] == facts[i - 1]]
    assert seen and not repeated, seen[:3]
