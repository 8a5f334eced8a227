"""Issue 15's model axis shown against the fake and the generated code: provider × model × task.

Which (provider, model) pairs run, which durations each model allows, which provider wraps its parameters in an
envelope: all of it is read from the manifest and the vendored specs, never written down here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY
from manifest_support import (
    ROOT,
    all_models,
    at,
    base_url_env,
    has_fake,
    has_mapping,
    leaf_properties,
    models,
    neutral_base,
    neutral_params,
    plain_schema,
    protocol,
    provider,
    providers,
    servers,
    submit_body,
    submit_for,
    tasks,
    unified_fields,
    units,
    wire_body,
    wire_path,
)
from repo_copy import blocks, copy_repository

from kling_sdk.errors import InvalidRequestError
from kling_sdk.testing import FakeServer
from kling_sdk.unified import DEFAULT_MODEL, TASKS, Kling, capabilities, to_wire

LIVE_TIMING = {"queued": 0.1, "running": 0.2, "tick": 0.05}  # seconds each job stays queued / runs (real time)
KEYS = {provider(name).auth.env: API_KEY for name in providers()}
MAPPED = [(p, m, t) for p, m in units(has_mapping) for t in sorted(TASKS) if unified_fields(p, t, m)]


@pytest.fixture
def fake(live_fake: FakeServer) -> FakeServer:
    return live_fake


def _wire_schema(name: str, model: str, task: str, param: str) -> dict[str, Any]:
    op = submit_for(name, task, model)
    assert op is not None
    pointer = unified_fields(name, task, model)[param]
    return plain_schema(leaf_properties(name, op.name, model)[pointer][0])[0]


def _durations(name: str, model: str, task: str) -> set[int] | None:
    """The durations the (provider, model)'s spec allows for a task, from its enum or bounds (None: any)."""
    if "duration" not in unified_fields(name, task, model):
        return None
    schema = _wire_schema(name, model, task, "duration")
    if "enum" in schema:
        return {int(v) for v in schema["enum"]}
    if "minimum" in schema and "maximum" in schema:
        return set(range(int(schema["minimum"]), int(schema["maximum"]) + 1))
    return None


def _request(model: str, task: str, **values: Any) -> Any:
    return TASKS[task](**{**neutral_base(task), **values, "model": model})


