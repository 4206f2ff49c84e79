"""Formats whose data span several tables (PATSTAT, PatentsView): the tables a reader
needs, found in a folder by their published file names.

A table reader declares its :data:`TABLES`, turns each chunk of a table into the columns
it keeps (``prepare``, pure and per chunk, so that a table of any size is read piece by
piece), joins the prepared tables (``join``, written against the API pandas and Dask
DataFrames share, so the same code runs on one machine and on a cluster), and makes the
reader frame of each joined partition (``records``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def spread(frame: Any) -> dict[str, Any]:
    """Keyword arguments of a groupby aggregation of ``frame`` that keep a Dask result in
    as many partitions as its input (one partition would hold every key: unbounded);
    none for pandas."""
    from dask import is_dask_collection

    return {"split_out": True} if is_dask_collection(frame) else {}


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
