"""Deal and company tables (Crunchbase, Dealroom, PitchBook exports) read through a mapping.

Deal databases share no schema, so the caller passes ``options["mapping"]``, a small dict
(parsed from YAML by the caller, see ``deploy/deals-mapping-example.yaml``) naming the
table's columns:

============== ========================================================================
key            value
============== ========================================================================
``id``         the deal id column, or a list of columns whose values are joined by "|"
``date``       a date column (any text pandas parses; its year is used), or ...
``year``       ... a year column (exactly one of the two)
``city``,      place columns, each optional: ``country`` as ISO alpha-2, alpha-3 or an
``state``,     English name (``core.records`` normalises all three), ``address`` a
``country``,   free-text location for the geocoder
``address``
``latitude``,  coordinates (both or neither)
``longitude``
``amount``     deal size: currency symbols, codes, thousands separators and ``k``/``M``/
               ``B`` suffixes are read ("$1,250,000", "€8.8M"); the number is kept
``currency``   currency code column, kept as the extra output column ``currency``
``organization`` the company's name
``field``      the company's sector or technology field
``multi_valued`` ``{column: separator}`` for place columns holding several values
               ("Boston; Paris"): one output row per value, the deal's weight split
``delimiter``  the CSV field delimiter (default "," or tab for ``.tsv`` files)
============== ========================================================================

Every deal counts 1, split equally over its table rows (a table may hold one row per
deal and investor) and each row's part equally over its values of a multi-valued column.
Rows without any place keep their deal and weight and carry ``no_address``.

The rows of one deal may lie anywhere in a table, so a table read in pieces is read twice:
:func:`deal_keys` of every piece, summed by :func:`rows_per_deal`, give :func:`parse` each
deal's table rows in the whole file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.hashing import hash_text
from core.readers.common import reader_frame
from core.records import NO_YEAR, YEAR_RANGE

FORMAT = "deals"
SOURCE = "vc"

#: Mapping keys that name one column each.
COLUMN_KEYS = (
    "date",
    "year",
    "city",
    "state",
    "country",
    "address",
    "latitude",
    "longitude",
    "amount",
    "currency",
    "organization",
    "field",
)
MAPPING_KEYS = ("id", *COLUMN_KEYS, "multi_valued", "delimiter")
PLACE_KEYS = ("city", "state", "country", "address", "latitude", "longitude")
TEXT_PLACE_KEYS = ("city", "state", "country", "address")
NO_ADDRESS = "deal without city, state, country, address or coordinates"
# What Excel writes into a cell it could not compute: "no value", not a place or a name
# (a company called "=Mc2" or "-ology" comes back from a round trip as #NAME?).
EXCEL_ERRORS = frozenset(
    {"#NAME?", "#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)
# A number with its thousands separators, then an optional magnitude word or suffix.
_AMOUNT = re.compile(
    r"(-?\d[\d.,'\u00a0\u202f ]*)\s*(thousand|million|billion|mio|mrd|mm|mn|bn|k|m|b)?\b",
    re.IGNORECASE,
)
_MAGNITUDE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "mrd": 1e9,
    "billion": 1e9,
}
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+")
_NEGATIVE_ZERO = re.compile(r"-0+")
_YEAR_IN_TEXT = re.compile(r"(?<!\d)(1[89]\d\d|2[01]\d\d)(?!\d)")


@dataclass(frozen=True)
class DealMapping:
    """A validated ``mapping`` option: which table column holds what."""

    id: tuple[str, ...]
    columns: dict[str, str]
    """Mapping key (``date``, ``city``, …) → table column, for the keys given."""
    multi_valued: dict[str, str] = field(default_factory=dict)
    """Table column → separator of its values."""
    delimiter: str | None = None

    def wanted(self) -> list[str]:
        """Every table column the mapping names, each once, in mapping order."""
        return list(dict.fromkeys([*self.id, *self.columns.values()]))


def _column_name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"mapping key {key!r} must name a column, not {value!r}")
    return value.strip()


def parse_mapping(mapping: Any) -> DealMapping:
    """Check a mapping option (see the module docstring) and normalise it.

    Parameters
    ----------
    mapping : dict
        As parsed from the user's YAML file.

    Returns
    -------
    DealMapping

    Raises
    ------
    ValueError
        One line naming the first problem: an unknown key, a missing ``id`` or date, a
        value that is not a column name, a lone coordinate, a bad ``multi_valued`` entry.
    """
    if not isinstance(mapping, Mapping):
        raise ValueError("deals need option 'mapping': a dict of table columns (id, date, …)")
    unknown = [k for k in mapping if k not in MAPPING_KEYS]
    if unknown:
        raise ValueError(
            f"mapping has unknown key {unknown[0]!r}; known: {', '.join(MAPPING_KEYS)}"
        )
    if "id" not in mapping:
        raise ValueError("mapping lacks 'id', the deal id column (or a list of columns)")
    raw_id = mapping["id"]
    ids = raw_id if isinstance(raw_id, Sequence) and not isinstance(raw_id, str) else [raw_id]
    if not ids:
        raise ValueError("mapping key 'id' names no column")
    id_columns = tuple(_column_name("id", c) for c in ids)
    columns = {k: _column_name(k, mapping[k]) for k in COLUMN_KEYS if mapping.get(k) is not None}
    if ("date" in columns) == ("year" in columns):
        raise ValueError("mapping needs exactly one of 'date' and 'year'")
    if ("latitude" in columns) != ("longitude" in columns):
        lone, other = (
            ("latitude", "longitude") if "latitude" in columns else ("longitude", "latitude")
        )
        raise ValueError(f"mapping has {lone!r} without {other!r}")
    multi = mapping.get("multi_valued") or {}
    if not isinstance(multi, Mapping):
        raise ValueError("mapping key 'multi_valued' must map columns to separators")
    places = {columns[k] for k in PLACE_KEYS if k in columns}
    for column, separator in multi.items():
        if column not in places:
            raise ValueError(
                f"multi_valued names column {column!r}, not a place column of the mapping"
            )
        if not isinstance(separator, str) or not separator.strip():
            raise ValueError(
                f"multi_valued separator of {column!r} must be text, not {separator!r}"
            )
    delimiter = mapping.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ValueError(f"mapping key 'delimiter' must be one character, not {delimiter!r}")
    return DealMapping(
        id=id_columns,
        columns=columns,
        multi_valued={str(c): str(s) for c, s in multi.items()},
        delimiter=delimiter,
    )


# ---------------------------------------------------------------------------- reading


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"line {line}: not UTF-8 text (byte 0x{data[err.start]:02x}); "
            "save the table as UTF-8 CSV"
        ) from None


def _check_utf8(data: bytes) -> None:
    """Raise :func:`_decode`'s error unless ``data`` is UTF-8.

    pyarrow validates the bytes in place several times faster than decoding them into a
    Python string, which the reader needs only on the error paths.
    """
    import pyarrow as pa

    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(
            full=True
        )
    except pa.ArrowInvalid:
        _decode(data)  # names the line of the first bad byte


def _is_blank(data: bytes) -> bool:
    """Whether the (UTF-8) file is whitespace only, as ``not text.strip()`` would say."""
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\r\x0b\x0c")
    if not body:
        return True
    if body[0] < 0x80 and not 0x1C <= body[0] <= 0x1F:
        return False  # an ASCII character that is not whitespace
    # Unicode whitespace (or ASCII separators) first: rare enough to decode the file.
    return not data.decode("utf-8-sig").strip()


# Lines as ``io.StringIO(text, newline="")`` yields them (each with its line end), found
# one at a time so that reading the header does not copy the whole file.
_LINE = re.compile(rb"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


def _lines(data: bytes) -> Iterator[str]:
    """The (UTF-8) file's lines as text, lazily, without the byte-order mark."""
    for number, line in enumerate(_LINE.finditer(data)):
        yield line.group().decode("utf-8-sig" if number == 0 else "utf-8")


