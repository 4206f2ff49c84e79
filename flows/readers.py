"""Reading source formats (Web of Science, Scopus, OpenAlex, deal tables, PatentsView,
PATSTAT): files → a reader of ``core/readers`` → the record contract, streamed.

Two kinds of format:

- *file formats* (``wos``, ``scopus``, ``openalex``, ``deals``): each file is read piece by
  piece (:mod:`core.readers.pieces`), so a file of any size needs bounded memory; one task
  per file writes each piece's rows as a Parquet part.
- *table formats* (``patentsview``, ``patstat``): a folder of published tables; each table
  file is streamed into prepared Parquet parts (one task per file), then the tables are
  joined as Dask DataFrames, spilling as Dask does.

A run writes those parts to a scratch folder beside its output and removes it after;
``icrank convert`` writes the file formats' parts as its output. This module loads what a
reader needs besides (a deal mapping, the OpenAlex institutions) once on the client, and
turns a reader's complaint into a one-line :class:`flows.errors.InputError`.
"""

from __future__ import annotations

import importlib
import io
import logging
import posixpath
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from core.readers.pieces import Piece, iter_pieces
from core.readers.tables import TABLE_SUFFIXES, tables_of
from core.records import checked_meta
from flows.errors import ConfigError, InputError, OutputError
from flows.inputs import ReadSettings, checked_from_map, expand_inputs
from flows.storage import StorageTarget, describe, storage_errors
from flows.testhooks import pause

log = logging.getLogger("icrank")

#: File formats and the endings of their file names: a folder contributes the files that
#: end so, a file named on its own must too (its reader then checks the content).
SOURCE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "wos": (".txt", ".tsv", ".txt.gz", ".tsv.gz"),
    "scopus": (".csv", ".csv.gz"),
    "openalex": (".gz", ".json", ".jsonl", ".json.gz", ".jsonl.gz"),
    "deals": (".csv", ".csv.gz", ".parquet"),
}
#: Table formats: each input is a folder of the format's published tables.
TABLE_FORMATS: tuple[str, ...] = ("patentsview", "patstat")
SOURCE_FORMATS: tuple[str, ...] = (*SOURCE_SUFFIXES, *TABLE_FORMATS)
#: Bytes of a file (or a table) read at a time: bounds a reader task's memory.
PIECE_BYTES = 32 * 2**20
#: Rows of a staged table part, and so of a partition of a table format's joins.
TABLE_PART_ROWS = 250_000
#: Reader options whose value is a file to load on the client: option -> reader option.
_FILE_OPTIONS = {"mapping-url": "mapping", "institutions-url": "institutions"}


def reader_module(fmt: str) -> ModuleType:
    """The ``core.readers`` module of a source format."""
    if fmt not in SOURCE_FORMATS:
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
    ConfigError
        A table format's option is unknown or has a bad value.
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
    if fmt in TABLE_FORMATS:
        try:
            reader_module(fmt).check_options(loaded)
        except ValueError as exc:
            raise ConfigError(f"{fmt} options: {exc}") from None
    return loaded


def _accepts(fmt: str) -> Callable[[str], bool]:
    suffixes = TABLE_SUFFIXES if fmt in TABLE_FORMATS else SOURCE_SUFFIXES[fmt]
    if fmt in TABLE_FORMATS:
        tables = reader_module(fmt).TABLES
        return lambda path: (
            any(t.holds(posixpath.basename(path)) for t in tables)
            and (path.lower().endswith(suffixes))
        )
    return lambda path: path.lower().endswith(suffixes)


def source_files(urls: Sequence[str], fmt: str, storage_options: Mapping[str, Any]) -> list[str]:
    """Every file of format ``fmt`` named by ``urls`` (files, folders or globs)."""
    if fmt in TABLE_FORMATS:
        folders = source_tables(urls, fmt, storage_options)
        return [url for tables in folders for files in tables.values() for url in files]
    kinds = " or ".join(SOURCE_SUFFIXES[fmt])
    found = expand_inputs(urls, storage_options, accepts=_accepts(fmt), kinds=f"{fmt} ({kinds})")
    return [url for url, _ in found]


def source_tables(
    urls: Sequence[str], fmt: str, storage_options: Mapping[str, Any]
) -> list[dict[str, list[str]]]:
    """Per input folder of a table format: each table's files (URLs), by published name.

    Raises
    ------
    InputError
        A folder without a table the format requires.
    """
    module = reader_module(fmt)
    out = []
    for url in urls:
        found = expand_inputs([url], storage_options, accepts=_accepts(fmt), kinds=f"{fmt} tables")
        by_name = {posixpath.basename(u): u for u, _ in found}
        try:
            tables = tables_of(list(by_name), module.TABLES)
        except ValueError as exc:
            raise InputError(f"input {url}: not a {fmt} folder: {exc}") from None
        out.append({name: [by_name[n] for n in names] for name, names in tables.items()})
    return out


