"""Tolerant access to the tables the renderers draw: absent tables and columns are not errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["by_rank", "column", "floats"]


def column(frame: pd.DataFrame | None, name: str, default: Any = np.nan) -> pd.Series:
    """A column of ``frame``, or ``default`` repeated when the frame lacks it.

    Parameters
    ----------
    frame : pandas.DataFrame or None
        The table; None stands for an empty one.
    name : str
        The column.
    default : Any, default NaN
        The value of every row when ``frame`` has no column ``name``.

    Returns
    -------
    pandas.Series
        The column, on the index of ``frame``; empty (dtype object) when ``frame`` is None.
    """
    if frame is None:
        return pd.Series([], dtype=object)
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def floats(frame: pd.DataFrame | None, name: str) -> np.ndarray:
    """A column of ``frame`` as float64, NaN where it is missing or not a number.

    Parameters
    ----------
    frame : pandas.DataFrame or None
        The table; None stands for an empty one.
    name : str
        The column; a column ``frame`` lacks is all NaN.

    Returns
    -------
    numpy.ndarray
        One float64 per row of ``frame``.
    """
    values = pd.to_numeric(column(frame, name), errors="coerce")
    return np.asarray(values, dtype=np.float64)


def by_rank(rankings: pd.DataFrame | None) -> pd.DataFrame:
    """The ranking table in rank order.

    Parameters
    ----------
    rankings : pandas.DataFrame or None
        The ranking table; None stands for an empty one.

    Returns
    -------
    pandas.DataFrame
        The rows sorted by ``rank`` (stable, missing ranks last), or as given when there is no
        ``rank`` column.
    """
    if rankings is None:
        return pd.DataFrame()
    if "rank" in rankings.columns:
        return rankings.sort_values("rank", kind="mergesort", na_position="last")
    return rankings
