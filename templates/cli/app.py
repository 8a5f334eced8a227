"""The `kling` commands: text-to-video, image-to-video, status, cancel, providers and batch."""

from __future__ import annotations

import importlib
import json
import os
import re
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from kling_sdk import PROVIDER_TITLES, PROVIDERS
from kling_sdk._runtime.errors import (
    APIError,
    DownloadError,
    GenerationFailedError,
    InvalidRequestError,
    JobDeadlineExceededError,
    KlingError,
    MissingApiKeyError,
    NoProviderAcceptedError,
    SubmitOutcomeUnknownError,
    UnsupportedOperationError,
)
from kling_sdk._runtime.retry import DEFAULT_RATE_LIMIT_BUDGET

# `kling --help` must start fast: the SDK's models, clients and httpx (kling_sdk.unified, the display, the inputs)
# are imported by the commands that use them, not when the app is built. _runtime.errors and .retry are plain Python.
if TYPE_CHECKING:
    from kling_sdk._runtime.jobs import Job, VideoResult
    from kling_sdk.unified import Kling, Request

__all__ = ["ExitCode", "app", "run"]


class ExitCode(IntEnum):
    """The documented exit codes (see `kling_sdk.cli`)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3
    UNKNOWN = 4
    DEADLINE = 5
    DOWNLOAD = 6
    INTERRUPTED = 130


EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 the job failed or was cancelled; 2 bad arguments or a request refused locally (nothing "
    "sent); 3 the provider refused the submit (no job exists); 4 the submit's outcome is unknown (not resubmitted); "
    "5 deadline passed (the job may still run); 6 the video could not be saved; 130 interrupted."
)

app = typer.Typer(
    name="kling",
    help=f"Kling 2.6 Pro videos from any provider ({', '.join(PROVIDER_TITLES.values())}). {EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


class Stop(Exception):
    """Ends a command with an exit code after its message was printed."""

    def __init__(self, code: ExitCode) -> None:
        self.code = code


def run(argv: list[str]) -> int:
    """Run the app on `argv` and return the exit code instead of exiting."""
    global err, out
    # Consoles read the terminal's size and abilities (COLUMNS, TTY_*) when made: make them per run.
    err = Console(stderr=True, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)
    try:
        result = app(argv, prog_name="kling", standalone_mode=False)
    except Stop as stop:
        return int(stop.code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted")
        return int(ExitCode.INTERRUPTED)
    except _USAGE_ERRORS as exc:  # an unknown option or command, a bad value: typer's message, no traceback
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc}", highlight=False)
        return int(getattr(exc, "exit_code", ExitCode.USAGE))
    return result if isinstance(result, int) else int(ExitCode.OK)


def _usage_errors() -> tuple[type[Exception], ...]:
    """What a usage error is raised as: typer's own bundled click (recent typer), or click's (older typer)."""
    try:
        from click import ClickException
    except ImportError:  # recent typer no longer depends on click
        return (typer.TyperException,)
    return (typer.TyperException, ClickException)


_USAGE_ERRORS = _usage_errors()


# ---------------------------------------------------------------------------------------------- shared options
ProviderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--provider",
        "-p",
        help=f"Provider to use ({', '.join(PROVIDERS)}); repeat for a preference list (failover before a job is "
        "accepted). Default: every provider whose API key is set, in manifest order.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="The provider's base URL (one provider), e.g. the fake provider's; or set <PROVIDER>_BASE_URL.",
    ),
]


def key_env(provider: str) -> str:
    """The environment variable holding a provider's API key."""
    module = importlib.import_module(f"kling_sdk.{provider}")
    name: str = module.PROVIDER.api_key_env
    return name


def chosen_providers(given: list[str] | None) -> list[str]:
    """The preference list: as given, else every provider whose key is set."""
    from kling_sdk.unified import CLIENTS

    if given:
        names = [name for value in given for name in value.split(",") if name]
        unknown = [name for name in names if name not in CLIENTS]
        if unknown:
            fail(ExitCode.USAGE, f"unknown provider {unknown[0]!r} (known: {', '.join(CLIENTS)})")
        return names
    names = [name for name in CLIENTS if os.environ.get(key_env(name))]
    if not names:
        keys = ", ".join(key_env(name) for name in CLIENTS)
        fail(ExitCode.USAGE, f"no provider chosen and no API key set: pass --provider or set one of {keys}")
    return names


def make_kling(providers: list[str], base_url: str | None, rate_limit_wait: float = DEFAULT_RATE_LIMIT_BUDGET) -> Kling:
    """The client for the chosen providers (keys from their environment variables)."""
    from kling_sdk.unified import Kling

    return Kling(providers, base_urls=base_urls_for(providers, base_url), rate_limit_budget=rate_limit_wait)