def _recording_kling(name: str) -> tuple[Kling, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Kling(name, api_keys={name: API_KEY}, http_client=http, max_retries=0), sent


# ---------------------------------------------------------------------------------------------- other models run
def _model_specific(name: str, model: str, task: str) -> int | None:
    """A duration the model allows and the default model refuses (on this provider if it serves it, else on every
    provider that does); the largest one the model allows when there is none; None without a duration."""
    allowed = _durations(name, model, task)
    if not allowed:
        return None
    default_on = [name] if DEFAULT_MODEL in models(name) else servers(DEFAULT_MODEL, task)
    refused = [
        d for d in sorted(allowed) if all(d not in (_durations(p, DEFAULT_MODEL, task) or {d}) for p in default_on)
    ]
    return (refused or sorted(allowed))[-1]


OTHER_MODELS = [(p, m, t) for p, m, t in MAPPED if m != DEFAULT_MODEL and has_fake(provider(p))]


@pytest.mark.parametrize(
    ("name", "model", "task"), OTHER_MODELS or [pytest.param(None, None, None, marks=pytest.mark.skip)],
    ids=[f"{p}-{m}-{t}" for p, m, t in OTHER_MODELS] or None,
)  # fmt: skip
def test_kling_runs_a_model_that_is_not_the_default_with_a_duration_only_it_allows(
    fake: FakeServer, name: str, model: str, task: str, tmp_path: Path
) -> None:
    duration = _model_specific(name, model, task)
    values = {} if duration is None else {"duration": duration}
    with Kling(name, api_keys={name: API_KEY}, base_url=fake.base_url(name)) as kling:
        result = kling.run(_request(model, task, **values))
        kling.download(result, tmp_path / "v.mp4")
    assert (tmp_path / "v.mp4").read_bytes() == fake.app.video
    [job] = fake.app.jobs.values()
    assert job.model == model  # the fake routed the submit to that model's endpoint
    if duration is not None:
        sent = at(job.body, unified_fields(name, task, model)["duration"])
        assert sent in (duration, str(duration))
        wire = _wire_schema(name, model, task, "duration")
        assert isinstance(sent, str if wire.get("type") == "string" else int)
        default_allows = _durations(name, DEFAULT_MODEL, task) if DEFAULT_MODEL in models(name) else None
        if default_allows is not None and duration not in default_allows:  # the value really is the model's own
            with pytest.raises(InvalidRequestError, match="duration"):
                to_wire(_request(DEFAULT_MODEL, task, duration=duration), name)


# ---------------------------------------------------------------------------------------------- refused locally
NOT_SERVED = [(p, m) for p in providers(has_mapping) for m in all_models() if m not in models(p)]


@pytest.mark.parametrize(
    ("name", "model"), NOT_SERVED or [pytest.param(None, None, marks=pytest.mark.skip)],
    ids=[f"{p}-{m}" for p, m in NOT_SERVED] or None,
)  # fmt: skip
def test_a_model_the_provider_does_not_serve_fails_before_any_request(name: str, model: str) -> None:
    task = next(t for t in sorted(TASKS) if any(unified_fields(name, t, m) for m in models(name)))
    kling, sent = _recording_kling(name)
    with kling, pytest.raises(InvalidRequestError) as caught:
        kling.submit(_request(model, task))
    message = str(caught.value)
    assert caught.value.provider == name and caught.value.field == "model"
    assert model in message and name in message
    assert all(other in message for other in servers(model)), message  # and who does serve it
    assert sent == []


REFUSED = [
    (p, m, t, max(allowed) + 1) for p, m, t in MAPPED if (allowed := _durations(p, m, t))
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "model", "task", "duration"), REFUSED or [pytest.param(None, None, None, None, marks=pytest.mark.skip)],
    ids=[f"{p}-{m}-{t}-{d}" for p, m, t, d in REFUSED] or None,
)  # fmt: skip
def test_a_duration_the_model_does_not_allow_fails_before_any_request(
    name: str, model: str, task: str, duration: int
) -> None:
    kling, sent = _recording_kling(name)
    with kling, pytest.raises(InvalidRequestError) as caught:
        kling.submit(_request(model, task, duration=duration))
    message = str(caught.value)
    assert caught.value.provider == name and caught.value.field == "duration"
    assert model in message and name in message and "duration" in message and str(duration) in message
    assert sent == []


# ---------------------------------------------------------------------------------------------- what is allowed
def _spec_limits(name: str, model: str, task: str, param: str) -> Any:
    """What the vendored spec allows for a mapped parameter, in the neutral type: a set of values, bounds, or None."""
    schema = _wire_schema(name, model, task, param)
    declared = next(p for p in neutral_params(task) if p.name == param)
    if "enum" in schema:
        values = {int(v) if declared.type == "int" else v for v in schema["enum"]}
        return values & set(declared.enum) if declared.enum else values
    bounds = {k: schema[k] for k in ("minimum", "maximum") if k in schema}
    return bounds or None


def test_capabilities_show_model_provider_task_and_the_allowed_values_from_the_specs() -> None:
    found = Kling.capabilities()
    assert found == capabilities()
    assert {m for m in found} == {m for _, m, _ in MAPPED}
    for name, model, task in MAPPED:
        params = found[model][name][task]
        assert set(params) == set(unified_fields(name, task, model))
        for param in ("duration", "aspect_ratio", "cfg_scale"):
            if param in params:
                expected = _spec_limits(name, model, task, param)
                shown = params[param]
                if isinstance(expected, set):
                    assert set(shown) == expected and len(shown) == len(expected), (name, model, task, param)
                elif expected:
                    assert {k: shown[k] for k in expected} == expected, (name, model, task, param)


