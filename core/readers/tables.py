"""Formats whose data span several tables (PATSTAT, PatentsView): the tables a reader
needs, found in a folder by their published file names.

A table reader declares its :data:`TABLES`, turns each chunk of a table into the columns
it keeps (``prepare``, pure and per chunk, so that a table of any size is read piece by
piece), joins the prepared tables in :data:`PHASES`, and makes the reader frame of the
joined rows (``records``).

Each phase joins tables that meet on one key. Rows are sent to buckets by a hash of that
key (:func:`bucket_of`), so a phase runs as one small pandas join per bucket, whatever the
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
        ``join(tables, *, options) -> DataFrame``, on pandas frames holding one bucket of
        keys (or every key), the previous phase's output as ``tables[JOINED]``.
    """

    key: str
    tables: tuple[str, ...]
    join: Callable[..., pd.DataFrame]


def bucket_of(keys: pd.Series, *, buckets: int) -> np.ndarray:
    """The bucket (``0 … buckets-1``) of each key: the same in every process, and for a
    key read as text or as a string dtype; missing keys share a bucket."""
    values = keys.astype(object).where(keys.notna(), "").astype(str).to_numpy(dtype=object)
    hashed = pd.util.hash_array(values, categorize=False)
    return (hashed % np.uint64(buckets)).astype(np.int64)


def join_phases(
    phases: Sequence[Phase], tables: Mapping[str, pd.DataFrame], *, options: Mapping[str, Any]
) -> pd.DataFrame:
    """Every phase in turn on whole prepared tables (``tables`` by published name)."""
    joined: pd.DataFrame | None = None
    for phase in phases:
        inputs = {name: tables[name] for name in phase.tables if name in tables}
        if joined is not None:
            inputs[JOINED] = joined
        joined = phase.join(inputs, options=options)
    assert joined is not None
    return joined


def text(values: pd.Series) -> pd.Series:
    """Stripped text with None where empty."""
    stripped = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return stripped.where(stripped.ne(""), None)


def optional_text(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` of ``frame`` as objects with None where missing; all None when the
    frame has no such column (an optional table was absent)."""
    if name in frame.columns:
        return frame[name].astype(object).where(frame[name].notna(), None).to_numpy()
    return np.full(len(frame), None, dtype=object)


def integers(values: pd.Series) -> pd.Series:
    """Whole numbers from text, nullable (``Int64``): empty or malformed is missing."""
    return pd.to_numeric(values, errors="coerce").round().astype("Int64")


def numbers(values: pd.Series) -> np.ndarray:
    """Floats from text, NaN where empty or malformed."""
    return pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def years_of_dates(values: pd.Series) -> pd.Series:
    """The year of ``YYYY-MM-DD`` dates, nullable."""
    return integers(values.astype(object).where(values.notna(), "").astype(str).str[:4])
