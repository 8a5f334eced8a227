"""The intermediate representation: frozen records of names, types and docs; no code strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
TypeKind = Literal["str", "int", "float", "bool", "any", "list", "dict", "model", "literal"]
Role = Literal["request", "response"]


@dataclass(frozen=True)
class TypeRef:
    """A type: a primitive, a container of `item`, a named model, or a literal set of `values`."""

    kind: TypeKind
    item: TypeRef | None = None
    name: str | None = None
    values: tuple[str | int | float | bool, ...] = ()


@dataclass(frozen=True)
class Constraint:
    """A validation keyword kept from the spec (maxLength, minimum, maxItems, ...)."""

    keyword: str
    value: int | float | str


@dataclass(frozen=True)
class Field:
    """A property of a model."""

    name: str
    wire_name: str
    type: TypeRef
    required: bool
    nullable: bool
    description: str | None
    constraints: tuple[Constraint, ...] = ()
    has_default: bool = False
    default: Json = None
    constant: bool = False
    source: str = field(default="", compare=False)
    image_limits: tuple[tuple[str, float], ...] = ()  # (ImageRule attribute, value) the spec states for the field


@dataclass(frozen=True)
class Model:
    """A request or response object; request models reject unknown fields, response models keep them."""

    name: str
    role: Role
    description: str | None
    fields: tuple[Field, ...]
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Param:
    """A path or query parameter of an operation."""

    name: str
    wire_name: str
    location: Literal["path", "query"]
    type: TypeRef
    required: bool
    description: str | None
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Operation:
    """One client method: an HTTP call with typed parameters, body and response."""

    name: str
    kind: str
    task: str | None
    method: str
    path: str
    params: tuple[Param, ...]
    request: str | None
    response: str | None
    summary: str | None
    source: str
    spec_path: str = ""
    constants: tuple[tuple[str, Json], ...] = ()
    model: str | None = None  # the neutral model whose table declares it; None: one of the provider's own
    request_schema: tuple[Json, ...] = field(default=(), compare=False)
    response_schema: Json = field(default=None, compare=False)


@dataclass(frozen=True)
class Auth:
    """Auth header convention."""

    header: str
    scheme: str
    env: str


@dataclass(frozen=True)
class NotReached:
    """How an error answer shows the request never reached the provider: one of `status`, and every sign given."""

    status: tuple[int, ...]
    without_header: str | None = None  # the provider's own answers carry this header; its front proxy's do not
    content_type: str | None = None  # the media type of the front proxy's answers
    body_contains: str | None = None  # text the front proxy's page holds


@dataclass(frozen=True)
class FailedJobAnswer:
    """An error answer that means "the job failed" (read by id): its codes, and where the job's failure sits."""

    codes: tuple[str, ...]  # error codes (read at the error shape's `code` pointers) that mean the job failed
    message: tuple[str, ...] = ()  # JSON pointers of the job's failure message, code and retryable flag
    failure_code: tuple[str, ...] = ()
    retryable: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorShape:
    """Where a provider's error body keeps its message, code and request id (JSON pointers)."""

    message: tuple[str, ...]
    code: tuple[str, ...]
    request_id: tuple[str, ...]
    request_id_header: str | None
    code_header: str | None
    rate_limit_status: tuple[int, ...] = (429,)
    not_reached: NotReached | None = None  # a submit answered so was never received: it is sent again
    job_failed: FailedJobAnswer | None = None  # a result answered so is the job's failure


JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
JOB_FIELDS = (
    "id", "status", "queue_position", "logs", "status_url", "result_url", "cancel_url",
    "failure_present", "failure_false", "failure_message", "failure_code", "failure_retryable",
    "video_url", "video_size", "video_content_type", "video_file_name",
)  # fmt: skip


@dataclass(frozen=True)
class StreamDecl:
    """A push channel: a per-job status stream, or a user-wide event stream filtered by job id."""

    kind: str
    path: str
    event: str | None
    id: tuple[str, ...]
    status: tuple[str, ...]


@dataclass(frozen=True)
class LookupDecl:
    """How to find a job whose submit answer was lost: list the provider's jobs and match the request."""

    operation: str
    query: str | None  # the list operation's filter parameter, called once per value (None: one unfiltered call)
    values: tuple[str, ...]
    items: tuple[str, ...]  # where the list of jobs sits in the answer
    id: tuple[str, ...]  # where a listed job's id sits
    # (request body field or JSON pointer into the body, pointer in a listed job) that must be equal
    match: tuple[tuple[str, str], ...]
    submitted_at: tuple[str, ...]  # the submit time in a listed job: unix seconds or an ISO-8601 timestamp
    listing_delay: float = 0.0  # seconds a job may take to appear in the list after its submit was answered
    params: tuple[tuple[str, str], ...] = ()  # query parameters sent with every listing call (a page size)
    more: tuple[str, ...] = ()  # where a listing says another page follows (a next-page cursor)


@dataclass(frozen=True)
class JobDecl:
    """A provider's job protocol: which operations follow a job, its status vocabulary, where facts sit."""

    status_operation: str
    cancel_operation: str | None
    states: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, tuple[str, ...]], ...]
    poll: tuple[tuple[str, float], ...]
    stream: StreamDecl | None
    idempotency_header: str | None
    lookup: LookupDecl | None = None
    cancelled_codes: tuple[str, ...] = ()  # failure codes that mean the job was cancelled, not that it failed
    logs_query: tuple[tuple[str, str], ...] = ()  # query parameters without which status answers carry no logs