def test_kling_providers_lists_model_provider_task_with_allowed_values() -> None:
    env = {**os.environ, "COLUMNS": "200"}
    as_json = subprocess.run([sys.executable, "-m", "kling_sdk.cli", "providers", "--json"], capture_output=True,
                             text=True, env=env, timeout=60)  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == json.loads(json.dumps(capabilities()))
    table = subprocess.run([sys.executable, "-m", "kling_sdk.cli", "providers"], capture_output=True, text=True,
                           env=env, timeout=60)  # fmt: skip
    shown = " ".join(table.stdout.split())
    for name, model, task in MAPPED:
        allowed = _durations(name, model, task)
        if allowed:
            spelled = "|".join(str(d) for d in sorted(allowed))
            ranged = f"{min(allowed)}-{max(allowed)}"
            assert spelled in shown or ranged in shown, (name, model, task)
        assert model in shown and name in shown


# ---------------------------------------------------------------------------------------------- the CLI and batches
def _cli(*args: str, cwd: Path, fake: FakeServer, name: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in KEYS and not k.endswith("_BASE_URL")}
    env.update({**KEYS, base_url_env(name): fake.base_url(name), "COLUMNS": "120"})
    return subprocess.run([sys.executable, "-m", "kling_sdk.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


TEXT_OTHER = [(p, m) for p, m, t in OTHER_MODELS if t == "text-to-video"]


@pytest.mark.parametrize(
    ("name", "model"), TEXT_OTHER[:1] or [pytest.param(None, None, marks=pytest.mark.skip)],
    ids=[f"{p}-{m}" for p, m in TEXT_OTHER[:1]] or None,
)  # fmt: skip
def test_the_cli_model_option_and_a_batch_lines_model_choose_the_model(
    fake: FakeServer, name: str, model: str, tmp_path: Path
) -> None:
    duration = _model_specific(name, model, "text-to-video")
    extra = [] if duration is None else ["--duration", str(duration)]
    done = _cli("text-to-video", "a kite", "-p", name, "--model", model, *extra, "--json", "--poll-interval", "0.05",
                "-o", "one.mp4", cwd=tmp_path, fake=fake, name=name)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "succeeded"
    assert [job.model for job in fake.app.jobs.values()] == [model]
    fake.app.reset()
    lines = [
        {"prompt": "a kite"},
        {"prompt": "a kite", "model": model, **({} if duration is None else {"duration": duration})},
    ]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    default_served = DEFAULT_MODEL in models(name) and unified_fields(name, "text-to-video", DEFAULT_MODEL)
    if not default_served:
        jobs.write_text(json.dumps(lines[1]) + "\n")
    done = _cli("batch", str(jobs), "--out", "out", "--provider", name, "--poll-interval", "0.05", cwd=tmp_path,
                fake=fake, name=name)  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = [DEFAULT_MODEL, model] if default_served else [model]
    assert sorted(job.model or "" for job in fake.app.jobs.values()) == sorted(expected)


# ---------------------------------------------------------------------------------------------- the envelope
def _nested(name: str) -> bool:
    return any(
        pointer.count("/") > 1
        for model in models(name)
        for task in tasks(name, model)
        for pointer in unified_fields(name, task, model).values()
    )


ENVELOPED = providers(lambda p: has_fake(p) and _nested(p.name))
enveloped = pytest.mark.parametrize("name", ENVELOPED or [pytest.param(None, marks=pytest.mark.skip)])


def _text_or_first(name: str) -> str:
    served = [t for t in tasks(name) if unified_fields(name, t)]
    return "text-to-video" if "text-to-video" in served else served[0]


@enveloped
def test_a_provider_whose_body_wraps_the_parameters_is_served_by_its_client_and_kling(
    fake: FakeServer, name: str, tmp_path: Path
) -> None:
    task = _text_or_first(name)
    op = submit_for(name, task)
    assert op is not None
    client = fake.client(name, api_key=API_KEY)
    body = submit_body(name, op.name)
    prompt_at = unified_fields(name, task)["prompt"]
    assert at(body, prompt_at)  # the prompt sits inside the envelope
    result = getattr(client, op.name.replace("submit_", "run_"))(body)
    client.download(result, tmp_path / "client.mp4")
    client.close()
    fake.app.reset()
    with Kling(name, api_keys={name: API_KEY}, base_url=fake.base_url(name)) as kling:
        kling.run(_request(DEFAULT_MODEL, task, prompt="an envelope"))
    [job] = fake.app.jobs.values()
    assert at(job.body, prompt_at) == "an envelope"
    for param, pointer in unified_fields(name, task).items():  # every mapped neutral default is inside it too
        if param != "prompt" and TASKS[task].model_fields[param].default is not None:
            assert at(job.body, pointer) is not None, pointer


@enveloped
def test_a_provider_whose_body_wraps_the_parameters_answers_submit_as_documented(name: str, fake: FakeServer) -> None:
    op = submit_for(name, _text_or_first(name))
    assert op is not None
    decl = provider(name)
    assert decl.fake is not None
    body = wire_body(name, op.name, submit_body(name, op.name))
    answer = httpx.post(
        fake.base_url(name) + wire_path(op), json=body, headers={decl.auth.header: f"{decl.auth.scheme} {API_KEY}"}
    )
    assert answer.status_code == decl.fake.submit_status == protocol(name)["submit_status"], answer.text
    assert len(fake.app.jobs) == 1


@enveloped
def test_a_provider_whose_body_wraps_the_parameters_runs_in_the_cli_and_a_batch(
    fake: FakeServer, name: str, tmp_path: Path
) -> None:
    task = _text_or_first(name)
    image = [] if task == "text-to-video" else ["--image", "https://example.com/hiker.png"]
    done = _cli(task, "a parcel", *image, "-p", name, "--json", "--poll-interval", "0.05", "-o", "one.mp4",
                cwd=tmp_path, fake=fake, name=name)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "one.mp4").read_bytes() == fake.app.video
    fake.app.reset()
    jobs = tmp_path / "jobs.jsonl"
    line = {"task": task, **({} if not image else {"start_image": image[1]})}
    jobs.write_text("".join(json.dumps({**line, "prompt": f"parcel {n}"}) + "\n" for n in range(3)))
    done = _cli("batch", str(jobs), "--out", "out", "--provider", name, "--poll-interval", "0.05", cwd=tmp_path,
                fake=fake, name=name)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "report.json").read_text())["states"]["succeeded"] == 3
    prompt_at = unified_fields(name, task)["prompt"]
    assert sorted(at(job.body, prompt_at) for job in fake.app.jobs.values()) == [f"parcel {n}" for n in range(3)]