def fail(code: ExitCode, message: str) -> NoReturn:
    """Print `message` and stop with `code`."""
    err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)  # "[fal] ..." is text, not markup
    raise Stop(code)


def exit_code_of(error: BaseException) -> ExitCode:
    """The documented exit code of an SDK error."""
    if isinstance(error, InvalidRequestError | MissingApiKeyError | UnsupportedOperationError):
        return ExitCode.USAGE
    if isinstance(error, SubmitOutcomeUnknownError):
        return ExitCode.UNKNOWN
    if isinstance(error, GenerationFailedError):
        return ExitCode.FAILED
    if isinstance(error, JobDeadlineExceededError):
        return ExitCode.DEADLINE
    if isinstance(error, DownloadError):
        return ExitCode.DOWNLOAD
    return ExitCode.REFUSED


def build_request(task: str, values: dict[str, Any], params: list[str] | None) -> Request:
    """The neutral request from the options given (unset ones keep the model's defaults); bad input exits 2."""
    from .inputs import neutral_request

    data = {name: value for name, value in values.items() if value is not None}
    for item in params or []:
        name, sep, raw = item.partition("=")
        if not sep:
            fail(ExitCode.USAGE, f"--param takes NAME=VALUE, got {item!r}")
        try:
            data[name] = json.loads(raw)
        except ValueError:
            data[name] = raw
    try:
        return neutral_request({**data, "task": task}, Path.cwd())
    except ValueError as exc:
        fail(ExitCode.USAGE, str(exc))


def base_urls_for(providers: list[str], base_url: str | None) -> dict[str, str]:
    """`--base-url` belongs to the one provider chosen; with several, each takes `<PROVIDER>_BASE_URL`."""
    if base_url is None:
        return {}
    if len(providers) != 1:
        fail(ExitCode.USAGE, "--base-url needs exactly one --provider (or set <PROVIDER>_BASE_URL for each)")
    return {providers[0]: base_url}


def default_output(job: Job[Any]) -> Path:
    """Where a video goes without -o: `<provider>-<id>.mp4` in the current folder."""
    return Path(f"{job.provider}-{re.sub(r'[^A-Za-z0-9._-]+', '_', job.id)}.mp4")


# ---------------------------------------------------------------------------------------------- one job
def generate(
    task: str,
    values: dict[str, Any],
    *,
    providers: list[str] | None,
    base_url: str | None,
    output: Path | None,
    params: list[str] | None,
    deadline: float,
    cancel_on_deadline: bool,
    poll_interval: float | None,
    wait: bool,
    as_json: bool,
    quiet: bool,
    rate_limit_wait: float = DEFAULT_RATE_LIMIT_BUDGET,
) -> None:
    """Submit one job, follow it with a progress display, save the video."""
    from kling_sdk.unified import job_ref

    from .display import JobDisplay
    from .inputs import poll_every

    request = build_request(task, values, params)
    kling = make_kling(chosen_providers(providers), base_url, rate_limit_wait)
    poll = poll_every(poll_interval)
    job: Job[Any] | None = None
    with kling, JobDisplay(err, quiet=quiet) as display:
        try:
            job = kling.submit(request)
            display.submitted(job)
            if not wait:
                report(as_json, {"job": job_ref(job), "state": "submitted"}, job_ref(job))
                return
            final = kling.wait(
                job, deadline=deadline, cancel_on_deadline=cancel_on_deadline, on_progress=display.progress, poll=poll
            )
            result = kling.result(job, status=final)
            saved = kling.download(result, output or default_output(job), on_bytes=display.downloaded)
        except KeyboardInterrupt:
            if job is not None:
                err.print(f"interrupted; the job keeps running: kling status {job_ref(job)}")
            raise Stop(ExitCode.INTERRUPTED) from None
        except NoProviderAcceptedError as exc:
            for provider, error in exc.attempts:
                display.line(f"{provider}: {error}")
            fail(ExitCode.REFUSED, "no provider accepted the job")
        except KlingError as exc:
            hint = f" (follow it up: kling status {job_ref(job)})" if job is not None else ""
            fail(exit_code_of(exc), f"{exc}{hint}")
        display.saved(saved)
    report(as_json, {"job": job_ref(job), "state": "succeeded", "file": str(saved), "url": result.url}, str(saved))


def report(as_json: bool, document: dict[str, Any], plain: str) -> None:
    """The command's answer on stdout: JSON, or one plain line."""
    out.print(json.dumps(document) if as_json else plain)


