"""The `kling` commands: text-to-video, image-to-video, status, wait, cancel, providers and batch."""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from kling_sdk import DEFAULT_MODEL, MODELS, PROVIDER_TITLES, PROVIDERS, TASK_PARAMETERS
from kling_sdk._runtime.errors import (
    APIStatusError,
    AuthenticationError,
    InvalidRequestError,
    KlingError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from kling_sdk._runtime.retry import DEFAULT_RATE_LIMIT_BUDGET

from .messages import ExitCode, explain, key_env, said

# `kling --help` must start fast: the SDK's models, clients and httpx (kling_sdk.unified, the display, the inputs)
# are imported by the commands that use them, not when the app is built. _runtime.errors and .retry are plain Python;
# what the app needs to build its commands (providers, each task's parameters) is plain data in kling_sdk.
if TYPE_CHECKING:
    from kling_sdk._runtime.jobs import Job, PollPolicy, VideoResult
    from kling_sdk.unified import Kling, Request

    from .display import JobDisplay

__all__ = ["ExitCode", "app", "run"]

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 the job failed or was cancelled (cancel: it had already finished); 2 bad arguments, an "
    "unknown job or a request refused locally (nothing sent); 3 the provider refused the request or could not be "
    "reached (a submit: no job exists); 4 the submit's outcome is unknown (not resubmitted); 5 the job has not "
    "finished (deadline passed, or status -o on a running job): kling wait REF; 6 the video could not be saved; "
    "130 interrupted."
)


class PlainUsage(TyperCommand):
    """A command whose usage line names its arguments plainly (`PROMPT`, not typer's `{PROMPT}`)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [piece[1:-1] if piece[:1] == "{" and piece[-1:] == "}" else piece for piece in pieces]


app = typer.Typer(
    name="kling",
    help=f"Kling videos ({', '.join(MODELS.values())}) from any provider ({', '.join(PROVIDER_TITLES.values())})."
    f" {EXIT_CODES_HELP}",
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
        metavar="PROVIDER",
        help=f"Provider to use ({', '.join(PROVIDERS)}); repeat for a preference list (the next one is tried when a "
        "provider refuses the submit). Default: every provider whose API key is set, in manifest order.",
    ),
]
JobProviderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--provider",
        "-p",
        metavar="PROVIDER",
        help=f"The job's provider ({', '.join(PROVIDERS)}) when REF is a bare id.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="The provider's base URL (one provider), e.g. the fake provider's; or set <PROVIDER>_BASE_URL.",
    ),
]


def chosen_providers(given: list[str] | None, request: Request | None = None) -> list[str]:
    """The preference list: as given, else every provider whose key is set (that serves the request's model and
    task, when there is a request)."""
    from kling_sdk.unified import CLIENTS, serving

    if given:
        names = [name for value in given for name in value.split(",") if name]
        unknown = [name for name in names if name not in CLIENTS]
        if unknown:
            fail(ExitCode.USAGE, f"unknown provider {unknown[0]!r} (known: {', '.join(CLIENTS)})")
        return names
    candidates = list(CLIENTS) if request is None else serving(request.model, request.task)
    names = [name for name in candidates if os.environ.get(key_env(name))]
    if not names:
        keys = ", ".join(key_env(name) for name in candidates)
        what = "" if request is None else f" that serves {request.task} with {request.model}"
        fail(ExitCode.USAGE, f"no provider chosen and no API key set{what}: pass --provider or set one of {keys}")
    return names


def make_kling(providers: list[str], base_url: str | None, rate_limit_wait: float = DEFAULT_RATE_LIMIT_BUDGET) -> Kling:
    """The client for the chosen providers (keys from their environment variables, which must be set)."""
    from kling_sdk.unified import Kling

    require_keys(providers)
    return Kling(providers, base_urls=base_urls_for(providers, base_url), rate_limit_budget=rate_limit_wait)


def require_keys(providers: list[str]) -> None:
    """Every chosen provider's key is set, or the command stops before anything is sent."""
    for name in providers:
        if not os.environ.get(key_env(name)):
            fail(ExitCode.USAGE, f"no API key for {name}: set {key_env(name)} (nothing was sent)")


