"""Object storage through fsspec: per-protocol defaults and one-line error messages.

Credentials, region and endpoint come from the configuration's ``storage-options`` or from
the standard environment variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``…), which botocore reads itself.
"""

from __future__ import annotations

import copy
import glob
import io
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem
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


@dataclass(frozen=True)
class StorageTarget:
    """A folder or file on any fsspec filesystem, with the run's storage options.

    The one way the flows reach storage (like pangeo-forge-recipes' ``FSSpecTarget``):
    ``StorageTarget("s3://bucket/rankings", options).join("run-1").open("a.parquet", "wb")``.
    """

    url: str
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def _fs_root(self) -> tuple[AbstractFileSystem, str]:
        fs, root = url_to_fs(self.url, **options_for(self.url, self.storage_options))
        return fs, root.rstrip("/") or root

    @property
    def fs(self) -> AbstractFileSystem:
        return self._fs_root[0]

    @property
    def root(self) -> str:
        """The path on :attr:`fs`, without protocol."""
        return self._fs_root[1]

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    def path(self, name: str = "") -> str:
        return posixpath.join(self.root, name) if name else self.root

    def join(self, name: str) -> StorageTarget:
        """The target ``name`` inside this one (same filesystem and options)."""
        child = StorageTarget(self.fs.unstrip_protocol(self.path(name)), self.storage_options)
        # The filesystem instance is reused, not rebuilt from the URL.
        object.__setattr__(child, "_fs_root", (self.fs, self.path(name)))
        return child

    def open(self, name: str = "", mode: str = "rb", **kwargs: Any) -> Any:
        return self.fs.open(self.path(name), mode, **kwargs)

    def exists(self, name: str = "") -> bool:
        return bool(self.fs.exists(self.path(name)))

    def makedirs(self) -> None:
        """Create the folder where folders exist; object stores have none (and s3fs's
        ``makedirs`` would create a missing bucket)."""
        if self.is_local:
            self.fs.makedirs(self.root, exist_ok=True)

    def write_bytes(self, name: str, data: bytes) -> None:
        if self.is_local:
            # Nested names (``a/b.parquet``) need their folders where folders exist.
            self.fs.makedirs(posixpath.dirname(self.path(name)), exist_ok=True)
        with self.open(name, "wb") as fh:
            fh.write(data)

    def write_table(self, name: str, frame: pd.DataFrame, **kwargs: Any) -> bytes:
        """Write ``frame`` as Parquet or CSV (by ``name``'s suffix); returns the bytes."""
        data = table_bytes(frame, name or self.root, **kwargs)
        self.write_bytes(name, data)
        return data

    def expand(self) -> list[str]:
        """The paths (without protocol) the URL names: itself, or every match of its glob."""
        if glob.has_magic(self.root):
            return sorted(self.fs.glob(self.root))
        return [self.root]

    def url_of(self, name: str = "") -> str:
        return self.fs.unstrip_protocol(self.path(name))


def table_bytes(frame: pd.DataFrame, name: str, *, row_group_size: int | None = None) -> bytes:
    """``frame`` encoded as the file ``name`` says: ``.parquet`` (zstd) or ``.csv`` (UTF-8)."""
    if name.lower().endswith(".csv"):
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if not name.lower().endswith(".parquet"):
        raise ValueError(f"{name}: a table is written as .parquet or .csv")
    import pyarrow as pa

    return parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False), row_group_size)


def parquet_bytes(table: Any, row_group_size: int | None = None) -> bytes:
    """An Arrow table as Parquet (zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # A column without a value is text: the parts of one dataset then share a schema
    # (pyarrow cannot read a folder whose parts disagree, null here and string there).
    for i, column in enumerate(table.schema):
        if pa.types.is_null(column.type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.string()))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=row_group_size)
    return buffer.getvalue()
