"""The SDK's core types (the documented home: `from kling_sdk.types import ...`).

`Job` is what a submit returns (keep its `id`, or `job_ref(job)`); `JobStatus` one observation of it (`state` is
a `JobState`); `Progress` what `on_progress` receives; `VideoResult` a finished job's video; `PollPolicy` a polling
cadence; `LocalFile` an image read from disk or memory; `Secret` a key that never shows in reprs or errors.
The same names are re-exported by `kling_sdk.unified` and every provider package.
"""

from ._runtime.files import LocalFile
from ._runtime.jobs import (
    TERMINAL,
    Failure,
    Job,
    JobState,
    JobStatus,
    PollPolicy,
    Progress,
    ProgressCallback,
    VideoResult,
)
from ._runtime.redact import Secret

__all__ = [
    "TERMINAL",
    "Failure",
    "Job",
    "JobState",
    "JobStatus",
    "LocalFile",
    "PollPolicy",
    "Progress",
    "ProgressCallback",
    "Secret",
    "VideoResult",
]