@pytest.mark.parametrize(
    "name",
    [n for n in ENVELOPED if (jobs := provider(n).jobs) is not None and jobs.lookup]
    or [pytest.param(None, marks=pytest.mark.skip(reason="no enveloped provider lists its jobs"))],
)
def test_a_lost_submit_of_an_enveloped_provider_is_found_in_its_job_list(
    fake: FakeServer, name: str, tmp_path: Path
) -> None:
    task = _text_or_first(name)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"task": task, "prompt": f"lost {n}"}) + "\n" for n in range(2)))
    fake.app.inject(name, "submit", drop=True, times=1)  # the job is made, its answer never arrives
    done = _cli("batch", str(jobs), "--out", "out", "--provider", name, "--poll-interval", "0.05", "--timeout", "2",
                cwd=tmp_path, fake=fake, name=name)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "found the job of the lost submit" in " ".join(done.stderr.split())
    assert sorted(fake.app.submit_counts(name).values()) == [1, 1]  # each line made exactly one job


# ---------------------------------------------------------------------------------------------- specs decide types
def _digit_enum(name: str, model: str, task: str) -> bool:
    schema = _wire_schema(name, model, task, "duration") if "duration" in unified_fields(name, task, model) else {}
    values = schema.get("enum", [])
    return schema.get("type") == "string" and len(values) > 1 and all(str(v).isdigit() for v in values)


RETYPABLE = [(p, m, t) for p, m, t in MAPPED if _digit_enum(p, m, t)]
RETYPABLE = [next(c for c in RETYPABLE if c[0] == p) for p in dict.fromkeys(p for p, _, _ in RETYPABLE)]  # one each