# -- file formats ------------------------------------------------------------------------

_LINE = re.compile(r"\bline (\d+)")


def iter_source_frames(
    url: str,
    fmt: str,
    options: Mapping[str, Any],
    storage_options: Mapping[str, Any],
    *,
    piece_bytes: int = PIECE_BYTES,
) -> Iterator[pd.DataFrame]:
    """A file through its reader, piece by piece: reader frames with ``file`` (the file's
    name) and ``row`` counted through the whole file.

    Raises
    ------
    InputError
        The file cannot be read, or is not of the format (naming the file's line).
    """
    module = reader_module(fmt)
    name = posixpath.basename(url.rstrip("/"))
    records = 0

    def parse(piece: Piece) -> pd.DataFrame:
        try:
            return module.parse(piece.data, file=name, options=dict(options))
        except ValueError as exc:
            message = _LINE.sub(
                lambda m: f"line {piece.file_line(int(m.group(1)))}",
                " ".join(str(exc).split()),
                count=1,
            )
            raise InputError(f"input {url}: not a {fmt} file: {message}") from None

    try:
        with StorageTarget(url, storage_options).open(compression="infer") as fh:
            pieces = iter_pieces(
                fh,
                kind=lambda head: module.piece_kind(head, file=name),
                piece_bytes=piece_bytes,
            )
            for piece in pieces:
                frame = parse(piece)
                frame["row"] = frame["row"].to_numpy(np.int64) + records
                records += int(frame.attrs.get("records", 0))
                yield frame.assign(file=name)
    except storage_errors() as exc:
        raise InputError(f"input {url}: cannot read: {describe(exc)}") from None