def _record_line(text: str, record: int, delimiter: str) -> int:
    """The 1-based line where data record ``record`` (0-based) starts: quoted fields may
    hold line breaks, so count them with the csv module (only on the error path)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    for index, _ in enumerate(reader):
        if index == record + 1:  # the header is record 0 here
            return line + 1
        line = reader.line_num
    return line + 1


def _lacks(column: str) -> ValueError:
    return ValueError(f"mapping names column {column!r}, which the table lacks")


def _odd_quotes(data: bytes) -> bool:
    """Whether ``data`` holds an odd number of ``"``, counted in cache-sized blocks (twice
    as fast as ``bytes.count`` or one comparison over the whole buffer)."""
    if b'"' not in data:
        return False
    octets = np.frombuffer(data, np.uint8)
    block = 1 << 16
    quotes = sum(
        int(np.count_nonzero(octets[i : i + block] == 0x22)) for i in range(0, len(octets), block)
    )
    return quotes % 2 == 1


def _read_csv_fast(data: bytes, mapping: DealMapping, delimiter: str) -> pd.DataFrame | None:
    """The mapped columns of a well-formed CSV, as text, by pyarrow's parser; None when the
    careful reader must judge the file (a row with the wrong number of fields, an unclosed
    quote, a header whose names collide once stripped)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # Quotes inside quoted fields are doubled, so an odd count means one never closed;
    # pyarrow would read on silently to the end of the file.
    if _odd_quotes(data):
        return None
    header = next(csv.reader(_lines(data), delimiter=delimiter), [])
    raw: dict[str, list[str]] = {}
    for name in header:
        raw.setdefault(name.strip(), []).append(name)
    if any(len(raw.get(c, [])) > 1 for c in mapping.wanted()):
        return None
    for column in mapping.wanted():
        if column not in raw:
            raise _lacks(column)
    names = [raw[c][0] for c in mapping.wanted()]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            # One thread: readers run one per worker process, a worker per core, and on
            # two cores pyarrow's threads made this read ~1.5x slower, not faster.
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=names,
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    frame = table.to_pandas()
    frame.columns = mapping.wanted()
    return frame


