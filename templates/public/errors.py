"""Every error the SDK raises, in one tree (the documented home: `from kling_sdk.errors import ...`).

    KlingError
    ├── MissingApiKeyError
    ├── InvalidRequestError           rejected locally before any network call (also a ValueError); names the
    │                                 provider ("unified" for the neutral requests) and the field
    ├── UnsupportedOperationError     the provider has no such operation (e.g. no cancel endpoint)
    ├── APIError                      provider, message, request_id
    │   ├── APIStatusError            status_code, code, body
    │   │   ├── BadRequestError       400/422, with the provider's field details
    │   │   ├── AuthenticationError   401
    │   │   ├── PermissionDeniedError 403 (permissions, credits)
    │   │   ├── NotFoundError         404
    │   │   ├── ConflictError         409
    │   │   ├── RateLimitError        429, retry_after
    │   │   └── ServerError           5xx
    │   ├── APIConnectionError        the request may not have reached the provider
    │   │   └── APITimeoutError
    │   ├── SubmitOutcomeUnknownError a paid submit may have been accepted; never resubmitted blindly
    │   └── JobNotFinishedError       result() of a job that is still queued or running (state, raw_status)
    ├── GenerationFailedError         the job ran and failed (provider code, message, retryable)
    │   └── JobCancelledError         the job was cancelled
    ├── JobDeadlineExceededError      the job did not finish before the caller's deadline
    ├── NoProviderAcceptedError       every provider of a preference list refused the submit (nothing was accepted)
    └── DownloadError                 the video could not be saved completely

Every error raised after a submit was accepted carries `job_id` and `job_ref` (`provider:id`); none carries an
API key. The same names are re-exported by `kling_sdk.unified` and every provider package.
"""

from ._runtime.errors import (
    APIConnectionError,
    APIError,
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

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DownloadError",
    "GenerationFailedError",
    "InvalidRequestError",
    "JobCancelledError",
    "JobDeadlineExceededError",
    "JobNotFinishedError",
    "KlingError",
    "MissingApiKeyError",
    "NoProviderAcceptedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "SubmitOutcomeUnknownError",
    "UnsupportedOperationError",
]
