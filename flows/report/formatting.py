"""How values read in the report: numbers, missing values and HTML escaping.

Every formatter takes any value a table cell or summary entry may hold (Python or NumPy
scalars, pandas' ``NA``, ``None``, strings) and returns text; missing, non-numeric and
non-finite numbers read :data:`MISSING`.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "esc",
    "fmt_count",
    "fmt_growth",
    "fmt_int",
    "fmt_millions",
    "fmt_percent",
    "fmt_signed",
    "fmt_significant",
    "fmt_text",
    "fmt_two",
    "format_value",
    "is_missing",
    "number",
]

MISSING = "n/a"
"""The text of a missing value."""

_PERCENT_KEY = re.compile(r"share|rate|^top_?\d+$", re.IGNORECASE)


def is_missing(value: Any) -> bool:
    """Whether ``value`` is a missing scalar.

    Parameters
    ----------
    value : Any
        Any value.

    Returns
    -------
    bool
        True for ``None``, NaN, ``NaT`` and pandas' ``NA``; False for everything else,
        including containers (whose elements are not looked at).
    """
    if value is None:
        return True
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(missing) if np.ndim(missing) == 0 else False


def number(value: Any) -> float | None:
    """``value`` as a finite float, if it is one.

    Parameters
    ----------
    value : Any
        Any value.

    Returns
    -------
    float or None
        The number; None when ``value`` is missing, a string or bytes (even "1.5": text from
        the data stays text), not convertible to float, or infinite.
    """
    if is_missing(value) or isinstance(value, (str, bytes)):
        return None
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return None
    return as_float if math.isfinite(as_float) else None


def esc(value: Any) -> str:
    """``str(value)`` escaped for HTML text and attribute values.

    Parameters
    ----------
    value : Any
        Any value.

    Returns
    -------
    str
        The text with ``&``, ``<``, ``>``, ``"`` and ``'`` escaped.
    """
    return html.escape(str(value), quote=True)


def fmt_percent(value: Any) -> str:
    """A share (fraction of one) as a percentage with two decimals, without the sign.

    Parameters
    ----------
    value : Any
        The share.

    Returns
    -------
    str
        ``0.101234`` reads "10.12", ``12.5`` reads "1,250.00"; missing values read "n/a".
    """
    as_float = number(value)
    return MISSING if as_float is None else f"{as_float * 100:,.2f}"


def fmt_count(value: Any) -> str:
    """A fractional count with one decimal and thousands separators.

    Parameters
    ----------
    value : Any
        The count.

    Returns
    -------
    str
        ``123456.25`` reads "123,456.2"; missing values read "n/a".
    """
    as_float = number(value)
    return MISSING if as_float is None else f"{as_float:,.1f}"


def fmt_two(value: Any) -> str:
    """A number with two decimals and thousands separators.

    Parameters
    ----------
    value : Any
        The number.

    Returns
    -------
    str
        ``3336.6`` reads "3,336.60"; missing values read "n/a".
    """
    as_float = number(value)
    return MISSING if as_float is None else f"{as_float:,.2f}"


def fmt_int(value: Any) -> str:
    """A number rounded to an integer (half to even), with thousands separators.

    Parameters
    ----------
    value : Any
        The number, such as a rank.

    Returns
    -------
    str
        ``1234567`` reads "1,234,567"; missing values read "n/a".
    """
    as_float = number(value)
    return MISSING if as_float is None else f"{round(as_float):,}"


def fmt_signed(value: Any) -> str:
    """A whole number with its sign, such as places gained.

    Parameters
    ----------
    value : Any
        The number.

    Returns
    -------
    str
        ``3`` reads "+3", ``-2`` reads "−2" (a minus sign), ``0`` reads "0"; missing values
        read "n/a".
    """
    as_float = number(value)
    if as_float is None:
        return MISSING
    whole = round(as_float)
    return f"+{whole:,}" if whole > 0 else f"−{-whole:,}" if whole < 0 else "0"


def fmt_growth(value: Any) -> str:
    """A compound annual growth rate (fraction of one) as a signed percentage, one decimal.

    Parameters
    ----------
    value : Any
        The rate, such as 0.0356.

    Returns
    -------
    str
        ``0.0356`` reads "+3.6", ``-0.02`` reads "−2.0"; missing values read "n/a".
    """
    as_float = number(value)
    if as_float is None:
        return MISSING
    text = f"{abs(as_float) * 100:,.1f}"
    return text if text.strip("0.,") == "" else ("+" if as_float > 0 else "−") + text


def fmt_millions(value: Any) -> str:
    """A population in millions with two decimals.

    Parameters
    ----------
    value : Any
        The population (inhabitants).

    Returns
    -------
    str
        ``37e6`` reads "37.00"; missing values, zero and negative numbers read "n/a".
    """
    as_float = number(value)
    # A zero population means "unknown" upstream (intensity is NaN there too).
    return MISSING if as_float is None or as_float <= 0 else f"{as_float / 1e6:,.2f}"


def fmt_significant(value: Any) -> str:
    """A number with four significant digits, in scientific notation when very small or large.

    Parameters
    ----------
    value : Any
        The number, such as an intensity.

    Returns
    -------
    str
        ``0.003547`` reads "0.003547", ``1234567`` reads "1.235e+06"; missing values read
        "n/a".
    """
    as_float = number(value)
    return MISSING if as_float is None else f"{as_float:.4g}"


def fmt_text(value: Any) -> str:
    """A value as text.

    Parameters
    ----------
    value : Any
        The value.

    Returns
    -------
    str
        ``str(value)``; missing values read "n/a".
    """
    return MISSING if is_missing(value) else str(value)


def format_value(value: Any, path: tuple[str, ...], style: str) -> str:
    """A scalar of the run summary as text, by the convention of its section.

    Parameters
    ----------
    value : Any
        The scalar.
    path : tuple of str
        The keys leading to ``value`` in the summary; in the ``"share"`` style, a key naming a
        share, a rate or a ``topN`` concentration makes the value a percentage.
    style : {"raw", "seconds", "share", "count"}
        ``"raw"``: ``str(value)``; ``"seconds"``: two decimals and " s"; ``"share"``:
        percentages with two decimals and " %" where ``path`` says so; ``"count"``: other
        numbers with one decimal. Otherwise integers keep every digit and other numbers get
        four significant digits, all with thousands separators.

    Returns
    -------
    str
        The text; missing values read "n/a", booleans "yes" or "no", strings stay as they are.
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if style == "raw" or isinstance(value, str):
        return str(value)
    as_float = number(value)
    if as_float is None:
        return str(value)
    if style == "seconds":
        return f"{as_float:,.2f} s"
    if style == "share" and any(_PERCENT_KEY.search(p) for p in path):
        return f"{as_float * 100:,.2f} %"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{as_float:,.1f}" if style == "count" else f"{as_float:,.4g}"
