"""IR -> the fake provider's protocol table (routes, states, templates, wire schemas) as JSON data."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from codegen.pipeline import ir


def fake_protocols(api: ir.Api) -> dict[str, Any]:
    """One entry per provider that declares a `[fake]` table."""
    return {
        "package": api.package,
        "providers": {p.name: provider_protocol(p, api.package) for p in api.providers if p.fake and p.jobs},
    }


def provider_protocol(provider: ir.Provider, package: str) -> dict[str, Any]:
    """The data the fake needs to speak one provider's protocol."""
    assert provider.fake is not None and provider.jobs is not None
    fake, jobs = provider.fake, provider.jobs
    default = provider.default_unit
    ops = {op.name: op for op in default.operations}
    base_path = urlsplit(provider.base_url).path.rstrip("/")
    status_op = ops[jobs.status_operation]
    urls = {"status_url": _url_template(base_path, status_op)}
    if default.result_operations:
        urls["result_url"] = _url_template(base_path, ops[default.result_operations[0]])
    if jobs.cancel_operation:
        urls["cancel_url"] = _url_template(base_path, ops[jobs.cancel_operation])
    # The provider's own operations once (model None), then each model's.
    routes = [_route(op, None) for op in default.operations if op.model is None]
    routes += [_route(op, unit.model) for unit in provider.units for op in unit.operations if op.model is not None]
    prompt = next((f.pointer for a in default.adapters for f in a.fields if f.param == "prompt"), "/prompt")
    stream = None
    if jobs.stream:
        stream = {"kind": jobs.stream.kind, "path": jobs.stream.path, "event": jobs.stream.event}
    return {
        "title": provider.title,
        "client": {
            "module": f"{package}.{provider.name}",
            "sync": f"{provider.class_name}Client",
            "async": f"Async{provider.class_name}Client",
        },
        "default_model": provider.default_model,
        "models": {
            unit.model: {"module": f"{package}.{provider.name}.{unit.module}", "id": unit.model_id, "title": unit.title}
            for unit in provider.units
        },
        "base_path": base_path,
        "auth": {"header": provider.auth.header, "schemes": list(fake.auth_schemes or (provider.auth.scheme,))},
        "routes": routes,
        "statuses": _raw_statuses(jobs, fake),
        "urls": urls,
        "stream": stream,
        "upload_path": provider.files.upload_path,
        "id": fake.id,
        "validation": fake.validation,
        "pending_status": fake.pending_status,
        "submit_status": fake.submit_status,
        "list_unfiltered": fake.list_unfiltered,
        "list_query": jobs.lookup.query if jobs.lookup else None,
        "prompt": prompt,  # where a submitted body carries its prompt (the neutral mapping's pointer)
        "failure": fake.failure,
        "documents": fake.documents,
        "errors": fake.errors,
        "rate_limit_status": list(provider.errors.rate_limit_status),
        # Status answers carry logs only to requests with this query (where declared); where they sit.
        "logs_query": dict(jobs.logs_query),
        "logs": list(dict(jobs.fields).get("logs", ())),
    }


def _route(op: ir.Operation, model: str | None) -> dict[str, Any]:
    ident = next((p for p in op.params if p.location == "path"), None) or next(
        (p for p in op.params if p.location == "query" and p.required), None
    )
    paths = [op.path] + ([op.spec_path] if op.spec_path and op.spec_path != op.path else [])
    return {
        "operation": op.name,
        "kind": op.kind,
        "task": op.task,
        "model": model,
        "method": op.method,
        "paths": paths,
        "id": {"name": ident.wire_name, "in": ident.location} if ident and op.kind != "submit" else None,
        "match": _discriminators(op),
        "request": list(op.request_schema),
        "response": op.response_schema,
    }


def _discriminators(op: ir.Operation) -> dict[str, Any]:
    """Body values that tell operations sharing one route apart: constants and single-valued enums."""
    found: dict[str, Any] = dict(op.constants)
    for part in op.request_schema:
        properties = part.get("properties") if isinstance(part, dict) else None
        required = part.get("required") if isinstance(part, dict) else None
        if not isinstance(properties, dict) or not isinstance(required, list):
            continue
        for name in required:
            prop = properties.get(name) if isinstance(name, str) else None
            enum = prop.get("enum") if isinstance(prop, dict) else None
            if isinstance(name, str) and isinstance(enum, list) and len(enum) == 1:
                found.setdefault(name, enum[0])
    return found


def _raw_statuses(jobs: ir.JobDecl, fake: ir.FakeDecl) -> dict[str, str]:
    """The raw status the fake reports for each normalised state: the manifest's choice, else the first mapping."""
    raw: dict[str, str] = {}
    for value, state in jobs.states:
        raw.setdefault(state, value)
    raw.update(dict(fake.statuses))
    return {state: raw[state] for state in ir.JOB_STATES if state in raw}


def _url_template(base_path: str, op: ir.Operation) -> str:
    """A job URL template with `{id}` where the operation takes the job id."""
    ident = _route(op, None)["id"]
    if ident is None:
        return base_path + op.path
    if ident["in"] == "path":
        return base_path + re.sub(r"{[^}]+}", "{id}", op.path)
    return f"{base_path}{op.path}?{ident['name']}={{id}}"