def _retype(node: Any, key: str, enum: list[Any], change: Any) -> int:
    """Apply `change` to every `properties[key]` schema whose enum is `enum`; how many were changed."""
    count = 0
    if isinstance(node, dict):
        prop = node.get("properties", {}).get(key) if isinstance(node.get("properties"), dict) else None
        if isinstance(prop, dict) and prop.get("enum") == enum:
            change(prop)
            count += 1
        return count + sum(_retype(v, key, enum, change) for v in node.values())
    if isinstance(node, list):
        return sum(_retype(v, key, enum, change) for v in node)
    return 0


def _to_wire_in(copy: Path, name: str, model: str, task: str, duration: int) -> dict[str, Any]:
    """Run the copy's regenerated `to_wire` in a fresh interpreter: {"body": ...} or {"refused": field, "message"}."""
    script = (
        "import json, sys\n"
        "from kling_sdk.errors import InvalidRequestError\n"
        "from kling_sdk.unified import TASKS, to_wire\n"
        "name, model, task, duration, base = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]\n"
        "try:\n"
        "    _, body = to_wire(TASKS[task](**json.loads(base), model=model, duration=duration), name)\n"
        "    print(json.dumps({'body': body}))\n"
        "except InvalidRequestError as e:\n"
        "    print(json.dumps({'refused': e.field, 'message': str(e)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = f"{copy / 'generated'}{os.pathsep}{copy}"
    done = subprocess.run(
        [sys.executable, "-c", script, name, model, task, str(duration), json.dumps(neutral_base(task))],
        cwd=copy, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _regenerate(copy: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "codegen", "generate", "-q"], cwd=copy, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("name", "model", "task"), RETYPABLE or [pytest.param(None, None, None, marks=pytest.mark.skip)],
    ids=[f"{p}-{m}-{t}" for p, m, t in RETYPABLE] or None,
)  # fmt: skip
def test_the_spec_decides_the_wire_type_and_the_allowed_durations(
    tmp_path: Path, name: str, model: str, task: str
) -> None:
    copy = copy_repository(ROOT, tmp_path / "repo", leave_out=("tests", "bench"))
    manifest = (copy / "providers.toml").read_bytes()
    op = submit_for(name, task, model)
    assert op is not None
    document = copy / provider(name).spec(op.spec).path
    original = document.read_text(encoding="utf-8")
    pointer = unified_fields(name, task, model)["duration"]
    key = pointer.rsplit("/", 1)[-1]
    enum = _wire_schema(name, model, task, "duration")["enum"]
    largest = max(enum, key=int)

    def as_integers(prop: dict[str, Any]) -> None:
        prop.update(type="integer", enum=[int(v) for v in prop["enum"]])
        if "default" in prop:
            prop["default"] = int(prop["default"])

    retyped = json.loads(original)
    assert _retype(retyped, key, enum, as_integers)
    document.write_text(json.dumps(retyped, indent=2), encoding="utf-8")
    _regenerate(copy)
    sent = _to_wire_in(copy, name, model, task, int(largest))
    assert at(sent["body"], pointer) == int(largest) and isinstance(at(sent["body"], pointer), int)

    shorter = json.loads(original)
    assert _retype(shorter, key, enum, lambda prop: prop["enum"].remove(largest))
    document.write_text(json.dumps(shorter, indent=2), encoding="utf-8")
    _regenerate(copy)
    refused = _to_wire_in(copy, name, model, task, int(largest))
    assert refused.get("refused") == "duration", refused
    assert model in refused["message"] and name in refused["message"]
    kept = min(enum, key=int)
    assert at(_to_wire_in(copy, name, model, task, int(kept))["body"], pointer) == kept  # still a string
    assert (copy / "providers.toml").read_bytes() == manifest  # no manifest edit, either time


# ---------------------------------------------------------------------------------------------- manifest errors
def _unified_line(text: str) -> tuple[str, str, str, str]:
    """(line, provider, model, task id) of the first one-line neutral mapping in the manifest."""
    owner = None
    for table, body in blocks(text):
        for line in body.splitlines():
            found = re.match(r"^unified\.(\w+) = \{.*fields = \{.*\}", line)
            if found and table:
                owner = re.fullmatch(r'providers\.([^.]+)\.models\."([^"]+)"', table)
                if owner:
                    return line, owner[1], owner[2], found[1]
    raise AssertionError("no one-line neutral mapping in the manifest")


def _generate_fails(tmp_path: Path, text: str) -> str:
    copy = copy_repository(ROOT, tmp_path / "repo", leave_out=("tests", "bench", "generated"))
    (copy / "providers.toml").write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "codegen", "generate", "-q", "--output", "out"], cwd=copy,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert not (copy / "out").exists() or not any((copy / "out").rglob("*.py"))
    return " ".join(done.stderr.split())


