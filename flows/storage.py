"""Object storage through fsspec: per-protocol defaults and one-line error messages.

Credentials, region and endpoint come from the configuration's ``storage-options`` or from
the standard environment variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``…), which botocore reads itself.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from fsspec.utils import get_protocol

# Without bounds botocore retries an unreachable endpoint for minutes; fail within about
# half a minute instead.
S3_DEFAULTS: dict[str, Any] = {
    "config_kwargs": {
        "connect_timeout": 5,
        "read_timeout": 30,
        "retries": {"max_attempts": 3, "mode": "standard"},
    }
}


def options_for(url: str, storage_options: Mapping[str, Any]) -> dict[str, Any]:
    """``storage_options`` for ``url``, with bounded timeouts added for S3 unless set."""
    options = copy.deepcopy(dict(storage_options))
    if get_protocol(url) in ("s3", "s3a"):
        config = options.setdefault("config_kwargs", {})
        for key, value in S3_DEFAULTS["config_kwargs"].items():
            config.setdefault(key, copy.deepcopy(value))
    return options


def storage_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean storage trouble rather than a bug in the flow."""
    errors: list[type[BaseException]] = [OSError, TimeoutError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        errors += [BotoCoreError, ClientError]
    except ImportError:  # pragma: no cover - s3fs brings botocore
        pass
    return tuple(errors)


def describe(exc: BaseException) -> str:
    """A one-line description of a storage error, without secrets or tracebacks."""
    if isinstance(exc, PermissionError):
        kind = "access denied"
    elif isinstance(exc, FileNotFoundError):
        kind = "not found"
    elif type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError"):
        kind = "endpoint unreachable"
    else:
        kind = type(exc).__name__
    detail = " ".join(str(exc).split())
    return f"{kind} ({detail})" if detail else kind
