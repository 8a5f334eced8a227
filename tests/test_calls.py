"""Plain operations (`kind = "call"`): every one the manifest declares works against the fake, typed; one that is
paid (not a GET) is never sent twice, and the lost-submit lookup says when the list cannot tell."""

from __future__ import annotations

from typing import Any

import pytest
from manifest_support import PROMPT, every_operation, has_fake, model_class, providers, submit_body

from codegen.pipeline import manifest
from kling_sdk._runtime.jobs import JobLookup, LookupInconclusive, find_listed_jobs
from kling_sdk.errors import SubmitOutcomeUnknownError
from kling_sdk.testing import body_digest

CALLS = [(name, op) for name in providers(has_fake) for op in every_operation(name, "call")]
IDS = [f"{name}-{op.name}" for name, op in CALLS]


def _client(fake: Any, name: str, op: manifest.OperationDecl) -> Any:
    return fake.client(name, model=op.model)


def _body(name: str, op: manifest.OperationDecl) -> dict[str, Any]:
    """The smallest request the call's model takes: its required text fields (the prompt) filled in."""
    model: Any = model_class(name, op.request or "", op.model)
    return {
        field.alias or key: PROMPT
        for key, field in model.model_fields.items()
        if field.is_required() and field.annotation is str
    }


def _job(fake: Any, name: str) -> str:
    """A finished job of the provider, made with its default model's first submit."""
    submit = every_operation(name, "submit")[0]
    client = fake.client(name, model=submit.model)
    job = getattr(client, submit.name)(submit_body(name, submit.name, model=submit.model))
    fake.app.clock.sleep(10_000)
    return str(job.id)


@pytest.mark.parametrize(("name", "op"), CALLS, ids=IDS)
def test_every_call_answers_typed_against_the_fake(fresh_fake: Any, name: str, op: manifest.OperationDecl) -> None:
    fake = fresh_fake
    client = _client(fake, name, op)
    method = getattr(client, op.name)
    before = sum(fake.app.submits.values())
    if "{" in op.path:
        answer = method(_job(fake, name))
    elif op.request:
        answer = method(_body(name, op))
        assert sum(fake.app.submits.values()) == before + 1, "a paid call makes one job"
    else:
        _job(fake, name)
        answer = method()
    assert type(answer).__name__ == op.response, f"{name}.{op.name} parsed into {type(answer).__name__}"


PAID = [(name, op) for name, op in CALLS if op.method not in ("GET", "HEAD")]


@pytest.mark.parametrize(("name", "op"), PAID, ids=[f"{n}-{o.name}" for n, o in PAID])
def test_a_paid_call_whose_answer_is_lost_is_not_sent_again(
    fresh_fake: Any, name: str, op: manifest.OperationDecl
) -> None:
    fake = fresh_fake
    client = _client(fake, name, op)
    body = _body(name, op)
    fake.app.inject(name, op.name, drop=True)  # the call takes effect, its answer is cut
    with pytest.raises(SubmitOutcomeUnknownError) as lost:
        getattr(client, op.name)(body)
    assert lost.value.provider == name
    sent = lost.value.request_body
    assert fake.app.submits[f"{name}:{body_digest(sent)}"] == 1, "the paid call was sent again"


# ------------------------------------------------------------------------------------------ the lookup (pure)
LOOKUP = JobLookup(
    method="GET",
    path="/jobs",
    query=None,
    values=(),
    items=("/jobs",),
    id=("/id",),
    match=(("/model", "/model"), ("/prompt", "/prompt")),
    submitted_at=("/at",),
)
BODY = {"model": "m", "prompt": "a hiker"}


def _listing(*jobs: dict[str, Any]) -> list[Any]:
    return [{"jobs": list(jobs)}]


@pytest.mark.parametrize(
    ("jobs", "found"),
    [
        ([], []),
        ([{"id": "a", "model": "m", "prompt": "a hiker", "at": 10}], ["a"]),
        ([{"id": "a", "model": "m", "prompt": "another", "at": 10}], []),
        ([{"id": "a", "model": "other", "at": 10}], []),  # a field it shows differs: not this request's
        ([{"id": "a", "model": "m", "prompt": "a hiker", "at": 1}], []),  # before the submit
        ([{"id": "b", "model": "m", "at": 10}, {"id": "a", "model": "m", "prompt": "a hiker", "at": 11}], ["a"]),
        ([{"id": "a", "model": "m", "at": 10}], LookupInconclusive),  # could be it: the list shows no prompt
        ([{"id": "a", "model": "m", "prompt": None, "at": 10}], LookupInconclusive),
    ],
    ids=["empty", "match", "other-prompt", "other-model", "too-early", "full-match-wins", "no-prompt", "null-prompt"],
)
def test_a_lookup_finds_matches_and_says_when_the_list_cannot_tell(
    jobs: list[dict[str, Any]], found: list[str] | type[Exception]
) -> None:
    if isinstance(found, list):
        assert find_listed_jobs(LOOKUP, _listing(*jobs), BODY, since=5, exclude=()) == found
    else:
        with pytest.raises(found):
            find_listed_jobs(LOOKUP, _listing(*jobs), BODY, since=5, exclude=())


PAGED = JobLookup(
    method="GET", path="/jobs", query=None, values=(), items=("/jobs",), id=("/id",),
    match=(("/prompt", "/prompt"),), submitted_at=("/at",), more=("/next",),
)  # fmt: skip


@pytest.mark.parametrize(
    ("listing", "found"),
    [
        ({"jobs": [{"id": "a", "prompt": "a hiker", "at": 10}], "next": "c2"}, ["a"]),  # found on the first page
        ({"jobs": [{"id": "b", "prompt": "other", "at": 10}], "next": None}, []),  # the last page: absence proven
        ({"jobs": [{"id": "b", "prompt": "other", "at": 10}, {"id": "o", "prompt": "old", "at": 1}], "next": "c2"}, []),
        ({"jobs": [{"id": "b", "prompt": "other", "at": 10}], "next": "c2"}, LookupInconclusive),  # may be on page 2
    ],
    ids=["found", "last-page", "reaches-back", "more-pages"],
)
def test_a_paged_list_proves_absence_only_where_it_reaches_back_to_the_submit(
    listing: dict[str, Any], found: list[str] | type[Exception]
) -> None:
    if isinstance(found, list):
        assert find_listed_jobs(PAGED, [listing], {"prompt": "a hiker"}, since=5, exclude=()) == found
    else:
        with pytest.raises(found):
            find_listed_jobs(PAGED, [listing], {"prompt": "a hiker"}, since=5, exclude=())
