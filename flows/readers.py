"""Reading source formats (Web of Science, Scopus, OpenAlex, deal tables): files → a reader of
``core/readers`` → checked partitions, one per file.

The readers are pure functions of a file's bytes; this module finds the files, decompresses
them, loads what a reader needs besides (a deal mapping, the OpenAlex institutions) once on
the client, and turns a reader's complaint into a one-line :class:`flows.errors.InputError`.
"""

from __future__ import annotations

import importlib
import posixpath
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from flows.errors import ConfigError, InputError, OutputError
from flows.inputs import ReadSettings, checked_from_map, expand_inputs
from flows.storage import StorageTarget, describe, storage_errors
from flows.testhooks import pause

#: Source formats and the endings of their file names: a folder contributes the files that
#: end so, a file named on its own must too (its reader then checks the content).
SOURCE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "wos": (".txt", ".tsv", ".txt.gz", ".tsv.gz"),
    "scopus": (".csv", ".csv.gz"),
    "openalex": (".gz", ".json", ".jsonl", ".json.gz", ".jsonl.gz"),
    "deals": (".csv", ".csv.gz", ".parquet"),
}
SOURCE_FORMATS: tuple[str, ...] = tuple(SOURCE_SUFFIXES)
#: Reader options whose value is a file to load on the client: option -> reader option.
_FILE_OPTIONS = {"mapping-url": "mapping", "institutions-url": "institutions"}


def reader_module(fmt: str) -> ModuleType:
    """The ``core.readers`` module of a source format."""
    if fmt not in SOURCE_SUFFIXES:
        raise ConfigError(f"unknown input format {fmt!r} (known: {', '.join(SOURCE_FORMATS)})")
    return importlib.import_module(f"core.readers.{fmt}")


def _read_bytes(target: StorageTarget) -> bytes:
    with target.open(compression="infer") as fh:
        return fh.read()


def load_reader_options(
    fmt: str, options: Mapping[str, Any], storage_options: Mapping[str, Any]
) -> dict[str, Any]:
    """A format's options as its reader takes them: dashes become underscores, and the
    files named by ``mapping-url`` (deals: YAML) or ``institutions-url`` (OpenAlex: the
    institutions entity, files or folder) are read here, once.

    Raises
    ------
    InputError
        A named file is missing or unreadable.
    """
    import yaml

    loaded: dict[str, Any] = {}
    for key, value in options.items():
        if key not in _FILE_OPTIONS:
            loaded[key.replace("-", "_")] = value
            continue
        name = _FILE_OPTIONS[key]
        try:
            if name == "mapping":
                loaded[name] = yaml.safe_load(_read_bytes(StorageTarget(value, storage_options)))
            else:
                parse = reader_module(fmt).parse_institutions
                loaded[name] = pd.concat(
                    [
                        parse(_read_bytes(StorageTarget(url, storage_options)))
                        for url in source_files([value], fmt, storage_options)
                    ],
                    ignore_index=True,
                )
        except (ValueError, yaml.YAMLError, *storage_errors()) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{key} {value}: {describe(exc)}") from None
    return loaded


def _accepts(fmt: str) -> Callable[[str], bool]:
    suffixes = SOURCE_SUFFIXES[fmt]
    return lambda path: path.lower().endswith(suffixes)


def source_files(urls: Sequence[str], fmt: str, storage_options: Mapping[str, Any]) -> list[str]:
    """Every file of format ``fmt`` named by ``urls`` (files, folders or globs)."""
    kinds = " or ".join(SOURCE_SUFFIXES[fmt])
    found = expand_inputs(urls, storage_options, accepts=_accepts(fmt), kinds=f"{fmt} ({kinds})")
    return [url for url, _ in found]


def read_source_file(
    url: str, fmt: str, options: Mapping[str, Any], storage_options: Mapping[str, Any]
) -> pd.DataFrame:
    """One file through its reader: the reader's frame with ``file`` (the file's name)."""
    try:
        data = _read_bytes(StorageTarget(url, storage_options))
    except storage_errors() as exc:
        raise InputError(f"input {url}: cannot read: {describe(exc)}") from None
    name = posixpath.basename(url.rstrip("/"))
    try:
        frame = reader_module(fmt).parse(data, file=name, options=dict(options))
    except ValueError as exc:
        raise InputError(f"input {url}: not a {fmt} file: {' '.join(str(exc).split())}") from None
    return frame.assign(file=name)


def _read_source_and_check(
    item: tuple[int, str],
    *,
    fmt: str,
    options: Mapping[str, Any],
    storage_options: Mapping[str, Any],
    settings: ReadSettings,
) -> pd.DataFrame:
    export, url = item
    pause("READ")
    checked = settings.check(read_source_file(url, fmt, options, storage_options))
    # Which export each row came from: a document in two overlapping exports counts once,
    # from the first file in name order (core.records.fractional_weights).
    return checked.assign(export=np.int64(export))


def read_source_records(
    urls: Sequence[str],
    *,
    fmt: str,
    options: Mapping[str, Any],
    settings: ReadSettings,
    storage_options: Mapping[str, Any],
) -> dd.DataFrame:
    """Stage *read + validate* for a source format: one partition per file, each read by
    the format's reader on a worker, then checked like any record table."""
    reader_module(fmt)
    return checked_from_map(
        _read_source_and_check,
        list(enumerate(source_files(urls, fmt, storage_options), start=1)),
        label=f"icrank-read-{fmt}",
        fmt=fmt,
        options=dict(options),
        storage_options=dict(storage_options),
        settings=settings,
    )


def _convert_file(
    url: str,
    index: int,
    *,
    fmt: str,
    options: Mapping[str, Any],
    storage_options: Mapping[str, Any],
    records: StorageTarget,
    rejects: StorageTarget,
) -> tuple[int, int]:
    frame = read_source_file(url, fmt, options, storage_options)
    unplaced = frame["no_address"].fillna("").astype(str).str.strip().ne("").to_numpy()
    name = f"part-{index:05d}.parquet"
    records.write_table(name, frame[~unplaced].drop(columns="no_address"))
    if unplaced.any():
        rejects.write_table(name, frame[unplaced])
    return int((~unplaced).sum()), int(unplaced.sum())


def convert_source(
    urls: Sequence[str],
    *,
    fmt: str,
    options: Mapping[str, Any],
    output: StorageTarget,
    storage_options: Mapping[str, Any],
) -> tuple[int, int, int]:
    """``icrank convert``: every file of a source format as a part of a Parquet dataset in
    the record contract (``<output>/part-NNNNN.parquet``, with the readers' extra columns),
    and the rows a reader could not place in ``<output>-rejects/``, one task per file.

    Returns
    -------
    tuple of int
        Files, rows written, rows rejected.
    """
    import dask
    from dask.delayed import delayed

    reader_module(fmt)
    files = source_files(urls, fmt, storage_options)
    rejects = StorageTarget(output.url.rstrip("/") + "-rejects", storage_options)
    try:
        output.makedirs()
        rejects.makedirs()
    except storage_errors() as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None
    tasks = [
        delayed(_convert_file, pure=True)(
            url,
            i,
            fmt=fmt,
            options=dict(options),
            storage_options=dict(storage_options),
            records=output,
            rejects=rejects,
        )
        for i, url in enumerate(files)
    ]
    try:
        counts = dask.compute(*tasks)
    except storage_errors() as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None
    return len(files), sum(c[0] for c in counts), sum(c[1] for c in counts)
