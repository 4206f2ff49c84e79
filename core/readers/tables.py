"""Formats whose data span several tables (PATSTAT, PatentsView): the tables a reader
needs, found in a folder by their published file names.

A table reader declares its :data:`TABLES`, turns each chunk of a table into the columns
it keeps (``prepare``, pure and per chunk, so that a table of any size is read piece by
piece), joins the prepared tables in :data:`PHASES`, and makes the reader frame of the
joined rows (``records``). Chunks, prepared tables and joins are Arrow tables, cleaned by
Arrow's compute functions and joined by hash lookups: Python never sees a row.

Each phase joins tables that meet on one key. Rows are sent to buckets by a hash of that
key (:func:`bucket_of`), so a phase runs as one small join per bucket, whatever the
tables' size: a row's partners are in the same bucket of every table of the phase. A
phase's output, bucketed again by the next phase's key, is that phase's :data:`JOINED`
table. :func:`join_phases` runs the phases on whole tables, which is the same join.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.hashing import hash_strings
from core.readers.common import READER_COLUMNS


@dataclass(frozen=True)
class Table:
    """One published table.

    Attributes
    ----------
    name : str
        Its published name (``g_patent``, ``tls201_appln``).
    pattern : str
        A regular expression the names of its files match (case-insensitive), e.g.
        ``g_patent\\.`` or ``tls201_``: a table may be delivered in several parts.
    columns : tuple of str
        The columns read, as text.
    required : bool
        Whether the format cannot do without it.
    """

    name: str
    pattern: str
    columns: tuple[str, ...]
    required: bool = True

    def holds(self, file_name: str) -> bool:
        """Whether a file of this name is (a part of) this table."""
        return re.match(self.pattern, file_name, flags=re.IGNORECASE) is not None


#: Endings of the files a table may be delivered as.
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".zip", ".gz", ".csv.gz", ".tsv.gz")


def tables_of(file_names: Sequence[str], tables: Sequence[Table]) -> dict[str, list[str]]:
    """Which of ``file_names`` hold which table, in name order.

    Raises
    ------
    ValueError
        A required table has no file: one line naming it and the names looked for.
    """
    found: dict[str, list[str]] = {}
    for table in tables:
        names = sorted(
            n for n in file_names if table.holds(n) and n.lower().endswith(TABLE_SUFFIXES)
        )
        if names:
            found[table.name] = names
        elif table.required:
            raise ValueError(f"no {table.name} table (a file whose name matches {table.pattern!r})")
    return found


#: The name of the previous phase's output among a phase's tables.
JOINED = "joined"


@dataclass(frozen=True)
class Phase:
    """One step of a table format's join.

    Attributes
    ----------
    key : str
        The column its tables (and the previous phase's output) meet on.
    tables : tuple of str
        The published tables it joins; optional ones may be absent.
    join : callable
        ``join(tables, *, options) -> pyarrow.Table``, on Arrow tables holding one bucket of
        keys (or every key), the previous phase's output as ``tables[JOINED]``.
    """

    key: str
    tables: tuple[str, ...]
    join: Callable[..., pa.Table]


def bucket_of(keys: pa.Array | pa.ChunkedArray, *, buckets: int) -> np.ndarray:
    """The bucket (``0 … buckets-1``) of each key (text or integers): the same in every
    process; missing keys share a bucket."""
    if pa.types.is_integer(keys.type):
        # splitmix64's finaliser: neighbouring ids land in unrelated buckets.
        x = pc.fill_null(keys, 0).to_numpy().astype(np.uint64)
        with np.errstate(over="ignore"):
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        hashed = x ^ (x >> np.uint64(31))
    else:
        hashed, _ = hash_strings(keys, np.zeros(len(keys), np.uint64))
    return (hashed % np.uint64(buckets)).astype(np.int64)


def join_phases(
    phases: Sequence[Phase], tables: Mapping[str, pa.Table], *, options: Mapping[str, Any]
) -> pa.Table:
    """Every phase in turn on whole prepared tables (``tables`` by published name)."""
    joined: pa.Table | None = None
    for phase in phases:
        inputs = {name: tables[name] for name in phase.tables if name in tables}
        if joined is not None:
            inputs[JOINED] = joined
        joined = phase.join(inputs, options=options)
    if joined is None:
        raise ValueError("a table format needs at least one phase")
    return joined


def _combined(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def positions(keys: pa.ChunkedArray | pa.Array, among: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """For each of ``keys``, the position of the first equal key in ``among``; -1 where
    there is none, and for missing keys."""
    found = pc.index_in(keys, value_set=_combined(among), skip_nulls=True)
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def lookup(
    left: pa.Table, right: pa.Table, key: str, *, inner: bool = False, position: str | None = None
) -> pa.Table:
    """``left`` with the other columns of ``right``'s first row of the same ``key``: a join
    on a key whose first row in ``right`` is the one that counts (unique ids, or the first
    applicant), by one hash lookup per row and a take per column; rows without a match keep
    nulls, or are dropped when ``inner``. ``position`` names a column for the matched
    row's position in ``right``, if wanted."""
    index = positions(left[key], right[key])
    if inner:
        kept = index >= 0
        left, index = left.filter(kept), index[kept]
    taken = pa.array(index, mask=index < 0)
    for name in right.column_names:
        if name != key:
            left = left.append_column(name, pc.take(right[name], taken))
    if position is not None:
        left = left.append_column(position, taken)
    return left


def with_codes(
    tables: Mapping[str, pa.Table], key: str, code: str, *, keep: Sequence[str] = ()
) -> dict[str, pa.Table]:
    """``tables`` with column ``code``: their text ``key`` as codes of one dictionary, so
    that the lookups between them hash integers, once for all (several times faster than a
    hash of the text per lookup); ``key`` itself is kept only in the tables ``keep`` names."""
    columns = [tables[name][key] for name in tables]
    chunks = [chunk for column in columns for chunk in column.chunks]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.string()))
    codes = (
        pc.cast(encoded.combine_chunks().indices, pa.int64())
        if chunks
        else pa.array([], pa.int64())
    )
    out, start = {}, 0
    for name, column in zip(tables, columns, strict=True):
        table = tables[name] if name in keep else tables[name].drop_columns(key)
        out[name] = table.append_column(code, codes.slice(start, len(column)))
        start += len(column)
    return out