CommonOutput = Annotated[Path | None, typer.Option("--output", "-o", help="Where to save the MP4.")]
Deadline = Annotated[float, typer.Option(help="Seconds to wait for the job at most.")]
CancelOnDeadline = Annotated[bool, typer.Option(help="Cancel the job when the deadline passes.")]
PollInterval = Annotated[float | None, typer.Option(help="Poll every N seconds instead of the provider's cadence.")]
Wait = Annotated[bool, typer.Option(help="Follow the job and download the video (--no-wait: print the job and stop).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the answer as JSON on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
RateLimitWait = Annotated[
    float,
    typer.Option(
        min=0.0,
        help="Seconds a rate-limited submit keeps being sent again (it was not accepted); 0: give up at once.",
    ),
]
Params = Annotated[
    list[str] | None, typer.Option("--param", help="Another neutral parameter as NAME=VALUE (VALUE may be JSON).")
]
NegativePrompt = Annotated[str | None, typer.Option(help="What the video should avoid.")]
Duration = Annotated[int | None, typer.Option(help="Length in seconds (5 or 10).")]
Audio = Annotated[bool | None, typer.Option("--audio/--no-audio", help="Generate native audio (default: on).")]
VoiceIds = Annotated[list[str] | None, typer.Option("--voice-id", help="A voice for <<<voice_N>>>; repeatable.")]


@app.command("text-to-video")
def text_to_video(
    prompt: Annotated[str, typer.Argument(help="What the video shows.")],
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    output: CommonOutput = None,
    negative_prompt: NegativePrompt = None,
    duration: Duration = None,
    aspect_ratio: Annotated[str | None, typer.Option(help="16:9, 9:16 or 1:1.")] = None,
    cfg_scale: Annotated[float | None, typer.Option(help="How closely to follow the prompt (0-1).")] = None,
    audio: Audio = None,
    voice_id: VoiceIds = None,
    param: Params = None,
    deadline: Deadline = 1800.0,
    cancel_on_deadline: CancelOnDeadline = False,
    poll_interval: PollInterval = None,
    wait: Wait = True,
    as_json: AsJson = False,
    quiet: Quiet = False,
    rate_limit_wait: RateLimitWait = DEFAULT_RATE_LIMIT_BUDGET,
) -> None:
    """Generate a video from a prompt and save it."""
    values = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "duration": duration,
        "aspect_ratio": aspect_ratio,
        "cfg_scale": cfg_scale,
        "generate_audio": audio,
        "voice_ids": voice_id,
    }
    generate(
        "text-to-video", values, providers=provider, base_url=base_url, output=output, params=param, deadline=deadline,
        cancel_on_deadline=cancel_on_deadline, poll_interval=poll_interval, wait=wait, as_json=as_json, quiet=quiet,
        rate_limit_wait=rate_limit_wait,
    )  # fmt: skip


@app.command("image-to-video")
def image_to_video(
    prompt: Annotated[str, typer.Argument(help="What the video shows.")],
    image: Annotated[str, typer.Option("--image", "-i", help="First frame: a local file, an https URL or a data URI.")],
    end_image: Annotated[str | None, typer.Option(help="Last frame: a local file or URL.")] = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    output: CommonOutput = None,
    negative_prompt: NegativePrompt = None,
    duration: Duration = None,
    audio: Audio = None,
    voice_id: VoiceIds = None,
    param: Params = None,
    deadline: Deadline = 1800.0,
    cancel_on_deadline: CancelOnDeadline = False,
    poll_interval: PollInterval = None,
    wait: Wait = True,
    as_json: AsJson = False,
    quiet: Quiet = False,
    rate_limit_wait: RateLimitWait = DEFAULT_RATE_LIMIT_BUDGET,
) -> None:
    """Animate an image into a video and save it."""
    values = {
        "prompt": prompt,
        "start_image": image,
        "end_image": end_image,
        "negative_prompt": negative_prompt,
        "duration": duration,
        "generate_audio": audio,
        "voice_ids": voice_id,
    }
    generate(
        "image-to-video", values, providers=provider, base_url=base_url, output=output, params=param, deadline=deadline,
        cancel_on_deadline=cancel_on_deadline, poll_interval=poll_interval, wait=wait, as_json=as_json, quiet=quiet,
        rate_limit_wait=rate_limit_wait,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- follow-ups
def job_client(ref: str, provider: list[str] | None, base_url: str | None) -> tuple[Kling, Job[Any]]:
    """The client and job handle of `provider:id` (or a bare id with one --provider)."""
    from kling_sdk.unified import parse_job_ref

    default = provider[0] if provider and len(provider) == 1 else None
    try:
        name, job_id = parse_job_ref(ref, default)
    except InvalidRequestError as exc:  # a job id it cannot be names its provider and field
        fail(ExitCode.USAGE, exc.message if exc.field == "job" else str(exc))
    kling = make_kling([name], base_url)
    try:
        return kling, kling.job(f"{name}:{job_id}")
    except KlingError as exc:
        fail(exit_code_of(exc), str(exc))


@app.command()
def status(
    ref: Annotated[str, typer.Argument(help="The job: provider:id (or an id with --provider).")],
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the video here if the job succeeded.")
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Show a job's state; with -o, save its video once it succeeded."""
    from kling_sdk.unified import job_ref

    from .display import JobDisplay, describe

    kling, job = job_client(ref, provider, base_url)
    with kling:
        try:
            current = kling.status(job)
        except KlingError as exc:
            fail(exit_code_of(exc), str(exc))
        document: dict[str, Any] = {"job": job_ref(job), "state": current.state, "raw_status": current.raw_status}
        if current.queue_position is not None:
            document["queue_position"] = current.queue_position
        if current.failure is not None:
            document["failure"] = {"message": current.failure.message, "code": current.failure.code}
        if current.state == "succeeded":
            try:
                result: VideoResult = kling.result(job, status=current)
                document["url"] = result.url
                if output is not None:
                    with JobDisplay(err, quiet=quiet) as display:
                        saved = kling.download(result, output, on_bytes=display.downloaded)
                        display.saved(saved)
                    document["file"] = str(saved)
            except KlingError as exc:
                fail(exit_code_of(exc), str(exc))
        plain = f"{document['job']}  {describe(current.state, current.queue_position)}"
        if current.failure is not None:
            plain += f"  {current.failure.message}"
        report(as_json, document, plain)
    if current.state in ("failed", "cancelled"):
        raise Stop(ExitCode.FAILED)


@app.command()
def cancel(
    ref: Annotated[str, typer.Argument(help="The job: provider:id (or an id with --provider).")],
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Ask the provider to cancel a job."""
    from kling_sdk.unified import job_ref

    kling, job = job_client(ref, provider, base_url)
    with kling:
        try:
            kling.cancel(job)
        except (APIError, UnsupportedOperationError) as exc:
            fail(exit_code_of(exc), str(exc))
    out.print(f"cancel requested for {job_ref(job)}")


@app.command()
def providers(as_json: AsJson = False) -> None:
    """Which provider serves which task with which parameters, and whether its key is set."""
    from rich.table import Table

    from kling_sdk.unified import CLIENTS, TASKS, capabilities

    table_data = capabilities()
    if as_json:
        out.print(json.dumps({p: {t: list(ps) for t, ps in tasks.items()} for p, tasks in table_data.items()}))
        return
    table = Table(title="Kling 2.6 Pro: who takes what")
    for column in ("provider", "task", "takes", "does not take", "key"):
        table.add_column(column, overflow="fold")
    for provider in CLIENTS:
        env = key_env(provider)
        key = f"{env} {'set' if os.environ.get(env) else 'unset'}"
        for task, model in TASKS.items():
            taken = table_data.get(provider, {}).get(task)
            if taken is None:
                table.add_row(provider, task, "(task not served)", "", key)
                continue
            missing = [name for name in model.model_fields if name not in taken]
            table.add_row(provider, task, ", ".join(taken), ", ".join(missing), key)
    out.print(table)


@app.command()
def batch(
    jobs: Annotated[Path, typer.Argument(help="JSON Lines: one request per line ({'task': ..., 'prompt': ...}).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the videos, the journal and report.json.")],
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Jobs in flight at once.")] = 4,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a request may take; a submit's request at most this long in total.")
    ] = 60.0,
    deadline: Deadline = 1800.0,
    poll_interval: PollInterval = None,
    resubmit_in_doubt: Annotated[
        bool,
        typer.Option(help="Submit again lines whose earlier submit may have reached the provider (may bill twice)."),
    ] = False,
    lookup_grace: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Wait at least this long after a lost submit before its job is looked for in the provider's list; "
            "it only lengthens the minimum, the submit's --timeout plus the provider's listing delay.",
        ),
    ] = 0.0,
    rate_limit_wait: RateLimitWait = DEFAULT_RATE_LIMIT_BUDGET,
    quiet: Quiet = False,
) -> None:
    """Run every line of a JSONL file; rerun the same command to resume (no line is ever submitted twice)."""
    from .batch import BatchOptions, run_batch
    from .journal import JournalBusyError

    names = chosen_providers(provider)
    options = BatchOptions(
        providers=tuple(names),
        base_urls=base_urls_for(names, base_url),
        concurrency=concurrency,
        timeout=timeout,
        deadline=deadline,
        poll_interval=poll_interval,
        resubmit_in_doubt=resubmit_in_doubt,
        lookup_grace=lookup_grace,
        rate_limit_wait=rate_limit_wait,
    )
    try:
        code = run_batch(jobs, out_dir, options, err, quiet=quiet)
    except (InvalidRequestError, ValueError, OSError, JournalBusyError) as exc:
        fail(ExitCode.USAGE, str(exc))
    raise Stop(ExitCode(code))