def _placed_and_unplaced(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    unplaced = frame["no_address"].fillna("").astype(str).str.strip().ne("").to_numpy()
    return frame[~unplaced].drop(columns="no_address"), frame[unplaced]


def _write_file_parts(
    item: tuple[int, str],
    *,
    fmt: str,
    options: Mapping[str, Any],
    storage_options: Mapping[str, Any],
    records: StorageTarget,
    rejects: StorageTarget | None,
    piece_bytes: int,
) -> tuple[list[str], int, int]:
    # One part per piece; without ``rejects`` unplaced rows stay in the parts (a run's
    # validation turns them into rejects with the reader's reason).
    index, url = item
    pause("READ")
    names, kept, unplaced = [], 0, 0
    for k, frame in enumerate(
        iter_source_frames(url, fmt, options, storage_options, piece_bytes=piece_bytes)
    ):
        name = f"part-{index:05d}-{k:05d}.parquet"
        if rejects is None:
            records.write_table(name, frame.assign(export=np.int64(index)))
            kept += len(frame)
        else:
            placed, lost = _placed_and_unplaced(frame)
            records.write_table(name, placed)
            if len(lost):
                rejects.write_table(name, lost)
            kept, unplaced = kept + len(placed), unplaced + len(lost)
        names.append(name)
    return names, kept, unplaced


# -- table formats -----------------------------------------------------------------------


def _stage_table_file(
    item: tuple[int, str, str],
    *,
    fmt: str,
    options: Mapping[str, Any],
    storage_options: Mapping[str, Any],
    scratch: StorageTarget,
    piece_bytes: int,
) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder, table_name, url = item
    pause("READ")
    module = reader_module(fmt)
    table = next(t for t in module.TABLES if t.name == table_name)
    file = posixpath.basename(url)
    stem = re.sub(r"\W", "_", file)
    names, row = [], 0

    def write(chunk: pd.DataFrame) -> None:
        nonlocal row
        chunk = chunk.assign(row=np.arange(row, row + len(chunk), dtype=np.int64), file=file)
        row += len(chunk)
        prepared = module.prepare(table.name, chunk, options=options)
        # Parts of at most TABLE_PART_ROWS rows: the joins' partitions (as many as the
        # largest table has parts) then stay that small whatever the table's size.
        for start in range(0, max(len(prepared), 1), TABLE_PART_ROWS):
            name = f"{folder:05d}/{table.name}/{stem}-{len(names):05d}.parquet"
            scratch.write_table(name, prepared.iloc[start : start + TABLE_PART_ROWS])
            names.append(name)

    options_csv = {
        "read_options": pacsv.ReadOptions(use_threads=False),
        "parse_options": pacsv.ParseOptions(delimiter=module.DELIMITER, newlines_in_values=True),
        "convert_options": pacsv.ConvertOptions(
            include_columns=list(table.columns),
            column_types={c: pa.string() for c in table.columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }
    try:
        with StorageTarget(url, storage_options).open(compression="infer") as fh:
            # Pieces of whole records, each parsed on its own: pyarrow's streaming reader
            # grows with the file (measured: twice the memory for ten times the rows).
            for piece in iter_pieces(fh, kind="csv", piece_bytes=piece_bytes):
                write(pacsv.read_csv(io.BytesIO(piece.data), **options_csv).to_pandas())
    except (pa.ArrowInvalid, pa.ArrowKeyError, UnicodeDecodeError) as exc:
        message = " ".join(str(exc).split())
        missing = re.search(r"Column '([^']+)' in include_columns does not exist", message)
        if missing:
            message = f"missing column {missing.group(1)!r}"
        raise InputError(f"input {url}: not a {fmt} {table.name} table: {message}") from None
    except storage_errors() as exc:
        raise InputError(f"input {url}: cannot read: {describe(exc)}") from None
    if not names:
        write(pd.DataFrame({c: pd.Series([], dtype=object) for c in table.columns}))
    return names


def _table_frames(
    plan: SourcePlan,
    *,
    storage_options: Mapping[str, Any],
    scratch: StorageTarget,
    piece_bytes: int,
) -> dd.DataFrame:
    """Stage the tables (computed now, on the cluster), then their join, lazily: reader
    frames with ``export`` (the input folder's 1-based index)."""
    import dask
    from dask.delayed import delayed

    fmt, options, folders = plan.fmt, plan.options, plan.folders
    module = reader_module(fmt)
    items = [
        (k, table, url)
        for k, tables in enumerate(folders, start=1)
        for table, urls in tables.items()
        for url in urls
    ]
    staged = dask.compute(
        *[
            delayed(_stage_table_file, pure=True)(
                item,
                fmt=fmt,
                options=dict(options),
                storage_options=dict(storage_options),
                scratch=scratch,
                piece_bytes=piece_bytes,
            )
            for item in items
        ]
    )
    log.info("%s: %d table files staged", fmt, len(items))
    parts: list[dd.DataFrame] = []
    for k, tables in enumerate(folders, start=1):
        frames = {
            table: dd.read_parquet(
                [
                    scratch.url_of(name)
                    for item, names in zip(items, staged, strict=True)
                    if item[:2] == (k, table)
                    for name in names
                ],
                storage_options=scratch.storage_options or None,
            )
            for table in tables
        }
        try:
            joined = module.join(frames, options=options)
        except ValueError as exc:
            raise ConfigError(f"{fmt} options: {exc}") from None
        meta = module.records(joined._meta, options=options)
        frame = joined.map_partitions(module.records, options=options, meta=meta)
        parts.append(frame.assign(export=np.int64(k)))
    return parts[0] if len(parts) == 1 else dd.concat(parts)


# -- both --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcePlan:
    """The inputs of one format, found and checked on the client before a cluster starts.

    Attributes
    ----------
    fmt : str
        The format.
    options : dict
        As :func:`load_reader_options` returns them.
    files : list of str
        File formats: the files, in name order.
    folders : list of dict
        Table formats: per input folder, each table's files.
    """

    fmt: str
    options: dict[str, Any]
    files: list[str] = field(default_factory=list)
    folders: list[dict[str, list[str]]] = field(default_factory=list)


def plan_source(
    urls: Sequence[str], fmt: str, options: Mapping[str, Any], storage_options: Mapping[str, Any]
) -> SourcePlan:
    """Find the inputs of a source format and load its options."""
    loaded = load_reader_options(fmt, options, storage_options)
    if fmt in TABLE_FORMATS:
        return SourcePlan(fmt, loaded, folders=source_tables(urls, fmt, storage_options))
    return SourcePlan(fmt, loaded, files=source_files(urls, fmt, storage_options))


def new_scratch(output: StorageTarget) -> StorageTarget:
    """A fresh scratch folder inside ``output`` (hidden from readers of run folders and of
    Parquet datasets by its leading dot)."""
    return output.join(f".icrank-scratch-{uuid.uuid4().hex[:12]}")


def remove_scratch(scratch: StorageTarget) -> None:
    """Remove a scratch folder, if it was made."""
    try:
        if scratch.exists():
            scratch.fs.rm(scratch.root, recursive=True)
    except storage_errors() as exc:
        log.warning("could not remove the scratch folder %s: %s", scratch.url, describe(exc))


def _read_part_and_check(
    name: str, *, scratch: StorageTarget, settings: ReadSettings
) -> pd.DataFrame:
    with scratch.open(name) as fh:
        frame = pd.read_parquet(fh)
    export = frame.pop("export")
    checked = settings.check(frame)
    # Which export each row came from: a document in two overlapping exports counts once,
    # from the first file in name order (core.records.fractional_weights).
    return checked.assign(export=export.to_numpy(np.int64))


def _stage_files(
    plan: SourcePlan,
    *,
    storage_options: Mapping[str, Any],
    records: StorageTarget,
    rejects: StorageTarget | None,
    piece_bytes: int,
) -> list[tuple[list[str], int, int]]:
    import dask
    from dask.delayed import delayed

    return list(
        dask.compute(
            *[
                delayed(_write_file_parts, pure=True)(
                    item,
                    fmt=plan.fmt,
                    options=plan.options,
                    storage_options=dict(storage_options),
                    records=records,
                    rejects=rejects,
                    piece_bytes=piece_bytes,
                )
                for item in enumerate(plan.files, start=1)
            ]
        )
    )


def read_source_records(
    plan: SourcePlan,
    *,
    settings: ReadSettings,
    storage_options: Mapping[str, Any],
    scratch: StorageTarget,
    piece_bytes: int = PIECE_BYTES,
) -> dd.DataFrame:
    """Stage *read + validate* for a source format, on the active cluster: the inputs are
    read (and written to ``scratch``) now, then checked like any record table, lazily,
    one partition per piece."""
    if plan.fmt in TABLE_FORMATS:
        frames = _table_frames(
            plan, storage_options=storage_options, scratch=scratch, piece_bytes=piece_bytes
        )
        return frames.map_partitions(_check_frame, settings=settings, meta=checked_meta())
    staged = _stage_files(
        plan,
        storage_options=storage_options,
        records=scratch,
        rejects=None,
        piece_bytes=piece_bytes,
    )
    log.info("%s: %d files read", plan.fmt, len(plan.files))
    return checked_from_map(
        _read_part_and_check,
        [name for names, _, _ in staged for name in names],
        label=f"icrank-read-{plan.fmt}",
        scratch=scratch,
        settings=settings,
    )


def _check_frame(frame: pd.DataFrame, *, settings: ReadSettings) -> pd.DataFrame:
    export = frame["export"].to_numpy(np.int64)
    return settings.check(frame.drop(columns="export")).assign(export=export)


def _write_frame_part(
    frame: pd.DataFrame, index: int, *, records: StorageTarget, rejects: StorageTarget
) -> tuple[int, int]:
    placed, lost = _placed_and_unplaced(frame.drop(columns="export"))
    name = f"part-{index:05d}.parquet"
    records.write_table(name, placed)
    if len(lost):
        rejects.write_table(name, lost)
    return len(placed), len(lost)


def convert_source(
    plan: SourcePlan,
    *,
    output: StorageTarget,
    storage_options: Mapping[str, Any],
    piece_bytes: int = PIECE_BYTES,
) -> tuple[int, int, int]:
    """``icrank convert``: a source format's rows as the parts of a Parquet dataset in the
    record contract (``<output>/part-*.parquet``, with the readers' extra columns), and the
    rows a reader could not place in ``<output>-rejects/``, on the active cluster.

    Returns
    -------
    tuple of int
        Input files, rows written, rows rejected.
    """
    import dask

    rejects = StorageTarget(output.url.rstrip("/") + "-rejects", storage_options)
    try:
        output.makedirs()
        rejects.makedirs()
    except storage_errors() as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None
    try:
        if plan.fmt not in TABLE_FORMATS:
            staged = _stage_files(
                plan,
                storage_options=storage_options,
                records=output,
                rejects=rejects,
                piece_bytes=piece_bytes,
            )
            return len(plan.files), sum(s[1] for s in staged), sum(s[2] for s in staged)
        scratch = new_scratch(output)
        try:
            frames = _table_frames(
                plan, storage_options=storage_options, scratch=scratch, piece_bytes=piece_bytes
            )
            from dask.delayed import delayed

            counts = dask.compute(
                *[
                    delayed(_write_frame_part, pure=True)(part, i, records=output, rejects=rejects)
                    for i, part in enumerate(frames.to_delayed())
                ]
            )
        finally:
            remove_scratch(scratch)
        files = sum(len(urls) for tables in plan.folders for urls in tables.values())
        return files, sum(c[0] for c in counts), sum(c[1] for c in counts)
    except storage_errors() as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None