def fail(code: ExitCode, message: str) -> NoReturn:
    """Print `message` and stop with `code`."""
    err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)  # "[fal] ..." is text, not markup
    raise Stop(code)


def fail_with(error: KlingError, *, task: str | None = None, ref: str | None = None) -> NoReturn:
    """Print what failed, for which provider and what to do next; stop with the documented exit code."""
    failure = explain(error, task=task, ref=ref)
    fail(failure.code, failure.text)


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
    except InvalidRequestError as exc:
        fail_with(exc, task=task)
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
    """Where a video goes without -o: `<provider>-<id>.mp4` in the current folder, the id cut to its first safe part
    (an id like `<uuid>:<model path>` gives the uuid)."""
    parts = [part for part in re.split(r"[^A-Za-z0-9_-]+", job.id) if part]
    return Path(f"{job.provider}-{(parts[0] if parts else 'job')[:40]}.mp4")


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
    kling = make_kling(chosen_providers(providers, request), base_url, rate_limit_wait)
    with kling, JobDisplay(err, quiet=quiet) as display:
        try:
            job = kling.submit(request)
        except KeyboardInterrupt:
            raise Stop(ExitCode.INTERRUPTED) from None  # nothing was accepted: no reference to print
        except KlingError as exc:
            fail_with(exc, task=task)
        display.submitted(job)
        if not wait:
            report(as_json, {"job": job_ref(job), "state": "submitted"}, job_ref(job))
            return
        result, saved = see_through(
            kling, job, display, output=output, deadline=deadline, cancel_on_deadline=cancel_on_deadline,
            poll=poll_every(poll_interval),
        )  # fmt: skip
    report(as_json, {"job": job_ref(job), "state": "succeeded", "file": str(saved), "url": result.url}, str(saved))


def see_through(
    kling: Kling,
    job: Job[Any],
    display: JobDisplay,
    *,
    output: Path | None,
    deadline: float,
    cancel_on_deadline: bool,
    poll: PollPolicy | None,
) -> tuple[VideoResult, Path]:
    """Follow an accepted job to its end and save the video; a failure stops with its exit code, naming the job."""
    from kling_sdk.unified import job_ref

    ref = job_ref(job)
    try:
        final = kling.wait(
            job, deadline=deadline, cancel_on_deadline=cancel_on_deadline, on_progress=display.progress, poll=poll
        )
        result = kling.result(job, status=final)
        saved = kling.download(result, output or default_output(job), on_bytes=display.downloaded)
    except KeyboardInterrupt:
        err.print(f"interrupted; the job keeps running: kling wait {ref}", highlight=False)
        raise Stop(ExitCode.INTERRUPTED) from None
    except KlingError as exc:
        failure = explain(exc, task=job.task, ref=ref)
        fail(failure.code, failure.text if ref in failure.text else f"{failure.text} (job {ref}: kling wait {ref})")
    display.saved(saved)
    return result, saved


def report(as_json: bool, document: dict[str, Any], plain: str) -> None:
    """The command's answer on stdout: JSON, or one plain line."""
    out.print(json.dumps(document) if as_json else plain)


F = TypeVar("F", bound=Callable[..., Any])


def offered(param: str, task: str, option: str) -> Callable[[F], F]:
    """Drop the command's `option` when no provider takes the neutral `param` for `task` (the adapters say)."""

    def decorate(command: F) -> F:
        if param in TASK_PARAMETERS.get(task, ()):
            return command
        signature = inspect.signature(command, eval_str=True)  # as typer reads it
        kept = [value for name, value in signature.parameters.items() if name != option]
        setattr(command, "__signature__", signature.replace(parameters=kept))  # noqa: B010 (typer reads it; mypy: F has no such attribute)
        return command

    return decorate


