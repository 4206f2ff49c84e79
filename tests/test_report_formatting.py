"""How values read in the report (flows.report.formatting): numbers, missing values, escaping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.report.formatting import (
    MISSING,
    esc,
    fmt_count,
    fmt_int,
    fmt_millions,
    fmt_percent,
    fmt_significant,
    fmt_text,
    fmt_two,
    format_value,
    is_missing,
    number,
)

ALL_NUMBER_FORMATTERS = (fmt_percent, fmt_count, fmt_two, fmt_int, fmt_millions, fmt_significant)
MISSING_VALUES = (None, np.nan, float("nan"), pd.NA, pd.NaT, np.float32("nan"))
NOT_NUMBERS = ("0.5", b"1", float("inf"), -np.inf, object(), [1.0])


@pytest.mark.parametrize("formatter", ALL_NUMBER_FORMATTERS)
@pytest.mark.parametrize("value", MISSING_VALUES + NOT_NUMBERS)
def test_missing_and_non_numbers_read_n_a(formatter, value):
    assert formatter(value) == MISSING == "n/a"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0.00"),
        (0.101234, "10.12"),
        (np.float32(0.25), "25.00"),
        (1, "100.00"),
        (12.5, "1,250.00"),
        (-0.0004, "-0.04"),
    ],
)
def test_percent(value, text):
    assert fmt_percent(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0.0"),
        (98765.5, "98,765.5"),
        (1234567.89, "1,234,567.9"),
        (np.int64(10**12), "1,000,000,000,000.0"),
    ],
)
def test_fractional_count(value, text):
    assert fmt_count(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (37e6, "37.00"),
        (499, "0.00"),
        (1.4e9, "1,400.00"),
        (np.int64(25_000_000), "25.00"),
        # Zero and below mean "unknown population" upstream.
        (0, MISSING),
        (0.0, MISSING),
        (-5e6, MISSING),
    ],
)
def test_millions(value, text):
    assert fmt_millions(value) == text


@pytest.mark.parametrize(
    ("formatter", "value", "text"),
    [
        (fmt_int, 1234567, "1,234,567"),
        (fmt_int, np.int64(7), "7"),
        (fmt_int, 0, "0"),
        (fmt_int, 2.5, "2"),  # half to even, like Python's round
        (fmt_int, 3.5, "4"),
        (fmt_two, 3336.6, "3,336.60"),
        (fmt_two, 0, "0.00"),
        (fmt_significant, 0.131234 / 37, "0.003547"),
        (fmt_significant, 1234567, "1.235e+06"),
        (fmt_significant, 0, "0"),
    ],
)
def test_int_two_decimals_and_significant_digits(formatter, value, text):
    assert formatter(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, MISSING), (np.nan, MISSING), (pd.NA, MISSING), ("", ""), (0, "0"), ("JP", "JP")],
)
def test_text(value, text):
    assert fmt_text(value) == text


def test_is_missing_looks_at_scalars_only():
    for value in MISSING_VALUES:
        assert is_missing(value)
    for value in (0, 0.0, "", False, [np.nan], np.array([np.nan]), {}):
        assert not is_missing(value)


def test_number_keeps_finite_numbers_and_refuses_text():
    assert number(np.float64(2.5)) == 2.5 and isinstance(number(np.int64(3)), float)
    assert number(0) == 0.0
    for value in MISSING_VALUES + NOT_NUMBERS:
        assert number(value) is None


def test_esc_escapes_text_and_attribute_quotes():
    assert esc('<a href="x">&\'') == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    assert esc(12) == "12"


@pytest.mark.parametrize(
    ("value", "path", "style", "text"),
    [
        (0.9875, ("geocoding", "per_source", "patent", "match_rate"), "share", "98.75 %"),
        (0.4, ("aggregates", "concentration", "patents", "top10"), "share", "40.00 %"),
        (0.4, ("top_5",), "share", "40.00 %"),
        (0.4, ("stop10",), "share", "0.4"),
        (0.9875, ("rows",), "share", "0.9875"),
        (2000, ("rows_to_geocode",), "share", "2,000"),
        (1.25, ("timings",), "seconds", "1.25 s"),
        (3600, (), "seconds", "3,600.00 s"),
        (12.0, ("counts",), "count", "12.0"),
        (np.int64(1234567), ("counts",), "count", "1,234,567"),
        (13.0, ("parameters", "eps_km"), "raw", "13.0"),
        (True, (), "raw", "yes"),
        (np.bool_(False), (), "count", "no"),
        ("13", (), "count", "13"),
        (None, ("share",), "share", MISSING),
        (float("nan"), (), "seconds", MISSING),
        (pd.NA, (), "count", MISSING),
        (float("inf"), (), "count", "inf"),
    ],
)
def test_summary_values_follow_their_section_style(value, path, style, text):
    assert format_value(value, path, style) == text