@dataclass(frozen=True)
class FileTransport:
    """How image inputs reach the provider: URL schemes taken; local files refused (`url`), inlined or uploaded."""

    mode: str
    upload_path: str | None = None
    upload_url: tuple[str, ...] = ()
    file_url: tuple[str, ...] = ()
    url_schemes: tuple[str, ...] = ("https", "http", "data")


@dataclass(frozen=True)
class ImageLimits:
    """Where a spec states image limits itself: an extension object on the field and its keys, per rule limit."""

    extension: str
    keys: tuple[tuple[str, str], ...]  # (ImageRule attribute, key inside the extension object)


@dataclass(frozen=True)
class ImageRule:
    """Limits checked locally on an image input before anything is sent."""

    field: str
    formats: tuple[str, ...]
    max_bytes: int | None
    min_width: int | None
    min_height: int | None
    min_aspect: float | None
    max_aspect: float | None


@dataclass(frozen=True)
class FakeDecl:
    """How the fake provider (kling_sdk.testing) answers: document and error templates with `{placeholders}`."""

    id: str
    validation: str
    pending_status: int
    statuses: tuple[tuple[str, str], ...]
    failure: dict[str, Json]
    documents: dict[str, Json]
    errors: dict[str, Json]
    auth_schemes: tuple[str, ...] = ()
    submit_status: int = 200  # HTTP status of an accepted submit (Replicate: 201 Created)
    list_unfiltered: str = "all"  # what the job list shows without its filter: "all", or only "active" jobs


@dataclass(frozen=True)
class WireField:
    """Where one neutral parameter goes on a provider's wire (pointer, wire kind, allowed values), from the spec."""

    param: str
    pointer: str
    kind: str  # int | str | float | bool | list | file (a URL string, or a local file the client converts)
    allowed: tuple[Json, ...] = ()  # the neutral values a wire enum can express (empty: any)
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    max_items: int | None = None
    source: str = field(default="", compare=False)  # the spec location of the wire field


@dataclass(frozen=True)
class Adapter:
    """How one (provider, model) serves one neutral task: its submit operation and where each parameter goes."""

    unified: str  # the [unified.<id>] table
    task: str
    operation: str
    request: str
    fields: tuple[WireField, ...]


@dataclass(frozen=True)
class Unit:
    """Everything generated for one model of one provider (`kling_sdk/<provider>/<module>/`).

    Its client's operations are the provider's own and the model's; its model classes are every one they use.
    """

    model: str  # the neutral model id
    module: str
    title: str  # the neutral model's title
    model_id: str  # the provider's own name for it
    models: tuple[Model, ...]
    operations: tuple[Operation, ...]
    spec_files: tuple[str, ...]
    inputs_hash: str
    adapters: tuple[Adapter, ...] = ()
    images: tuple[ImageRule, ...] = ()  # the provider's image rules with the limits this model's specs state

    @property
    def result_operations(self) -> tuple[str, ...]:
        """The operations that fetch a finished job's result, one per task (none where the status carries it)."""
        return tuple(op.name for op in self.operations if op.kind == "result")


@dataclass(frozen=True)
class Provider:
    """Everything generated for one provider: its protocol, and one unit per model it serves."""

    name: str
    title: str
    class_name: str
    base_url: str
    docs_url: str | None
    auth: Auth
    errors: ErrorShape
    units: tuple[Unit, ...]
    default_model: str
    inputs_hash: str
    jobs: JobDecl | None = None
    files: FileTransport = FileTransport("url")  # each unit's image rules are its own (Unit.images)
    fake: FakeDecl | None = None

    @property
    def default_unit(self) -> Unit:
        """The unit `kling_sdk.<provider>` re-exports."""
        return next(u for u in self.units if u.model == self.default_model)


@dataclass(frozen=True)
class UnifiedParam:
    """A provider-neutral parameter of a task (`[unified.<task>.params]`)."""

    name: str
    type: str  # str | int | float | bool | list[str] | file (a URL, data URI or local path)
    required: bool = False
    default: Json = None
    enum: tuple[Json, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None
    max_length: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class UnifiedTask:
    """A provider-neutral request model: `TextToVideo`, `ImageToVideo`."""

    id: str
    task: str
    class_name: str
    description: str
    params: tuple[UnifiedParam, ...]


@dataclass(frozen=True)
class UnifiedField:
    """Where one neutral parameter goes in a provider's request body: a JSON pointer (`/prompt`, `/input/prompt`)."""

    param: str
    pointer: str


@dataclass(frozen=True)
class UnifiedMapping:
    """How a (provider, model) serves one neutral task, as declared: the submit operation and the field mapping."""

    task: str
    operation: str
    fields: tuple[UnifiedField, ...]


@dataclass(frozen=True)
class Distribution:
    """The generated SDK as a distribution (`generated/pyproject.toml`): name, version, one-line summary."""

    name: str
    version: str
    description: str


@dataclass(frozen=True)
class NeutralModel:
    """A neutral model id (`[models.<id>]`) and its title."""

    id: str
    title: str
    module: str


@dataclass(frozen=True)
class Api:
    """All providers of one SDK package."""

    package: str
    providers: tuple[Provider, ...]
    unified: tuple[UnifiedTask, ...] = ()
    models: tuple[NeutralModel, ...] = ()
    default_model: str = ""
    distribution: Distribution = field(default_factory=lambda: Distribution("kling-sdk", "0.0.0", ""))