def _read_csv(data: bytes, mapping: DealMapping, file: str) -> tuple[pd.DataFrame, str]:
    """The mapped columns of a CSV table and its delimiter; the file is decoded to text
    only when pyarrow cannot read it and pandas must say why."""
    _check_utf8(data)
    if _is_blank(data):
        raise ValueError("line 1: empty file, no header")
    delimiter = mapping.delimiter or ("\t" if file.lower().endswith((".tsv", ".tab")) else ",")
    fast = _read_csv_fast(data, mapping, delimiter)
    if fast is not None:
        return fast, delimiter
    text = _decode(data)
    try:
        # All columns, as text: a row with more fields than the header then fails here
        # instead of shifting its values into the wrong columns.
        table = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            na_filter=False,
            index_col=False,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as err:
        message = str(err)
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if fields:
            expected, record, saw = (int(g) for g in fields.groups())
            line = _record_line(text, record - 2, delimiter)
            raise ValueError(f"line {line}: {saw} fields, the header has {expected}") from None
        quote = re.search(r"EOF inside string starting at row (\d+)", message)
        if quote:
            line = _record_line(text, int(quote.group(1)) - 1, delimiter)
            raise ValueError(f"line {line}: quoted field never closed") from None
        raise ValueError(f"not a CSV table: {message.splitlines()[-1]}") from None
    table.columns = [str(c).strip() for c in table.columns]
    for column in mapping.wanted():
        if column not in table.columns:
            raise _lacks(column)
    return table[mapping.wanted()], delimiter


def _read_parquet(data: bytes, mapping: DealMapping) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as err:
        raise ValueError(f"not a Parquet file: {str(err).splitlines()[0]}") from None
    names = set(parquet.schema_arrow.names)
    for column in mapping.wanted():
        if column not in names:
            raise _lacks(column)
    table = parquet.read(columns=mapping.wanted())
    out = {}
    for name in mapping.wanted():
        column = table.column(name)
        kind = column.type
        if pa.types.is_floating(kind):
            out[name] = column.to_pandas().astype(np.float64)
        elif pa.types.is_integer(kind) or pa.types.is_decimal(kind):
            # Nullable integers stay integers (ids must not become "123.0").
            out[name] = column.to_pandas(integer_object_nulls=True)
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            out[name] = pd.to_datetime(column.to_pandas(), errors="coerce")
        else:
            out[name] = column.cast(pa.string()).to_pandas().astype(object)
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------- values