def count_per(table: pa.Table, position: str, name: str) -> pa.Table:
    """``table`` with column ``name`` for column ``position`` (a :func:`lookup`'s): how many
    of its rows matched the same row."""
    matched = table[position].to_numpy()
    counts = np.bincount(matched)[matched] if len(matched) else matched
    return table.drop_columns(position).append_column(name, pa.array(counts, pa.int64()))


#: Where a chunk's rows came from, kept by ``prepare`` on the tables that give record rows:
#: ``row`` (0-based in its file), ``file`` (its name) and ``order`` (the row's place among
#: all rows of its table: the file's index among the table's files, then ``row``).
ORIGIN = ("row", "file", "order")


def origin(chunk: pa.Table) -> dict[str, pa.ChunkedArray]:
    """A chunk's :data:`ORIGIN` columns, for ``prepare`` to keep."""
    return {name: chunk[name] for name in ORIGIN}


def order_of(file_index: int, row: np.ndarray) -> np.ndarray:
    """The ``order`` of rows ``row`` of a table's file number ``file_index``."""
    return (np.int64(file_index) << np.int64(40)) | np.asarray(row, np.int64)


def in_file_order(table: pa.Table) -> pa.Table:
    """``table`` in the order of its rows' files: joins give their rows in any order."""
    order = table["order"].to_numpy()
    if (order[1:] >= order[:-1]).all():
        return table
    return table.take(np.argsort(order, kind="stable"))


def _null_where_empty(values: pa.Array) -> pa.Array:
    # The same strings with a validity bitmap that also masks empty ones: no copy of the
    # text, which pc.if_else would make.
    valid = pc.and_(pc.is_valid(values), pc.greater(pc.binary_length(values), 0))
    if valid.offset or values.offset:
        return pc.if_else(valid, values, pa.scalar(None, values.type))
    _, offsets, data = values.buffers()
    return pa.Array.from_buffers(values.type, len(values), [valid.buffers()[1], offsets, data])


def text(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Stripped text, null where empty."""
    stripped = pc.utf8_trim_whitespace(values.cast(pa.string()))
    if isinstance(stripped, pa.ChunkedArray):
        return pa.chunked_array([_null_where_empty(c) for c in stripped.chunks], stripped.type)
    return _null_where_empty(stripped)


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _cast_text(values: pa.ChunkedArray | pa.Array, to: pa.DataType, pattern: str) -> Any:
    # Clean columns (the rule) cast at once; only a column with blanks, spaces or a
    # malformed value pays for stripping, then for the pattern.
    for candidate in (lambda: values, lambda: text(values)):
        try:
            return pc.cast(candidate(), to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    stripped = text(values)
    well_formed = pc.match_substring_regex(stripped, pattern)
    return pc.cast(pc.if_else(well_formed, stripped, pa.scalar(None, pa.string())), pa.float64())


def numbers(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Floats from text, null where empty or malformed."""
    return _cast_text(values, pa.float64(), _NUMBER)


def integers(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Whole numbers from text (rounded), null where empty or malformed."""
    number = _cast_text(values, pa.int64(), _NUMBER)
    return number if pa.types.is_integer(number.type) else pc.cast(pc.round(number), pa.int64())


def years_of_dates(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """The year of ``YYYY-MM-DD`` dates, null where none."""
    return integers(pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(values), 0, 4))


def reader_table(columns: Mapping[str, Any], n: int) -> pd.DataFrame:
    """:func:`core.readers.common.reader_frame` from Arrow columns, converted once: the
    given ones as given, the others empty (null text, NaN numbers)."""
    numeric = {"lat", "lon", "weight", "amount"}
    out = {}
    for name in (*READER_COLUMNS, *(c for c in columns if c not in READER_COLUMNS)):
        if name in columns:
            out[name] = columns[name]
        elif name in numeric:
            out[name] = pa.array(np.full(n, np.nan))
        else:
            out[name] = pa.nulls(n, pa.string())
    table = pa.table(out)
    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) and name != "row":
            # Nullable, whether or not this bucket has a missing value: the parts of one
            # dataset then agree, and a missing year is not a float NaN.
            frame[name] = frame[name].astype("Int64")
    return frame


def column_or_nulls(table: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    """Column ``name`` of ``table``; null text when it has none (an optional table was
    absent)."""
    return table[name] if name in table.column_names else pa.nulls(len(table), pa.string())