def _field_pointer(line: str, param: str) -> str:
    found = re.search(rf"\b{param} = \"([^\"]+)\"", line)
    assert found, (param, line)
    return found[1]


def test_a_mapping_to_a_field_the_spec_does_not_have_is_exit_2_naming_the_pointer(tmp_path: Path) -> None:
    text = (ROOT / "providers.toml").read_text(encoding="utf-8")
    line, name, model, task = _unified_line(text)
    prompt = _field_pointer(line, "prompt")
    broken = line.replace(f'prompt = "{prompt}"', 'prompt = "/zz_not_in_the_schema"')
    err = _generate_fails(tmp_path, text.replace(line, broken))
    assert f"providers.toml#/providers/{name}/models/{model}/unified/{task}/fields/prompt" in err
    assert "zz_not_in_the_schema" in err


def test_an_unknown_neutral_parameter_is_exit_2_naming_the_pointer(tmp_path: Path) -> None:
    text = (ROOT / "providers.toml").read_text(encoding="utf-8")
    line, name, model, task = _unified_line(text)
    prompt = _field_pointer(line, "prompt")
    broken = line.replace(f'prompt = "{prompt}"', f'prompt = "{prompt}", zz_param = "{prompt}"')
    err = _generate_fails(tmp_path, text.replace(line, broken))
    assert f"providers.toml#/providers/{name}/models/{model}/unified/{task}/fields/zz_param" in err


def test_a_parameter_the_wire_field_cannot_take_is_exit_2_naming_the_pointer(tmp_path: Path) -> None:
    text = (ROOT / "providers.toml").read_text(encoding="utf-8")
    line, name, model, task = _unified_line(text)
    prompt = _field_pointer(line, "prompt")  # a string on the wire: no neutral list of strings goes there
    mapped = re.search(r"fields = \{(.*)\}", line)
    assert mapped
    broken = line.replace(f'prompt = "{prompt}"', f'prompt = "{prompt}", voice_ids = "{prompt}"')
    if "voice_ids =" in mapped[1]:
        broken = re.sub(r'voice_ids = "[^"]+"', f'voice_ids = "{prompt}"', line)
    err = _generate_fails(tmp_path, text.replace(line, broken))
    assert f"providers.toml#/providers/{name}/models/{model}/unified/{task}/fields/voice_ids" in err
    assert "cannot be sent as" in err


def test_two_submits_for_one_task_of_one_model_are_exit_2_naming_the_pointer(tmp_path: Path) -> None:
    text = (ROOT / "providers.toml").read_text(encoding="utf-8")
    out, owner = [], None
    for table, body in blocks(text):
        out.append(body)
        found = re.fullmatch(r'providers\.([^.]+)\.models\."([^"]+)"\.operations', table or "")
        if owner is None and found and re.search(r'^kind = "submit"', body, re.M):
            op = re.search(r'^name = "([^"]+)"', body, re.M)
            assert op
            out.append(body.replace(f'name = "{op[1]}"', f'name = "{op[1]}_again"', 1))  # the same task again
            owner = (found[1], found[2])
    assert owner is not None, "no model declares a submit operation"
    err = _generate_fails(tmp_path, "".join(out))
    assert f"providers.toml#/providers/{owner[0]}/models/{owner[1]}/operations" in err