CommonOutput = Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Where to save the MP4.")]
Deadline = Annotated[float, typer.Option(metavar="SECONDS", help="Seconds to wait for the job at most.")]
CancelOnDeadline = Annotated[bool, typer.Option(help="Cancel the job when the deadline passes.")]
PollInterval = Annotated[
    float | None, typer.Option(metavar="SECONDS", help="Poll every N seconds instead of the provider's cadence.")
]
Wait = Annotated[bool, typer.Option(help="Follow the job and download the video (--no-wait: print the job and stop).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the answer as JSON on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
RateLimitWait = Annotated[
    float,
    typer.Option(
        min=0.0,
        metavar="SECONDS",
        help="Seconds a rate-limited submit keeps being sent again (it was not accepted); 0: give up at once.",
    ),
]
Params = Annotated[
    list[str] | None,
    typer.Option("--param", metavar="NAME=VALUE", help="Another neutral parameter as NAME=VALUE (VALUE may be JSON)."),
]
Prompt = Annotated[str, typer.Argument(metavar="PROMPT", help="What the video shows.")]
JobRef = Annotated[str, typer.Argument(metavar="REF", help="The job: provider:id (or an id with --provider).")]
NegativePrompt = Annotated[str | None, typer.Option(metavar="TEXT", help="What the video should avoid.")]
Duration = Annotated[
    int | None, typer.Option(metavar="SECONDS", help="Length in seconds (what each model allows: kling providers).")
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="MODEL",
        help=f"The Kling model: {', '.join(f'{m} ({t})' for m, t in MODELS.items())}; default {DEFAULT_MODEL}.",
    ),
]
Audio = Annotated[bool | None, typer.Option("--audio/--no-audio", help="Generate native audio (default: on).")]
VoiceIds = Annotated[
    list[str] | None, typer.Option("--voice-id", metavar="ID", help="A voice for <<<voice_N>>>; repeatable.")
]


@app.command("text-to-video", cls=PlainUsage)
@offered("voice_ids", "text-to-video", "voice_id")
def text_to_video(
    prompt: Prompt,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    output: CommonOutput = None,
    negative_prompt: NegativePrompt = None,
    duration: Duration = None,
    aspect_ratio: Annotated[str | None, typer.Option(metavar="RATIO", help="16:9, 9:16 or 1:1.")] = None,
    cfg_scale: Annotated[
        float | None, typer.Option(metavar="X", help="How closely to follow the prompt (0-1).")
    ] = None,
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
        "model": model,
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


@app.command("image-to-video", cls=PlainUsage)
@offered("voice_ids", "image-to-video", "voice_id")
def image_to_video(
    prompt: Prompt,
    image: Annotated[
        str,
        typer.Option(
            "--image", "-i", metavar="FILE|URL", help="First frame: a local file, an https URL or a data URI."
        ),
    ],
    end_image: Annotated[str | None, typer.Option(metavar="FILE|URL", help="Last frame: a local file or URL.")] = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
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
        "model": model,
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
        fail_with(exc, ref=f"{name}:{job_id}")


@app.command(cls=PlainUsage)
def status(
    ref: JobRef,
    provider: JobProviderOpt = None,
    base_url: BaseUrlOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Save the video here; a job not finished yet exits 5 (kling wait)."
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Show a job's state; with -o, save its video (the job must have succeeded)."""
    from kling_sdk.unified import job_ref

    from .display import JobDisplay, describe

    kling, job = job_client(ref, provider, base_url)
    ref = job_ref(job)
    with kling:
        try:
            current = kling.status(job)
        except KlingError as exc:
            fail_with(exc, ref=ref)
        document: dict[str, Any] = {"job": ref, "state": current.state, "raw_status": current.raw_status}
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
                fail_with(exc, ref=ref)
        plain = f"{ref}  {describe(current.state, current.queue_position)}"
        if current.failure is not None:
            plain += f"  {current.failure.message}"
        report(as_json, document, plain)
    if current.state in ("failed", "cancelled"):
        raise Stop(ExitCode.FAILED)
    if output is not None and current.state != "succeeded":
        fail(ExitCode.UNFINISHED, f"job {ref} is {current.state}, nothing saved yet: kling wait {ref} -o {output} "
             "follows it to the end and saves it")  # fmt: skip


@app.command(cls=PlainUsage)
def wait(
    ref: JobRef,
    provider: JobProviderOpt = None,
    base_url: BaseUrlOpt = None,
    output: CommonOutput = None,
    deadline: Deadline = 1800.0,
    cancel_on_deadline: CancelOnDeadline = False,
    poll_interval: PollInterval = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Follow a job to its end and save its video (after --no-wait, an interrupt or a deadline)."""
    from kling_sdk.unified import job_ref

    from .display import JobDisplay
    from .inputs import poll_every

    kling, job = job_client(ref, provider, base_url)
    with kling, JobDisplay(err, quiet=quiet) as display:
        display.following(job)
        result, saved = see_through(
            kling, job, display, output=output, deadline=deadline, cancel_on_deadline=cancel_on_deadline,
            poll=poll_every(poll_interval),
        )  # fmt: skip
    report(as_json, {"job": job_ref(job), "state": "succeeded", "file": str(saved), "url": result.url}, str(saved))


@app.command(cls=PlainUsage)
def cancel(ref: JobRef, provider: JobProviderOpt = None, base_url: BaseUrlOpt = None) -> None:
    """Ask the provider to cancel a job (a finished job has nothing to cancel: exit 1)."""
    from kling_sdk.unified import job_ref

    kling, job = job_client(ref, provider, base_url)
    ref = job_ref(job)
    with kling:
        try:
            kling.cancel(job)
        except APIStatusError as exc:
            if isinstance(exc, AuthenticationError | PermissionDeniedError | RateLimitError | NotFoundError):
                fail_with(exc, ref=ref)
            if isinstance(exc, ServerError) or not _finished(kling, job):
                fail_with(exc, ref=ref)
            # The provider refuses to cancel a finished job: say so, keeping what it answered.
            fail(
                ExitCode.FAILED, f"job already finished: nothing to cancel ({ref}; {exc.provider} answered {said(exc)})"
            )
        except KlingError as exc:
            fail_with(exc, ref=ref)
        finished = _finished(kling, job)  # some providers accept a cancel of a finished job and do nothing
        if finished and finished != "cancelled":
            fail(ExitCode.FAILED, f"job already finished: nothing to cancel ({ref} {finished})")
    out.print(f"cancel requested for {ref}")


def _finished(kling: Kling, job: Job[Any]) -> str | None:
    """The job's final state if it has ended (None: still active, or its state cannot be read now)."""
    try:
        state = kling.status(job).state
    except KlingError:
        return None
    return state if state in ("succeeded", "failed", "cancelled") else None


@app.command(cls=PlainUsage)
def providers(as_json: AsJson = False) -> None:
    """Which model each provider serves, for which task, with which parameters and values; whose key is set."""
    from rich.table import Table

    from kling_sdk.unified import TASKS, capabilities

    from .display import allowed_text

    table_data = capabilities()
    if as_json:
        out.print(json.dumps(table_data))
        return
    table = Table(title="Kling models: who serves what, and what each model allows")
    for column in ("model", "provider", "task", "takes", "does not take", "key"):
        table.add_column(column, overflow="fold")
    for model, title in MODELS.items():
        for provider, tasks in table_data.get(model, {}).items():
            env = key_env(provider)
            key = f"{env} {'set' if os.environ.get(env) else 'unset'}"
            for task, neutral in TASKS.items():
                taken = tasks.get(task)
                if taken is None:
                    table.add_row(f"{model} ({title})", provider, task, "(task not served)", "", key)
                    continue
                described = [name + allowed_text(limits) for name, limits in taken.items()]
                missing = [name for name in neutral.model_fields if name not in taken and name != "model"]
                table.add_row(f"{model} ({title})", provider, task, ", ".join(described), ", ".join(missing), key)
    out.print(table)


@app.command(cls=PlainUsage)
def batch(
    jobs: Annotated[
        Path,
        typer.Argument(
            metavar="JOBS.jsonl",
            help='JSON Lines: one request per line, e.g. {"task": "text-to-video", "prompt": "a fox", "duration": 5}.',
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder for the videos, the journal and report.json.")
    ],
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256, metavar="N", help="Jobs in flight at once.")] = 4,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            metavar="SECONDS",
            help="Seconds a request may take; a submit's request at most this long in total.",
        ),
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
            metavar="SECONDS",
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
    require_keys(names)
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
