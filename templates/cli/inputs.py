"""Command-line options and JSONL lines made into neutral requests; bad input is an InvalidRequestError naming the
field (a ValueError too), an unknown task a ValueError."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kling_sdk._runtime.errors import InvalidRequestError
from kling_sdk._runtime.jobs import PollPolicy
from kling_sdk._runtime.models import NEUTRAL
from kling_sdk.unified import TASKS, Request

__all__ = ["neutral_request", "poll_every"]

_IMAGES = ("start_image", "end_image")


def neutral_request(data: Mapping[str, Any], base: Path) -> Request:
    """A neutral request from a JSON object: `task` (default: image-to-video when `start_image` is given) and the
    parameters; an image that is not a URL or data URI is a local file relative to `base`, and must exist."""
    values = dict(data)
    task = values.pop("task", None) or ("image-to-video" if "start_image" in values else "text-to-video")
    if task not in TASKS:
        raise ValueError(f"task {task!r} is not one of {', '.join(TASKS)}")
    for key in _IMAGES:
        value = values.get(key)
        if isinstance(value, str) and not re.match(r"^(https?:|data:)", value):
            path = (base / value).expanduser()
            if not path.is_file():
                raise InvalidRequestError(NEUTRAL, key, f"{value!r} is neither a URL nor an existing file")
            values[key] = path
    return TASKS[task](**values)


def poll_every(seconds: float | None) -> PollPolicy | None:
    """A fixed polling interval instead of the provider's cadence (None: keep the provider's)."""
    return PollPolicy(initial=seconds, cap=seconds) if seconds else None
