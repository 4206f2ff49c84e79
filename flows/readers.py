"""Reading source formats (Web of Science, Scopus, OpenAlex, deal tables, PatentsView,
PATSTAT): files → a reader of ``core/readers`` → the record contract, streamed.

Two kinds of format:

- *file formats* (``wos``, ``scopus``, ``openalex``, ``deals``): each file is read piece by
  piece (:mod:`core.readers.pieces`), so a file of any size needs bounded memory; one task
  per file writes each piece's rows as a Parquet part.
- *table formats* (``patentsview``, ``patstat``): a folder of published tables; each table
  file is streamed into prepared Parquet parts, sent to buckets by a hash of its join key
  (one task per file), then each phase of the format's join runs bucket by bucket (one
  Arrow join per bucket: :mod:`core.readers.tables`), its output sent to the buckets of
  the next phase's key.

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
import pyarrow as pa

from core.readers.pieces import Piece, iter_pieces
from core.readers.tables import JOINED, TABLE_SUFFIXES, bucket_of, order_of, tables_of
from flows.errors import ConfigError, InputError, OutputError
from flows.inputs import ReadSettings, checked_from_map, expand_inputs
from flows.storage import StorageTarget, describe, parquet_bytes, storage_errors
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
#: Pieces of a table format's text per bucket of its joins: bounds a join task's memory.
JOIN_BUCKET_PIECES = 4
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
    first_pass = getattr(module, "FIRST_PASS", None)

    def read(piece: Piece, func: Callable[..., Any], given: Mapping[str, Any]) -> Any:
        try:
            return func(piece.data, file=name, options=dict(given))
        except ValueError as exc:
            message = _LINE.sub(
                lambda m: f"line {piece.file_line(int(m.group(1)))}",
                " ".join(str(exc).split()),
                count=1,
            )
            raise InputError(f"input {url}: not a {fmt} file: {message}") from None

    def pieces() -> Iterator[Piece]:
        with StorageTarget(url, storage_options).open(compression="infer") as fh:
            yield from iter_pieces(
                fh,
                kind=lambda head: module.piece_kind(head, file=name),
                piece_bytes=piece_bytes,
            )

    try:
        given, stream = options, pieces()
        if first_pass is not None:
            first, second = next(stream), next(stream, None)
            if second is None:
                stream = iter([first])
            else:
                # A file of several pieces whose reader needs the whole file first (the
                # rows of a deal may lie in any piece): it is read twice.
                stream.close()
                per_piece, combine = first_pass
                given = {**options, **combine([read(p, per_piece, options) for p in pieces()])}
                stream = pieces()
        records = 0
        for piece in stream:
            frame = read(piece, module.parse, given)
            frame["row"] = frame["row"].to_numpy(np.int64) + records
            records += int(frame.attrs.get("records", 0))
            yield frame.assign(file=name)
    except storage_errors() as exc:
        raise InputError(f"input {url}: cannot read: {describe(exc)}") from None


def _placed_and_unplaced(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    unplaced = frame["no_address"].fillna("").astype(str).str.strip().ne("").to_numpy()
    return frame[~unplaced].drop(columns="no_address"), frame[unplaced]


def _write_records(
    frame: pd.DataFrame,
    name: str,
    *,
    records: StorageTarget,
    rejects: StorageTarget | None,
    export: int,
) -> tuple[int, int]:
    # Without ``rejects`` unplaced rows stay in the part (a run's validation turns them
    # into rejects with the reader's reason), and ``export`` says which input they are of.
    if rejects is None:
        records.write_table(name, frame.assign(export=np.int64(export)))
        return len(frame), 0
    placed, lost = _placed_and_unplaced(frame)
    records.write_table(name, placed)
    if len(lost):
        rejects.write_table(name, lost)
    return len(placed), len(lost)


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
    # One part per piece.
    index, url = item
    pause("READ")
    names, kept, unplaced = [], 0, 0
    for k, frame in enumerate(
        iter_source_frames(url, fmt, options, storage_options, piece_bytes=piece_bytes)
    ):
        name = f"part-{index:05d}-{k:05d}.parquet"
        placed, lost = _write_records(frame, name, records=records, rejects=rejects, export=index)
        kept, unplaced = kept + placed, unplaced + lost
        names.append(name)
    return names, kept, unplaced


# -- table formats -----------------------------------------------------------------------


def _table_bytes(url: str, storage_options: Mapping[str, Any]) -> int:
    # The table's text bytes: a zip file's directory says them; a gzip file's last four
    # bytes say them modulo 2**32; other files are text.
    import struct
    import zipfile

    target = StorageTarget(url, storage_options)
    lower = url.lower()
    try:
        size = int(target.fs.size(url))
        with target.fs.open(url, "rb") as fh:
            if lower.endswith(".zip"):
                return sum(info.file_size for info in zipfile.ZipFile(fh).infolist())
            if lower.endswith(".gz") and size >= 4:
                fh.seek(size - 4)
                return max(size, struct.unpack("<I", fh.read(4))[0])
    except zipfile.BadZipFile:
        raise InputError(f"input {url}: not a zip file") from None
    except storage_errors() as exc:
        raise InputError(f"input {url}: cannot read: {describe(exc)}") from None
    return size


def join_buckets(plan: SourcePlan, storage_options: Mapping[str, Any], piece_bytes: int) -> int:
    """How many buckets a table format's joins use: one per JOIN_BUCKET_PIECES pieces of
    the tables' text, so that a bucket's join needs bounded memory whatever their size."""
    total = sum(
        _table_bytes(url, storage_options)
        for tables in plan.folders
        for urls in tables.values()
        for url in urls
    )
    return max(1, -(-total // (JOIN_BUCKET_PIECES * piece_bytes)))


def _write_buckets(
    table: pa.Table, *, key: str, buckets: int, scratch: StorageTarget, stem: str
) -> list[tuple[int, str]]:
    where = bucket_of(table[key], buckets=buckets)
    out = []
    for bucket in np.unique(where):
        name = f"{stem}-b{bucket:05d}.parquet"
        scratch.write_bytes(name, parquet_bytes(table.filter(where == bucket)))
        out.append((int(bucket), name))
    return out


def _stage_table_file(
    item: tuple[int, str, int, str],
    *,
    fmt: str,
    options: Mapping[str, Any],
    storage_options: Mapping[str, Any],
    scratch: StorageTarget,
    buckets: int,
    piece_bytes: int,
) -> list[tuple[int, str]]:
    # Each piece prepared and sent to the buckets of its table's phase key.
    import pyarrow.csv as pacsv

    folder, table_name, file_index, url = item
    pause("READ")
    module = reader_module(fmt)
    table = next(t for t in module.TABLES if t.name == table_name)
    key = next(p.key for p in module.PHASES if table.name in p.tables)
    file = posixpath.basename(url)
    stem = f"{folder:05d}/{table.name}/" + re.sub(r"\W", "_", file)
    names: list[tuple[int, str]] = []
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
    row = 0
    try:
        with StorageTarget(url, storage_options).open(compression="infer") as fh:
            # Pieces of whole records, each parsed on its own: pyarrow's streaming reader
            # grows with the file (measured: twice the memory for ten times the rows).
            for k, piece in enumerate(iter_pieces(fh, kind="csv", piece_bytes=piece_bytes)):
                parsed = pacsv.read_csv(io.BytesIO(piece.data), **options_csv)
                chunk = _with_origin(parsed, row, file, file_index)
                row += len(chunk)
                prepared = module.prepare(table.name, chunk, options=options)
                names += _write_buckets(
                    prepared, key=key, buckets=buckets, scratch=scratch, stem=f"{stem}-{k:05d}"
                )
    except (pa.ArrowInvalid, pa.ArrowKeyError, UnicodeDecodeError) as exc:
        message = " ".join(str(exc).split())
        missing = re.search(r"Column '([^']+)' in include_columns does not exist", message)
        if missing:
            message = f"missing column {missing.group(1)!r}"
        raise InputError(f"input {url}: not a {fmt} {table.name} table: {message}") from None
    except storage_errors() as exc:
        raise InputError(f"input {url}: cannot read: {describe(exc)}") from None
    return names


def _with_origin(chunk: pa.Table, start: int, file: str, file_index: int) -> pa.Table:
    # Where each row came from (core.readers.tables.ORIGIN).
    rows = np.arange(start, start + len(chunk), dtype=np.int64)
    return (
        chunk.append_column("row", pa.array(rows))
        .append_column("file", pa.repeat(file, len(chunk)))
        .append_column("order", pa.array(order_of(file_index, rows)))
    )


def _read_bucket(
    names: Sequence[str], *, table: str, module: ModuleType, scratch: StorageTarget, options: Any
) -> pa.Table:
    import pyarrow.parquet as pq

    if not names:
        columns = next(t.columns for t in module.TABLES if t.name == table)
        empty = pa.table({c: pa.array([], pa.string()) for c in columns})
        return module.prepare(table, _with_origin(empty, 0, "", 0), options=options)
    parts = []
    for name in names:
        with scratch.open(name) as fh:
            parts.append(pq.read_table(fh))
    return pa.concat_tables(parts)


def _join_bucket(
    bucket: int,
    *,
    joined_if_none: pa.Table | None,
    fmt: str,
    options: Mapping[str, Any],
    phase: int,
    inputs: Mapping[str, Sequence[str]],
    scratch: StorageTarget,
    buckets: int,
    folder: int,
    records: StorageTarget,
    rejects: StorageTarget | None,
) -> tuple[list[Any], int, int]:
    # One bucket of one phase: its rows of every table of the phase, joined. The last
    # phase writes the reader's records (as _write_file_parts does); the others send their
    # output to the buckets of the next phase's key.
    pause("READ")
    module = reader_module(fmt)
    tables = {
        name: joined_if_none
        if name == JOINED and not names
        else _read_bucket(names, table=name, module=module, scratch=scratch, options=options)
        for name, names in inputs.items()
    }
    joined = module.PHASES[phase].join(tables, options=options)
    if phase + 1 < len(module.PHASES):
        stem = f"{folder:05d}/{JOINED}-{phase}/{bucket:05d}"
        key = module.PHASES[phase + 1].key
        return _write_buckets(joined, key=key, buckets=buckets, scratch=scratch, stem=stem), 0, 0
    frame = module.records(joined, options=options)
    name = f"part-{folder:05d}-{bucket:05d}.parquet"
    kept, unplaced = _write_records(frame, name, records=records, rejects=rejects, export=folder)
    return [name], kept, unplaced


def _empty_outputs(
    plan: SourcePlan, module: ModuleType, tables: Mapping[str, Any], scratch: StorageTarget
) -> list[pa.Table]:
    # The joins on no rows, on the client: what a phase gives a bucket that holds no rows
    # of the previous phase; and a folder without a table its options need is a mistake
    # named here, not in a worker's traceback.
    outputs: list[pa.Table] = []
    try:
        for step in module.PHASES:
            inputs = {
                name: _read_bucket(
                    [], table=name, module=module, scratch=scratch, options=plan.options
                )
                for name in step.tables
                if name in tables
            }
            if outputs:
                inputs[JOINED] = outputs[-1]
            outputs.append(step.join(inputs, options=plan.options))
    except ValueError as exc:
        raise ConfigError(f"{plan.fmt} options: {exc}") from None
    return outputs


def _stage_tables(
    plan: SourcePlan,
    *,
    storage_options: Mapping[str, Any],
    scratch: StorageTarget,
    records: StorageTarget,
    rejects: StorageTarget | None,
    piece_bytes: int,
) -> list[tuple[list[Any], int, int]]:
    # Every table file staged into buckets, then each phase bucket by bucket: the client
    # holds file names only.
    import dask
    from dask.delayed import delayed

    module = reader_module(plan.fmt)
    empty_outputs = [_empty_outputs(plan, module, tables, scratch) for tables in plan.folders]
    buckets = join_buckets(plan, storage_options, piece_bytes)
    items = [
        (k, table, i, url)
        for k, tables in enumerate(plan.folders, start=1)
        for table, urls in tables.items()
        for i, url in enumerate(urls)
    ]
    staged = dask.compute(
        *[
            delayed(_stage_table_file, pure=True)(
                item,
                fmt=plan.fmt,
                options=plan.options,
                storage_options=dict(storage_options),
                scratch=scratch,
                buckets=buckets,
                piece_bytes=piece_bytes,
            )
            for item in items
        ]
    )
    log.info("%s: %d table files staged, %d join buckets", plan.fmt, len(items), buckets)
    by_bucket: dict[tuple[int, str, int], list[str]] = {}
    for (k, table, _, _), names in zip(items, staged, strict=True):
        for bucket, name in names:
            by_bucket.setdefault((k, table, bucket), []).append(name)
    done: list[tuple[list[Any], int, int]] = []
    for phase, step in enumerate(module.PHASES):
        tasks = []
        for k, tables in enumerate(plan.folders, start=1):
            for bucket in range(buckets):
                inputs = {
                    name: by_bucket.get((k, name, bucket), [])
                    for name in step.tables
                    if name in tables
                }
                if phase:
                    inputs[JOINED] = by_bucket.get((k, JOINED, bucket), [])
                task = delayed(_join_bucket, pure=True)(
                    bucket,
                    joined_if_none=empty_outputs[k - 1][phase - 1] if phase else None,
                    fmt=plan.fmt,
                    options=plan.options,
                    phase=phase,
                    inputs=inputs,
                    scratch=scratch,
                    buckets=buckets,
                    folder=k,
                    records=records,
                    rejects=rejects,
                )
                tasks.append((k, task))
        done = list(dask.compute(*[task for _, task in tasks]))
        log.info("%s: join %d of %d done", plan.fmt, phase + 1, len(module.PHASES))
        by_bucket = {key: names for key, names in by_bucket.items() if key[1] != JOINED}
        for (k, _), (names, _, _) in zip(tasks, done, strict=True):
            if phase + 1 < len(module.PHASES):
                for bucket, name in names:
                    by_bucket.setdefault((k, JOINED, bucket), []).append(name)
    return done


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
    scratch: StorageTarget,
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
    read (and their records written to ``scratch``) now, then checked like any record
    table, lazily, one partition per part."""
    stage = _stage_tables if plan.fmt in TABLE_FORMATS else _stage_files
    staged = stage(
        plan,
        storage_options=storage_options,
        scratch=scratch,
        records=scratch,
        rejects=None,
        piece_bytes=piece_bytes,
    )
    count = len(plan.folders) or len(plan.files)
    kind = "folder" if plan.folders else "file"
    log.info("%s: %d %s%s read", plan.fmt, count, kind, "" if count == 1 else "s")
    return checked_from_map(
        _read_part_and_check,
        [name for names, _, _ in staged for name in names],
        label=f"icrank-read-{plan.fmt}",
        scratch=scratch,
        settings=settings,
    )


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
    rejects = StorageTarget(output.url.rstrip("/") + "-rejects", storage_options)
    try:
        output.makedirs()
        rejects.makedirs()
    except storage_errors() as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None
    scratch = new_scratch(output)
    stage = _stage_tables if plan.fmt in TABLE_FORMATS else _stage_files
    try:
        staged = stage(
            plan,
            storage_options=storage_options,
            scratch=scratch,
            records=output,
            rejects=rejects,
            piece_bytes=piece_bytes,
        )
    except storage_errors() as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None
    finally:
        remove_scratch(scratch)
    files = len(plan.files) + sum(len(urls) for tables in plan.folders for urls in tables.values())
    return files, sum(s[1] for s in staged), sum(s[2] for s in staged)
