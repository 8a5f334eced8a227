"""What the CLI says when something fails: what failed, for which provider, the next step, and the exit code.

Every fact about a provider (its title, the environment variables of its key and base URL, where it sends each
neutral parameter) is read from the generated package (`PROVIDER`, `ADAPTERS`), never written here.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from kling_sdk._runtime.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadError,
    GenerationFailedError,
    InvalidRequestError,
    JobCancelledError,
    JobDeadlineExceededError,
    JobNotFinishedError,
    KlingError,
    MissingApiKeyError,
    NoProviderAcceptedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknownError,
    UnsupportedOperationError,
)

__all__ = ["ExitCode", "Failure", "base_url_env", "explain", "flag_for", "key_env", "said"]


class ExitCode(IntEnum):
    """The documented exit codes (see `kling_sdk.cli` and the README's table)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3
    UNKNOWN = 4
    UNFINISHED = 5
    DOWNLOAD = 6
    INTERRUPTED = 130


@dataclass(frozen=True)
class Failure:
    """One error line (without the `error:` prefix) and the exit code it ends with."""

    code: ExitCode
    text: str


# The option a neutral parameter is typed as, where it is not `--` + the name with dashes.
_FLAGS = {"start_image": "--image", "end_image": "--end-image", "generate_audio": "--audio", "voice_ids": "--voice-id"}


def _provider(name: str) -> Any:
    return importlib.import_module(f"kling_sdk.{name}").PROVIDER


def key_env(provider: str) -> str:
    """The environment variable holding a provider's API key."""
    name: str = _provider(provider).api_key_env
    return name


def base_url_env(provider: str) -> str:
    """The environment variable that points a provider elsewhere."""
    name: str = _provider(provider).base_url_env
    return name


def neutral_field(field: str, provider: str | None, task: str | None) -> str:
    """The neutral parameter behind a provider's wire field (`start_image_url` -> `start_image`)."""
    from kling_sdk.unified import ADAPTERS  # the adapters hold pydantic models: loaded when an error needs them

    for (name, _model, served), adapter in ADAPTERS.items():
        if (provider is None or name == provider) and (task is None or served == task):
            for wire in adapter.fields:
                if field in (wire.pointer, wire.pointer.strip("/").replace("/", ".")):  # "/input/x" or "input.x"
                    return wire.param
    return field


def flag_for(field: str, provider: str | None = None, task: str | None = None) -> str:
    """The command-line option a neutral parameter or a provider's wire field was typed as (`--image`)."""
    param = neutral_field(field, provider, task)
    return _FLAGS.get(param, "--" + param.replace("_", "-"))


def said(error: APIStatusError) -> str:
    """What the provider answered: `HTTP 400: <message>`, its body when it sent no message, never the code twice."""
    message = error.message
    if message == f"HTTP {error.status_code}" and error.body not in (None, "", {}):
        message = error.body if isinstance(error.body, str) else json.dumps(error.body)
    code = f" {error.code}" if error.code and error.code not in (str(error.status_code), message) else ""
    if code and error.code and error.code.lower() == message.lower():
        code = ""
    return f"HTTP {error.status_code}{code}: {message}"


def _request_id(error: APIStatusError) -> str:
    return f" (request id {error.request_id})" if error.request_id else ""


def explain(error: KlingError, *, task: str | None = None, ref: str | None = None, by_field: bool = False) -> Failure:
    """The error line and exit code of an SDK error; `ref` is the job it concerns (a follow-up command), `by_field`
    names neutral fields (a batch line) instead of options."""
    if isinstance(error, NoProviderAcceptedError):
        reasons = "; ".join(explain(inner, task=task, by_field=by_field).text for _, inner in error.attempts)
        return Failure(ExitCode.REFUSED, f"no provider accepted the job: {reasons}")
    if isinstance(error, InvalidRequestError):
        return _invalid(error, task, by_field)
    if isinstance(error, MissingApiKeyError | UnsupportedOperationError):
        return Failure(ExitCode.USAGE, f"{error}: nothing was sent")
    if isinstance(error, SubmitOutcomeUnknownError):
        return Failure(
            ExitCode.UNKNOWN,
            f"{error.provider}: the submit's answer was lost; the job may exist and is not sent again "
            f"({error.message})",
        )
    if isinstance(error, JobCancelledError):
        return Failure(ExitCode.FAILED, f"{error.provider} job {error.job_ref} was cancelled: {error.message}")
    if isinstance(error, GenerationFailedError):
        code = f" ({error.code})" if error.code else ""
        return Failure(ExitCode.FAILED, f"{error.provider} job {error.job_ref} failed{code}: {error.message}")
    if isinstance(error, JobDeadlineExceededError):
        if error.cancelled:
            tail = "; cancel requested"
        else:
            tail = f"; it may still be running: kling wait {error.job_ref}"
        return Failure(
            ExitCode.UNFINISHED,
            f"job {error.job_ref} still {error.last_status or 'unknown'} after {error.elapsed:.0f} s{tail}",
        )
    if isinstance(error, JobNotFinishedError):
        return Failure(
            ExitCode.UNFINISHED, f"job {error.job_ref} is {error.state}, not finished: kling wait {error.job_ref}"
        )
    if isinstance(error, DownloadError):
        again = f": kling wait {ref or error.job_ref} -o FILE tries again" if (ref or error.job_ref) else ""
        return Failure(ExitCode.DOWNLOAD, f"saving the video failed ({error}){again}")
    if isinstance(error, APIConnectionError):
        return _unreachable(error)
    if isinstance(error, APIStatusError):
        return _status(error, ref)
    return Failure(ExitCode.REFUSED, str(error))


def _invalid(error: InvalidRequestError, task: str | None, by_field: bool) -> Failure:
    from kling_sdk import PROVIDERS

    known = error.provider in PROVIDERS
    provider = error.provider if known else None
    if error.field == "task":
        return Failure(ExitCode.USAGE, f"{error.message}: choose one of them with --provider")
    name = neutral_field(error.field, provider, task) if by_field else flag_for(error.field, provider, task)
    where = f" ({error.provider}; nothing was sent)" if known else " (nothing was sent)"
    return Failure(ExitCode.USAGE, f"{name}: {error.message}{where}")


def _unreachable(error: APIConnectionError) -> Failure:
    where = error.host or "the provider"
    if error.reason is None:  # an answer that was not what the provider sends (invalid JSON, an unknown shape)
        return Failure(
            ExitCode.REFUSED, f"{error.provider}: {error.message}: check {base_url_env(error.provider)} or --base-url"
        )
    verb = "no answer from" if isinstance(error, APITimeoutError) else "cannot reach"
    return Failure(
        ExitCode.REFUSED,
        f"{verb} {where} ({error.reason}): check {base_url_env(error.provider)} or --base-url",
    )


def _status(error: APIStatusError, ref: str | None) -> Failure:
    answer, rid, name = said(error), _request_id(error), error.provider
    if isinstance(error, AuthenticationError):
        return Failure(ExitCode.REFUSED, f"{name} rejected the key ({answer}){rid}: check {key_env(name)}")
    if isinstance(error, PermissionDeniedError):
        account = f"check the account of {key_env(name)} (credits, permissions)"
        return Failure(ExitCode.REFUSED, f"{name} refused the key ({answer}){rid}: {account}")
    if isinstance(error, RateLimitError):
        after = f"; it asks to wait {error.retry_after:g} s" if error.retry_after else ""
        return Failure(ExitCode.REFUSED, f"{name} is rate limiting ({answer}){after}: try again later or raise "
                       "--rate-limit-wait")  # fmt: skip
    if isinstance(error, NotFoundError) and ref is not None:
        return Failure(ExitCode.USAGE, f"{name} knows no job {ref} ({answer}): check the reference")
    if isinstance(error, NotFoundError):
        return Failure(ExitCode.REFUSED, f"{name} has no such endpoint ({answer}){rid}: check {base_url_env(name)} or "
                       "--base-url")  # fmt: skip
    if isinstance(error, BadRequestError | ConflictError):
        return Failure(ExitCode.REFUSED, f"{name} refused the request ({answer}){rid}: nothing was created")
    if isinstance(error, ServerError):
        return Failure(ExitCode.REFUSED, f"{name} failed ({answer}){rid}: try again later")
    return Failure(ExitCode.REFUSED, f"{name} answered {answer}{rid}")