def _text_series(values: pd.Series) -> pd.Series:
    """Values as stripped text (pandas' string dtype, default index); missing values and
    Excel error cells become ``""``."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return _arrow_text(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values):
        # Integral floats (the ids of a pandas-written Parquet with nulls) without ".0".
        number = values.to_numpy(np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = (number == np.round(number)) & (np.abs(number) < 2.0**53)
        words = np.where(
            whole, np.where(whole, number, 0).astype(np.int64).astype(str), number.astype(str)
        )
        text = pd.Series(np.where(np.isnan(number), "", words))
    elif isinstance(values.dtype, pd.StringDtype):
        text = values
    else:
        text = values.astype(object).where(values.notna(), "").astype(str)
    text = text.astype("str").fillna("").str.strip().reset_index(drop=True)
    errors = text.isin(EXCEL_ERRORS)
    if errors.any():
        text = text.where(~errors, "")
    return text


def _arrow_text(values: pd.Series) -> pd.Series:
    """:func:`_text_series` of pyarrow-backed text (every CSV column) in pyarrow kernels
    only: the same ones pandas' ``fillna``, ``str.strip``, ``isin`` and ``where`` call,
    without the copies and masks around them (a third of the reader's time)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pc.utf8_trim_whitespace(pc.fill_null(_arrow(values), ""))
    errors = pc.is_in(array, value_set=pa.array(sorted(EXCEL_ERRORS), array.type))
    if pc.any(errors).as_py():
        array = pc.if_else(errors, pa.scalar("", array.type), array)
    return pd.Series(array, dtype="str")


def _text(values: pd.Series) -> np.ndarray:
    """:func:`_text_series` as an object array."""
    return _text_series(values).to_numpy(dtype=object)


def _amount_text(value: str) -> float:
    """One amount written as text ("$1,250,000", "€8.8M", "1.234.567,89 EUR")."""
    found = _AMOUNT.search(value)
    if found is None:
        return np.nan
    number = re.sub(r"['\u00a0\u202f ]", "", found.group(1)).rstrip(".,")
    if "," in number and "." in number:
        # Both separators: the last one is the decimal mark.
        thousands = "," if number.rfind(".") > number.rfind(",") else "."
        number = number.replace(thousands, "").replace(",", ".")
    elif "," in number:
        number = number.replace(",", "") if _GROUPED.fullmatch(number) else number.replace(",", ".")
    elif number.count(".") > 1:
        number = number.replace(".", "")
    try:
        amount = float(number)
    except ValueError:
        return np.nan
    suffix = (found.group(2) or "").lower()
    return amount * _MAGNITUDE.get(suffix, 1.0)


def _decimals(text: pd.Series, filled: np.ndarray) -> np.ndarray:
    """``pandas.to_numeric(text.where(filled), errors="coerce")`` as float64, with the plain
    decimals ("1250000", "-33.86") converted by pyarrow in one vectorised cast.

    ``to_numeric`` turns every value into a Python object first, most of the reader's time
    on a numeric column. Decimals of at most 15 digits convert to the same float either
    way (both round correctly, and such integers are exact); the rest (exponents, longer
    numbers, text) still go through ``to_numeric``, which parses each value on its own.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    number = np.full(len(text), np.nan)
    if not filled.any():
        return number
    array = _arrow(text)
    plain = pc.and_(
        pc.match_substring_regex(array, r"^-?[0-9]+(?:\.[0-9]+)?$"),
        pc.less_equal(pc.utf8_length(array), 15),
    ).to_numpy(zero_copy_only=False)
    if plain.any():
        decimals = pc.cast(array.filter(pa.array(plain)), pa.float64()).to_numpy()
        if np.signbit(decimals[decimals == 0]).any():
            # to_numeric reads "-0" as 0.0 in a column of integers and as -0.0 in any
            # other: the one value whose number depends on the rest of the column.
            return np.array(pd.to_numeric(text.where(filled), errors="coerce"), np.float64)
        number[plain] = decimals
    rest = filled & ~plain
    if rest.any():
        # Once per distinct value ("$1.5M" repeats): to_numeric reads each on its own.
        codes, uniques = pd.factorize(text[rest])
        if any(_NEGATIVE_ZERO.fullmatch(u) for u in uniques):
            return np.array(pd.to_numeric(text.where(filled), errors="coerce"), np.float64)
        parsed = np.array(pd.to_numeric(pd.Series(uniques), errors="coerce"), np.float64)
        number[rest] = parsed[codes]
    return number


def _numbers(values: pd.Series, *, amounts: bool) -> np.ndarray:
    """A column as float64: numbers as they are; text parsed (as an amount, with currency
    signs, separators and magnitudes, when ``amounts``); anything else NaN."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    text = _text_series(values)
    filled = text.ne("").to_numpy()
    number = _decimals(text, filled)
    if amounts:
        rest = np.isnan(number) & filled
        if rest.any():
            codes, uniques = pd.factorize(text[rest])
            parsed = np.array([_amount_text(u) for u in uniques], dtype=np.float64)
            number[rest] = parsed[codes]
    return number


def _years_of_text(text: pd.Series, *, dates: bool) -> np.ndarray:
    """Years (float, NaN where none) of date or year text, parsed once per distinct value."""
    # Factorised as pyarrow strings: a Python object per row would cost more than parsing.
    codes, uniques = pd.factorize(text)
    values = pd.Series(uniques, dtype=object)
    if dates:
        parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
        rest = parsed.isna() & values.ne("")
        if rest.any():
            # Dates in other forms ("Nov 1, 2013", "4/1/2022"): one at a time, so only the
            # distinct values that ISO 8601 did not read.
            parsed[rest] = pd.to_datetime(values[rest], errors="coerce", format="mixed")
        years = np.array(parsed.dt.year, dtype=np.float64)
        for i in np.flatnonzero(np.isnan(years) & values.ne("").to_numpy()):
            # Quarters and other date-like text ("2012-Q4") still name their year.
            found = _YEAR_IN_TEXT.search(values[i])
            years[i] = float(found.group(1)) if found else np.nan
    else:
        years = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    if not len(years):
        return np.full(len(text), np.nan)
    return years[codes]


def _years(values: pd.Series, *, dates: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each row's year (``NO_YEAR`` where none) and the rows whose cell held text that
    gave none (for the error when no row has a year)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        years = values.dt.year.to_numpy(np.float64, na_value=np.nan)
        bad = np.zeros(len(values), bool)
    elif pd.api.types.is_numeric_dtype(values) and not dates:
        years = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
        bad = np.zeros(len(values), bool)
    else:
        text = _text_series(values)
        years = _years_of_text(text, dates=dates)
        bad = np.isnan(years) & text.ne("").to_numpy()
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(years)
            & (years == np.round(years))
            & (years >= YEAR_RANGE[0])
            & (years <= YEAR_RANGE[1])
        )
    out = np.where(ok, np.nan_to_num(years), NO_YEAR).astype(np.int64)
    return out, bad | (~ok & ~np.isnan(years))


def _missing_where_empty(values: pd.Series) -> pd.Series:
    """``values.where(values.ne(""))`` (pandas' string dtype, default index), by one
    pyarrow kernel: pandas' masked assignment into arrow strings costs ten times more."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = _arrow(values)
    missing = pa.scalar(None, array.type)
    return pd.Series(pc.if_else(pc.not_equal(array, ""), array, missing), dtype="str")


def _text_unless(present: np.ndarray, text: str) -> pd.Series:
    """``text`` where ``present`` is false, missing where it is true (pandas' strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.if_else(
        pa.array(present, pa.bool_()), pa.scalar(None, pa.string()), pa.scalar(text, pa.string())
    )
    return pd.Series(values, dtype="str")


# ---------------------------------------------------------------------------- splitting


def _arrow(values: pd.Series) -> Any:
    """A text Series as one pyarrow string array (no copy for pandas' arrow strings)."""
    import pyarrow as pa

    array = pa.array(values.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _split_rows(
    places: dict[str, pd.Series], separators: dict[str, str]
) -> tuple[np.ndarray, dict[str, pd.Series]]:
    """One row per value of the multi-valued place columns.

    The columns of a row are paired by position ("Boston; Paris" with "US; FR"), a column
    with one value goes with each, and a position a column lacks is empty. No value is
    dropped: an investor with an empty position is a row without a place, which keeps its
    part of the deal's weight (rejected, and so counted as lost, not silently re-spread).

    Returns
    -------
    record : numpy.ndarray of int64
        The input row of each output row, in file order.
    places : dict
        The place columns (stripped text), one value per output row.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(next(iter(places.values())))
    parts, lengths = {}, {}
    for key, separator in separators.items():
        lists = pc.split_pattern(_arrow(places[key]), pattern=separator.strip())
        parts[key] = lists
        lengths[key] = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    width = np.maximum.reduce([np.maximum(v, 1) for v in lengths.values()])
    record = np.repeat(np.arange(n, dtype=np.int64), width)
    starts = np.cumsum(width) - width
    position = np.arange(len(record), dtype=np.int64) - np.repeat(starts, width)
    out = {}
    for key, values in places.items():
        if key not in parts:
            out[key] = values.take(record).reset_index(drop=True)
            continue
        length = lengths[key][record]
        offsets = parts[key].offsets.to_numpy()[:-1][record]
        flat = parts[key].values
        present = position < length
        index = offsets + np.where(present, position, 0)
        value = pc.utf8_trim_whitespace(flat.take(pa.array(index)))
        # One value for the whole row goes with each position; a missing one is empty.
        # (pyarrow's if_else: pandas' ``where`` on arrow strings costs ten times more.)
        value = pc.if_else(pa.array(present | (length == 1)), value, pa.scalar("", value.type))
        out[key] = pd.Series(value, dtype="str")
    return record, out


# ---------------------------------------------------------------------------- parse


def _table_and_ids(
    data: bytes, mapping: DealMapping, file: str
) -> tuple[pd.DataFrame, str, pd.Series]:
    # The mapped columns, the CSV delimiter ("" for Parquet) and each row's deal id
    # ("" where none).
    delimiter = ""
    if data[:4] == b"PAR1":
        table = _read_parquet(data, mapping)
    else:
        table, delimiter = _read_csv(data, mapping, file)
    ids = [_text_series(table[c]) for c in mapping.id]
    doc_id = ids[0]
    if len(ids) > 1:
        for part in ids[1:]:
            doc_id = doc_id + "|" + part
        blank = np.logical_and.reduce([p.eq("").to_numpy() for p in ids])
        doc_id = doc_id.where(~blank, "")
    return table, delimiter, doc_id


def _keys(doc_id: pd.Series) -> pd.DataFrame:
    a, b = hash_text(doc_id, np.zeros(len(doc_id), np.uint64))
    return pd.DataFrame({"a": a, "b": b})


def deal_keys(data: bytes, *, file: str, options: Mapping[str, Any]) -> pd.DataFrame:
    """The first pass over a piece of a table: the 128-bit key (``a``, ``b``) of the deal
    of each of its table rows that has a deal id."""
    mapping = parse_mapping(options.get("mapping"))
    _, _, doc_id = _table_and_ids(data, mapping, file)
    return _keys(doc_id[doc_id.ne("")])


def rows_per_deal(keys: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Table rows per deal (``a``, ``b``, ``rows``) over the :func:`deal_keys` of every
    piece of a file: :func:`parse`'s ``rows_per_deal`` option."""
    every = pd.concat(keys, ignore_index=True) if keys else _keys(pd.Series([], dtype=str))
    return every.groupby(["a", "b"], sort=False).size().rename("rows").reset_index()


def _weights(doc_id: pd.Series, record: np.ndarray, totals: pd.DataFrame | None) -> np.ndarray:
    # A deal counts 1 over its table rows, each row's part equally over its output rows
    # (values). A row without a deal id is a deal of its own (rejected as "empty doc_id").
    blank = doc_id.eq("").to_numpy()
    if totals is None:
        # From integer codes: bincounts, not a groupby over Python objects.
        codes, uniques = pd.factorize(doc_id)
        if blank.any():
            codes = np.where(blank, len(uniques) + np.arange(len(doc_id)), codes)
        table_rows = np.bincount(codes)[codes]
    else:
        found = _keys(doc_id).merge(totals, on=["a", "b"], how="left")["rows"]
        table_rows = np.where(blank, 1, found.fillna(1).to_numpy(np.int64))
    values_per_row = np.bincount(record, minlength=len(doc_id))
    return 1.0 / (table_rows[record].astype(np.float64) * values_per_row[record].astype(np.float64))


def parse(data: bytes, *, file: str, options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One deal table (CSV, or Parquet when the bytes start with ``PAR1``) → reader rows.

    Parameters
    ----------
    data : bytes
        The whole file, already decompressed.
    file : str
        Its name (a ``.tsv`` name means tab-separated unless the mapping says otherwise).
    options : mapping
        ``{"mapping": {...}}``, see the module docstring; and ``rows_per_deal`` when
        ``data`` is a piece of a table (:func:`rows_per_deal` of the whole table),
        otherwise each deal's rows are counted in ``data``.

    Returns
    -------
    pandas.DataFrame
        :func:`core.readers.common.reader_frame` columns, one row per deal location, plus
        ``currency`` when the mapping names one.

    Raises
    ------
    ValueError
        A bad mapping, a mapped column missing from the table, a table that is not CSV or
        Parquet, or a date (year) column in which no row holds a date (year); the one-line
        message names the column or the first bad line.
    """
    mapping = parse_mapping((options or {}).get("mapping"))
    table, delimiter, doc_id = _table_and_ids(data, mapping, file)
    n = len(table)
    cols = mapping.columns

    date_key = "date" if "date" in cols else "year"
    year, bad_year = _years(table[cols[date_key]], dates=date_key == "date")
    if n and (year == NO_YEAR).all() and bad_year.any():
        # A whole column without a date is a wrong mapping, not a few bad rows.
        first = int(np.flatnonzero(bad_year)[0])
        where = (
            f"line {_record_line(_decode(data), first, delimiter)}" if delimiter else f"row {first}"
        )
        value = _text(table[cols[date_key]])[first]
        raise ValueError(f"{where}: column {cols[date_key]!r} holds {value!r}, not a {date_key}")

    places = {k: _text_series(table[cols[k]]) for k in PLACE_KEYS if k in cols}
    separators = {
        k: mapping.multi_valued[cols[k]] for k in places if cols[k] in mapping.multi_valued
    }
    record = np.arange(n, dtype=np.int64)
    if separators and n:
        record, split_places = _split_rows(places, separators)
        if len(record) != n:
            places = split_places
    m = len(record)
    split = m != n

    def per_row(values: pd.Series) -> pd.Series:
        """One value per output row, missing where empty."""
        if split:
            values = values.take(record).reset_index(drop=True)
        return _missing_where_empty(values)

    lat = lon = np.full(m, np.nan)
    if "latitude" in places:
        lat = _numbers(places["latitude"], amounts=False)
        lon = _numbers(places["longitude"], amounts=False)
    has_place = ~np.isnan(lat) & ~np.isnan(lon)
    for k in TEXT_PLACE_KEYS:
        if k in places:
            has_place |= places[k].ne("").to_numpy()

    weight = _weights(doc_id, record, (options or {}).get("rows_per_deal"))
    doc_id = doc_id.take(record).reset_index(drop=True) if split else doc_id
    columns: dict[str, Any] = {
        "source": pd.Series(SOURCE, index=range(m), dtype="str"),
        "doc_id": doc_id,
        "year": year[record],
        "lat": lat,
        "lon": lon,
        "weight": weight,
        "row": record,
        "no_address": _text_unless(has_place, NO_ADDRESS),
    }
    for k in TEXT_PLACE_KEYS:
        if k in places:
            columns[k] = _missing_where_empty(places[k]) if split else per_row(places[k])
    for key in ("organization", "field", "currency"):
        if key in cols:
            columns[key] = per_row(_text_series(table[cols[key]]))
    if "amount" in cols:
        columns["amount"] = _numbers(table[cols["amount"]], amounts=True)[record]
    out = reader_frame(columns, m)
    out.attrs["records"] = n
    return out


def piece_kind(head: bytes, *, file: str) -> str | None:
    """How a deal table is cut into pieces (:mod:`core.readers.pieces`): quoted CSV; a
    Parquet file is read whole."""
    return None if head[:4] == b"PAR1" else "csv"


def _first_pass_options(keys: Sequence[pd.DataFrame]) -> dict[str, Any]:
    return {"rows_per_deal": rows_per_deal(keys)}


#: For a table read in pieces: what the first pass takes from each piece, and the options
#: it then gives :func:`parse` for every piece.
FIRST_PASS = (deal_keys, _first_pass_options)
