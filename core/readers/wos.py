"""Web of Science (Clarivate) exports → author–address rows of the record contract.

Both export forms are read, recognised from the bytes:

- **plain text** ("Other file formats" → Plain text): an ``FN …`` / ``VR 1.0`` header, then
  records of two-letter field tags at the start of a line, each further value on a
  continuation line indented by three spaces, each record closed by ``ER``, the file by
  ``EF``. Concatenated exports (``EF`` then another ``FN``/``VR`` header) are read as one.
- **tab-delimited**: a header row of the same tags, one record per line (often UTF-8 with a
  byte-order mark, ``\\r\\n``, and a tab after the last field), multi-valued fields
  separated by ``"; "``.

What a record gives:

- ``doc_id`` = ``UT`` as exported (``WOS:000…``); a record without ``UT`` is an error.
- ``year`` = ``PY``; where ``PY`` is empty (early-access records of older exports), the year
  of ``EA`` (``"MAR 2025"``); with neither, ``NO_YEAR``, which the record check rejects as
  ``bad year`` (the record's rows are kept, so it shows in the rejects).
- One row per author–address link of ``C1``: ``[Author A; Author B] Org, Dept, …, Country.``
  (one address per line in plain text, ``"; "`` between addresses in tab-delimited).
  ``address`` is the address text without the author bracket and its closing period,
  ``organization`` its first comma-separated part, ``field`` the first ``WC`` category.
  Country, city and state stay empty: the geocoder reads the address from the right.
- Fractional counting as WoS counts: a document counts 1, split equally over its authors
  (``AF``, else ``AU``), an author's part equally over the addresses that name them. An
  author named in no address bracket gets one row with ``no_address`` ("author without C1
  address"), so their share is reported as lost rather than silently given to the others.
  A bracket name found in neither ``AF`` nor ``AU`` counts as one more author. Authors are
  identified by name within a record (two co-authors with one name count once).
- An address without author bracket (records before 2008 have none) is its own "author":
  one row per address, the document split equally over them.
- A record without ``C1`` gives one ``no_address`` row ("record without C1 address").
- ``row`` is the 0-based number of the record in the file (skipped records included).

Option ``document_types`` (default: all): the ``DT`` values to keep, e.g. ``["Article"]``
(the GII counts articles). A record is kept when any part of its ``DT`` matches (case
ignored): ``"Article; Early Access"`` and ``"Article; Proceedings Paper"`` are articles. The
number of records skipped is ``frame.attrs["skipped"]``.

Extra columns: ``author`` (the name as the address bracket or ``AF`` writes it) and
``document_type`` (``DT`` as exported).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.readers.common import reader_frame
from core.records import NO_YEAR

FORMAT = "wos"
SOURCE = "publication"

#: Fields the reader uses; a tab-delimited file must have the first four.
REQUIRED_TAGS = ("UT", "PY", "AU", "C1")
OPTIONAL_TAGS = ("AF", "EA", "DT", "WC")
OPTIONS = ("document_types",)
# A first line holding three of these, tab-separated, is a tab-delimited export's header.
_HEADER_TAGS = frozenset({"PT", "AU", "AF", "TI", "SO", "DT", "C1", "PY", "UT"})

NO_C1 = "record without C1 address"
UNLINKED = "author without C1 address"
EMPTY_ADDRESS = "C1 address without text"

# Excel writes these into cells it could not evaluate (a name starting with "-" or "=", …)
# when a tab-delimited export was opened and saved again: they mean "no value".
EXCEL_ERRORS = frozenset(
    {"#NAME?", "#N/A", "#VALUE!", "#REF!", "#NULL!", "#DIV/0!", "#NUM!", "#SPILL!"}
)

# A plain-text line is a field tag (two capitals or capital + digit, then a space or the
# line end), a continuation (three spaces) or blank; anything else is not this format.
_BAD_LINE = re.compile(r"^(?![A-Z][A-Z0-9](?: |$)|   |[ \t]*$).+", re.M)
# Only the fields the reader uses, each with its continuation lines; the C regex engine
# skips abstracts and cited references far faster than a Python loop over lines could.
_FIELD = re.compile(r"^(AU|AF|C1|DT|PY|EA|UT|WC|ER)(?= |$)(.*(?:\n   .*)*)", re.M)
_END = re.compile(r"^ER[ \t]*$", re.M)
_OPEN_TAG = re.compile(r"^(?!EF|FN|VR)[A-Z][A-Z0-9](?= |$)", re.M)
_EA_YEAR = re.compile(r"\b\d{4}\b")


def parse(data: bytes, *, file: str, options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Rows of one Web of Science export file (plain text or tab-delimited).

    Parameters
    ----------
    data : bytes
        The whole file, decompressed: UTF-8 with or without byte-order mark (UTF-16 with
        a byte-order mark too, as older "Tab-delimited (Win)" exports were), any line ends.
    file : str
        The file's name (for messages only).
    options : mapping, optional
        ``document_types``: ``DT`` values to keep (a string or a list; default all).

    Returns
    -------
    pandas.DataFrame
        ``core.readers.common.READER_COLUMNS`` plus ``author`` and ``document_type``; one
        row per author–address link (see the module docstring); ``attrs["skipped"]`` the
        records left out by ``document_types``.

    Raises
    ------
    ValueError
        One line naming the first bad line or field: not a WoS export, a line that is no
        field tag, a record without ``UT`` or not closed by ``ER``, a ``PY`` that is not a
        year, a tab-delimited row with more fields than the header, a missing column.
    """
    del file  # the caller names the file in its own message
    wanted = _document_types(options)
    fields = _tab_fields_fast(data)
    if fields is None:
        text = _decode(data)
        first = next((line for line in text.split("\n", 50) if line.strip()), "")
        if first.startswith(("FN ", "PT ")):
            fields = _plain_fields(text)
        elif _is_tab_header(first):
            fields = _tab_fields(text)
        else:
            raise ValueError(
                "line 1: not a Web of Science export (expected an 'FN …' header or a "
                f"tab-delimited header row of field tags), got {first[:60]!r}"
            )
    return _rows(fields, wanted)


def _is_tab_header(first: str) -> bool:
    """Whether the first non-blank line is a tab-delimited export's header row."""
    return "\t" in first and len(_HEADER_TAGS & {c.strip() for c in first.split("\t")}) >= 3


def _document_types(options: Mapping[str, Any] | None) -> frozenset[str] | None:
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})")
    value = options.get("document_types")
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"option 'document_types' must be a list of DT values, got {value!r}")
    return frozenset(v.strip().lower() for v in value)


def _decode(data: bytes) -> str:
    """The file as text with ``\\n`` line ends."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ValueError(f"line {line}: not UTF-8 text ({exc.reason})") from None
    # Only \r\n, \r and \n end lines here, not str.splitlines()'s other separators
    # (U+2028, form feed, …), which do occur inside abstracts and would cut a record.
    text = text.replace("\r\n", "\n")
    return text.replace("\r", "\n") if "\r" in text else text


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _clean(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value in EXCEL_ERRORS else value


# --- plain text -------------------------------------------------------------------------


def _plain_fields(text: str) -> dict[str, Any]:
    """Per record (in file order): the fields the reader uses, lists split into items."""
    bad = _BAD_LINE.search(text)
    if bad is not None:
        raise ValueError(
            f"line {_line_of(text, bad.start())}: not a field tag or continuation line: "
            f"{bad.group(0)[:60]!r}"
        )
    ends = [m.start() for m in _END.finditer(text)]
    after_last = ends[-1] + 2 if ends else 0
    unclosed = _OPEN_TAG.search(text, after_last)
    if unclosed is not None:
        raise ValueError(
            f"line {_line_of(text, unclosed.start())}: record not closed by ER (truncated export?)"
        )
    n = len(ends)
    found = _FIELD.findall(text)
    tags = np.array([t for t, _ in found], dtype=object)
    values = np.array([v for _, v in found], dtype=object)
    is_end = tags == "ER"
    record = np.cumsum(is_end) - is_end
    columns: dict[str, np.ndarray] = {}
    for tag in (*REQUIRED_TAGS, *OPTIONAL_TAGS):
        column = np.full(n, None, dtype=object)
        mask = tags == tag
        column[record[mask]] = values[mask]
        columns[tag] = column

    def starts(k: int) -> int:
        return ends[k - 1] + 2 if k else 0

    ut = np.array([_clean(v) for v in columns["UT"]], dtype=object)
    missing = np.flatnonzero(ut == "")
    if len(missing):
        k = int(missing[0])
        raise ValueError(f"line {_record_line(text, starts(k))}: record without UT")

    def joined(column: np.ndarray) -> np.ndarray:
        # A wrapped value (WC, DT) continues on the next line.
        return np.array(
            [_clean(" ".join(v.split("\n   "))) if v else "" for v in column], dtype=object
        )

    year, bad_year = _years(joined(columns["PY"]), joined(columns["EA"]))
    if bad_year is not None:
        pos = re.compile(r"^PY ", re.M).search(text, starts(bad_year))
        line = _line_of(text, pos.start()) if pos else _record_line(text, starts(bad_year))
        raise ValueError(f"line {line}: PY {joined(columns['PY'])[bad_year]!r} is not a year")
    return {
        "ut": ut,
        "year": year,
        # One item per line: authors, addresses.
        "au": columns["AU"],
        "af": columns["AF"],
        "c1": columns["C1"],
        "form": "plain",
        "dt": joined(columns["DT"]),
        "wc": joined(columns["WC"]),
    }


def _record_line(text: str, pos: int) -> int:
    """The line where the record starting at or after ``pos`` has its first field."""
    tag = _OPEN_TAG.search(text, pos)
    return _line_of(text, tag.start() if tag else pos)


# --- tab-delimited ----------------------------------------------------------------------


def _tab_fields(text: str) -> dict[str, Any]:
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    header = [c.strip() for c in lines[0].split("\t")]
    while header and not header[-1]:
        header.pop()
    for tag in REQUIRED_TAGS:
        if tag not in header:
            raise ValueError(f"missing column {tag!r}")
    width = len(header)
    if len(lines) == 1:  # a header without records
        none = np.zeros(0, dtype=object)
        return {
            "ut": none,
            "year": np.zeros(0, np.int64),
            "au": none,
            "af": none,
            "c1": none,
            "form": "tab",
            "dt": none,
            "wc": none,
        }
    tabs = np.fromiter((line.count("\t") for line in lines[1:]), np.int64, len(lines) - 1)
    # A record's last field is followed by a tab in real exports: width or width - 1 tabs.
    wrong = np.flatnonzero((tabs > width) | ((tabs < width - 1) & (tabs > 0)))
    if len(wrong):
        i = int(wrong[0])
        raise ValueError(
            f"line {i + 2}: {tabs[i] + 1} tab-separated fields where the header has {width}"
        )
    used = [c for c in (*REQUIRED_TAGS, *OPTIONAL_TAGS) if c in header]
    frame = pd.read_csv(
        # Trailing blank lines, dropped from ``lines`` above, must not become rows here.
        # Only line breaks: the tab that ends a record's last field is part of the record.
        io.StringIO(text.rstrip("\r\n") + "\n"),
        skiprows=1,
        sep="\t",
        header=None,
        names=[*header, "\x00trailing"],
        usecols=[header.index(c) for c in used],
        # Python strings: the record loop works on them, and pandas' own string arrays
        # would cost a conversion each way.
        dtype=object,
        keep_default_na=False,
        na_filter=False,
        quoting=csv.QUOTE_NONE,
        skip_blank_lines=False,
        engine="c",
    )
    line_no = np.arange(len(frame)) + 2
    blank = tabs == 0
    if blank.any():
        # Blank lines are no records (a line with text but no tab is, and fails below).
        empty = np.array([not line.strip() for line in lines[1:]])
        frame, line_no = frame[~empty].reset_index(drop=True), line_no[~empty]

    def column(tag: str) -> np.ndarray:
        if tag not in frame:
            return np.full(len(frame), "", dtype=object)
        return np.array([_clean(v) for v in frame[tag].to_numpy(dtype=object)], dtype=object)

    ut = column("UT")
    missing = np.flatnonzero(ut == "")
    if len(missing):
        raise ValueError(f"line {line_no[missing[0]]}: record without UT")
    py = column("PY")
    year, bad_year = _years(py, column("EA"))
    if bad_year is not None:
        raise ValueError(f"line {line_no[bad_year]}: PY {py[bad_year]!r} is not a year")
    return {
        "ut": ut,
        "year": year,
        "au": column("AU"),
        "af": column("AF"),
        "c1": column("C1"),
        "form": "tab",
        "dt": column("DT"),
        "wc": column("WC"),
    }


_LINE_END = re.compile(rb"\r\n|\r|\n")


def _valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8, checked by pyarrow in place (no Python string)."""
    import pyarrow as pa

    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(
            full=True
        )
    except pa.ArrowInvalid:
        return False
    return True


def _tab_fields_fast(data: bytes) -> dict[str, Any] | None:
    """:func:`_tab_fields` of a regular tab-delimited export, read from the bytes by
    pyarrow's CSV parser; None for anything else, which the careful path then reads or
    names the error of.

    Regular: UTF-8 without NUL bytes, a header row of distinct names holding the required
    tags, then records of one more field each (the tab after the last field), no
    blank-looking line, a ``UT`` in every record and a ``PY`` of four digits or none.
    The careful path decodes the file, splits its lines and reads them again with
    pandas: together three times the time of pyarrow's parse of the bytes.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data:
        return None
    ends = _LINE_END.finditer(data)
    header_end = next(ends, None)
    record_end = next(ends, None)
    if header_end is None:
        return None
    try:
        first = data[: header_end.start()].decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not first.strip() or first.startswith(("FN ", "PT ")) or not _is_tab_header(first):
        return None
    header = [c.strip() for c in first.split("\t")]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    if len(set(header)) != width or any(tag not in header for tag in REQUIRED_TAGS):
        return None
    # Every record has as many fields as the first (pyarrow checks that): one more than
    # the header, for the tab after the last field of real exports. (Records without
    # that tab are left to the careful path, which fails on a file of only such records.)
    stop = record_end.start() if record_end else len(data)
    fields = data.count(b"\t", header_end.end(), stop) + 1
    if fields != width + 1 or not _valid_utf8(data):
        return None
    used = [c for c in (*REQUIRED_TAGS, *OPTIONAL_TAGS) if c in header]
    names = [f"f{i}" for i in range(fields)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            # One thread: readers run one per worker process, a worker per core.
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
            # Never quoted: a quote is text, and a line end always ends the record.
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, escape_char=False, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=[names[header.index(c)] for c in used],
                column_types={names[header.index(c)]: pa.large_string() for c in used},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError):
        return None
    n = table.num_rows
    columns = {
        tag: _cleaned(table.column(names[header.index(tag)]).combine_chunks()) for tag in used
    }
    for tag in OPTIONAL_TAGS:
        columns.setdefault(tag, pa.array([""] * n, pa.large_string()))
    ut = columns["UT"].to_numpy(zero_copy_only=False)
    if (ut == "").any():
        return None  # "record without UT": the careful path names its line
    year = _years_fast(columns["PY"], columns["EA"])
    if year is None:
        return None  # a PY that is no year: the careful path names its line
    return {
        "ut": ut,
        "year": year,
        "au": columns["AU"],
        "af": columns["AF"],
        "c1": columns["C1"],
        "form": "tab",
        "dt": columns["DT"].to_numpy(zero_copy_only=False),
        "wc": columns["WC"].to_numpy(zero_copy_only=False),
    }


def _years_fast(py: Any, ea: Any) -> np.ndarray | None:
    """:func:`_years` of pyarrow text columns; None when some ``PY`` is not a year."""
    import pyarrow as pa
    import pyarrow.compute as pc

    given = pc.not_equal(py, "")
    digits = pc.match_substring_regex(py, r"^[0-9]{4}$")
    if pc.any(pc.and_(given, pc.invert(digits))).as_py():
        # Not four ASCII digits: _years decides (str.isdigit takes other digits too).
        year, bad = _years(py.to_numpy(zero_copy_only=False), ea.to_numpy(zero_copy_only=False))
        return None if bad is not None else year
    year = np.full(len(py), NO_YEAR, np.int64)
    mask = given.to_numpy(zero_copy_only=False)
    year[mask] = pc.cast(py.filter(given), pa.int64()).to_numpy()
    early = np.flatnonzero(~mask & pc.not_equal(ea, "").to_numpy(zero_copy_only=False))
    for i, e in zip(early.tolist(), ea.take(pa.array(early)).to_pylist(), strict=True):
        # Early-access records only: EA's year ("MAR 2025"), as _years reads it.
        found = _EA_YEAR.search(e)
        if found is not None:
            year[i] = int(found.group(0))
    return year


# --- common -----------------------------------------------------------------------------

# What separates the items of a list field: a continuation line in plain text, ";" in
# tab-delimited exports (whose C1 also has "; " inside author brackets: _address_cuts).
_SEPARATOR = {"plain": "\n   ", "tab": ";"}
_BRACKET = r"(?s)^\[(?P<names>[^\]]*)\](?P<rest>.*)$"
_REASONS = np.array([None, NO_C1, UNLINKED, EMPTY_ADDRESS], dtype=object)
_NO_C1, _UNLINKED, _EMPTY = 1, 2, 3


def _strings(values: Any) -> Any:
    """Text (a pyarrow array, or an object array with None for missing values) as one
    pyarrow ``large_string`` array without nulls: missing values become ``""``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), pa.large_string(), from_pandas=True)
    elif values.type != pa.large_string():
        values = values.cast(pa.large_string())
    return pc.fill_null(values, "")


def _excel_errors(array: Any) -> Any:
    """Where ``array`` holds an Excel error cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(array, value_set=pa.array(sorted(EXCEL_ERRORS), array.type))


def _cleaned(values: Any) -> Any:
    """:func:`_clean` of every value of a pyarrow text array (pyarrow's whitespace is
    ``str.strip``'s, code point for code point)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pc.utf8_trim_whitespace(_strings(values))
    errors = _excel_errors(array)
    if pc.any(errors).as_py():
        array = pc.if_else(errors, pa.scalar("", array.type), array)
    return array


def _kept_items(parent: np.ndarray, items: Any) -> tuple[np.ndarray, Any]:
    """Split items stripped, without empty ones and Excel error cells."""
    import pyarrow.compute as pc

    items = pc.utf8_trim_whitespace(items)
    keep = pc.and_(pc.not_equal(items, ""), pc.invert(_excel_errors(items)))
    return parent[keep.to_numpy(zero_copy_only=False)], items.filter(keep)


def _split(values: Any, separator: str) -> tuple[np.ndarray, Any]:
    """Every value split at ``separator`` (as ``str.split``) into stripped items, empty
    ones and Excel error cells left out.

    Returns
    -------
    parent : numpy.ndarray of int64
        The value each item comes from, non-decreasing.
    items : pyarrow.Array
        The items, in order.
    """
    import pyarrow.compute as pc

    lists = pc.split_pattern(values, pattern=separator)
    parent = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    return _kept_items(parent, pc.list_flatten(lists))


def _address_cuts(values: Any) -> np.ndarray:
    r"""Where tab-delimited C1 values separate two addresses: every ";" of a value without
    "[", otherwise each ";" outside the author brackets (the next bracket character after
    it in the value is not "]"): where ``re.split(r";\s*(?![^\[\]]*\])", value)`` cuts.

    Returns
    -------
    numpy.ndarray of int64
        Byte positions of those ";" in the array's data buffer, ascending.
    """
    offsets = np.frombuffer(values.buffers()[1], np.int64)[
        values.offset : values.offset + len(values) + 1
    ]
    if values.buffers()[2] is None or offsets[-1] == offsets[0]:
        return np.zeros(0, np.int64)
    # UTF-8 continuation bytes are never ASCII: ";", "[" and "]" are found byte-wise.
    octets = np.frombuffer(values.buffers()[2], np.uint8)
    start = int(offsets[0])
    body = octets[start : int(offsets[-1])]
    semis = np.flatnonzero(body == 0x3B) + start
    if not len(semis):
        return semis
    owner = np.searchsorted(offsets, semis, side="right") - 1
    bracketed = np.zeros(len(values), bool)
    opens = np.flatnonzero(body == 0x5B) + start
    bracketed[np.searchsorted(offsets, opens, side="right") - 1] = True
    marks = np.flatnonzero((body == 0x5B) | (body == 0x5D)) + start
    inside = np.zeros(len(semis), bool)
    if len(marks):
        after = np.searchsorted(marks, semis)
        mark = marks[np.minimum(after, len(marks) - 1)]
        inside = (after < len(marks)) & (mark < offsets[owner + 1]) & (octets[mark] == 0x5D)
    return semis[~(bracketed[owner] & inside)]


def _split_at(values: Any, cuts: np.ndarray) -> tuple[np.ndarray, Any]:
    """:func:`_split`, cutting at the one-byte separators at ``cuts`` (data buffer
    positions, ascending) instead of at a pattern."""
    import pyarrow as pa

    if not len(values):
        return np.zeros(0, np.int64), values
    offsets = np.frombuffer(values.buffers()[1], np.int64)[
        values.offset : values.offset + len(values) + 1
    ]
    owner = np.searchsorted(offsets, cuts, side="right") - 1
    pieces = np.bincount(owner, minlength=len(values)) + 1
    # Piece i runs from starts[i] to ends[i]; interleaved, the bounds never decrease, so
    # one array holds the pieces at even positions and the separators between them at
    # odd ones, all sharing the values' data buffer.
    starts = np.sort(np.concatenate([offsets[:-1], cuts + 1]))
    ends = np.sort(np.concatenate([cuts, offsets[1:]]))
    bounds = np.empty(2 * len(starts), np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    both = pa.Array.from_buffers(
        pa.large_string(),
        len(bounds) - 1,
        [None, pa.py_buffer(bounds), values.buffers()[2] or pa.py_buffer(b"")],
    )
    parent = np.repeat(np.arange(len(values), dtype=np.int64), pieces)
    return _kept_items(parent, both.take(pa.array(np.arange(0, len(bounds), 2))))


def _folded(names: Any) -> Any:
    """Names as ``str.lower`` writes them: pyarrow's lower case is Python's for ASCII
    text, not always for other text (Σ at a word's end, İ), which Python folds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lowered = pc.utf8_lower(names)
    other = pc.invert(pc.string_is_ascii(names))
    if not pc.any(other).as_py():
        return lowered
    rest = [name.lower() for name in names.filter(other).to_pylist()]
    return pc.replace_with_mask(lowered, other, pa.array(rest, lowered.type))


def _first_of(keys: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A lookup of the first occurrence of each key: the keys (sorted, distinct), the
    number of each one's first row, and which rows are first occurrences."""
    distinct, first = np.unique(keys, return_index=True)
    is_first = np.zeros(len(keys), bool)
    is_first[first] = True
    return distinct, numbers[first], is_first


def _look_up(table: tuple[np.ndarray, np.ndarray, np.ndarray], keys: np.ndarray) -> np.ndarray:
    """The number :func:`_first_of` holds for each key; -1 where it holds none."""
    distinct, numbers, _ = table
    if not len(distinct):
        return np.full(len(keys), -1, np.int64)
    at = np.minimum(np.searchsorted(distinct, keys), len(distinct) - 1)
    return np.where(distinct[at] == keys, numbers[at], -1)


def _author_weights(doc: np.ndarray, author: np.ndarray) -> np.ndarray:
    """:func:`core.readers.common.author_weights` of integer documents and authors,
    counted with integer codes instead of a groupby over Python objects; the same
    product and division, so the same float64 to the last bit."""
    if not len(doc):
        return np.zeros(0, np.float64)
    codes, authors = pd.factorize(author)
    pair_codes, pairs = pd.factorize(doc * len(authors) + codes)
    rows_per_author = np.bincount(pair_codes)[pair_codes]
    authors_per_doc = np.bincount(pairs // len(authors))[doc]
    return 1.0 / (authors_per_doc.astype(np.float64) * rows_per_author.astype(np.float64))


def _years(py: np.ndarray, ea: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Years from ``PY``, else from ``EA``, else ``NO_YEAR``; and the first record whose
    ``PY`` is not a year (or None)."""
    year = np.full(len(py), NO_YEAR, np.int64)
    for i, (p, e) in enumerate(zip(py, ea, strict=True)):
        if p:
            if not (len(p) == 4 and p.isdigit()):
                return year, i
            year[i] = int(p)
        elif e:
            found = _EA_YEAR.search(e)
            if found is not None:
                year[i] = int(found.group(0))
    return year, None


def _kept(dt: np.ndarray, wanted: frozenset[str] | None) -> np.ndarray:
    """Which records have a wanted document type, judged once per distinct ``DT``."""
    if wanted is None:
        return np.ones(len(dt), bool)
    codes, types = pd.factorize(np.array(["" if d is None else d for d in dt], dtype=object))
    ok = np.array(
        [any(p.strip().lower() in wanted for p in d.split(";")) for d in types], dtype=bool
    )
    return ok[codes] if len(types) else np.zeros(len(dt), bool)


def _first_part(values: Any, separator: str) -> Any:
    """``value.partition(separator)[0].strip() or None`` of every value (null stays)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    part = pc.utf8_trim_whitespace(
        pc.list_element(pc.split_pattern(values, pattern=separator, max_splits=1), 0)
    )
    return pc.if_else(pc.equal(part, ""), pa.scalar(None, part.type), part)


def _rows(fields: dict[str, Any], wanted: frozenset[str] | None) -> pd.DataFrame:
    """The reader's frame from per-record fields (``_plain_fields``/``_tab_fields``):
    records of the ``wanted`` document types only, one row per author–address link.

    Columnar: addresses, their author brackets and the AF/AU names are split, matched and
    counted by pyarrow and numpy kernels over all records at once (a loop over records in
    Python took two thirds of the reader's time).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ut = np.asarray(fields["ut"], dtype=object)
    dt = np.asarray(fields["dt"], dtype=object)
    n_all = len(ut)
    kept = np.flatnonzero(_kept(dt, wanted))
    n = n_kept = len(kept)
    picked = pa.array(kept, pa.int64())
    form = fields["form"]
    separator = _SEPARATOR[form]
    c1 = _strings(fields["c1"]).take(picked)

    # The addresses of every record, in order; item_no counts them within the record.
    if form == "tab":
        item_rec, items = _split_at(c1, _address_cuts(c1))
    else:
        item_rec, items = _split(c1, separator)
    n_items = len(items)
    item_no = np.arange(n_items) - np.searchsorted(item_rec, item_rec)
    # "[Author A; Author B] Org, Dept, …, Country." → the names and the address text.
    bracket = pc.extract_regex(items, _BRACKET)
    has_bracket = bracket.is_valid()
    text = pc.if_else(has_bracket, pc.utf8_trim_whitespace(pc.struct_field(bracket, "rest")), items)
    text = pc.if_else(
        pc.ends_with(text, "."),
        pc.utf8_rtrim_whitespace(pc.utf8_slice_codeunits(text, 0, -1)),
        text,
    )
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    names = pc.if_else(has_bracket, pc.struct_field(bracket, "names"), pa.scalar("", items.type))
    name_lists = pc.split_pattern(names, pattern=";")
    name_item = pc.list_parent_indices(name_lists).to_numpy().astype(np.int64)
    name = pc.utf8_trim_whitespace(pc.list_flatten(name_lists))
    nonempty = pc.not_equal(name, "")
    name_item, name = name_item[nonempty.to_numpy(zero_copy_only=False)], name.filter(nonempty)
    name_rec = item_rec[name_item]
    unnamed = np.flatnonzero(np.bincount(name_item, minlength=n_items) == 0)

    # The record's authors: AF's names, or AU's where AF has none; AU's names also
    # match brackets that follow AU (older records).
    af_rec, af_name = _split(_strings(fields["af"]).take(picked), separator)
    au_rec, au_name = _split(_strings(fields["au"]).take(picked), separator)
    with_af = np.zeros(n, bool)
    with_af[af_rec] = True
    from_au = ~with_af[au_rec]
    author_rec = np.concatenate([af_rec, au_rec[from_au]])
    order = np.argsort(author_rec, kind="stable")
    author_rec = author_rec[order]
    author_name = pa.concat_arrays([af_name, au_name.filter(pa.array(from_au))]).take(
        pa.array(order)
    )
    author_no = np.arange(len(author_rec)) - np.searchsorted(author_rec, author_rec)
    au_no = np.arange(len(au_rec)) - np.searchsorted(au_rec, au_rec)

    # Names compare case-insensitively within their record: (record, folded name) keys.
    everyone = pa.concat_arrays([author_name, au_name, name])
    codes = pc.dictionary_encode(_folded(everyone)).indices.to_numpy().astype(np.int64)
    width = int(codes.max()) + 1 if len(codes) else 1
    author_key = author_rec * width + codes[: len(author_rec)]
    au_key = au_rec * width + codes[len(author_rec) : len(author_rec) + len(au_rec)]
    name_key = name_rec * width + codes[len(author_rec) + len(au_rec) :]
    authors = _first_of(author_key, author_no)
    key = _look_up(authors, name_key)
    missing = np.flatnonzero(key < 0)
    if len(missing):
        key[missing] = _look_up(_first_of(au_key, au_no), name_key[missing])
        missing = missing[key[missing] < 0]
    if len(missing):
        # A name in neither: 1_000_000 + its rank among such names of its record.
        other, distinct = pd.factorize(name_key[missing])
        first = np.searchsorted(distinct // width, distinct // width)
        key[missing] = 1_000_000 + (np.arange(len(distinct)) - first)[other]
    # Authors whom no bracket names get a row without address (only in records where
    # some bracket names someone); a second author of the same name is the same author.
    named = np.zeros(n, bool)
    named[name_rec] = True
    span = int(max(key.max(initial=0), author_no.max(initial=0))) + 1
    lone = np.flatnonzero(
        authors[2]
        & named[author_rec]
        & ~np.isin(author_rec * span + author_no, name_rec * span + key)
    )
    no_c1 = np.flatnonzero(np.bincount(item_rec, minlength=n) == 0)

    # Rows: per record, each address's names (or the address alone), then lone authors.
    groups = (
        (name_rec, key, name_item, np.arange(len(name_rec)), 0),
        (item_rec[unnamed], -1 - item_no[unnamed], unnamed, np.zeros(len(unnamed)), 0),
        (no_c1, np.zeros(len(no_c1), np.int64), np.zeros(len(no_c1)), np.zeros(len(no_c1)), 0),
        (author_rec[lone], author_no[lone], author_no[lone], np.zeros(len(lone)), 1),
    )
    rec = np.concatenate([g[0] for g in groups]).astype(np.int64)
    order = np.lexsort(
        (
            np.concatenate([g[3] for g in groups]),
            np.concatenate([g[2] for g in groups]),
            np.concatenate([np.full(len(g[0]), g[4]) for g in groups]),
            rec,
        )
    )
    take = pa.array(order)
    no_text = pa.nulls(len(no_c1) + len(lone), pa.large_string())
    address = pa.concat_arrays(
        [text.take(pa.array(name_item)), text.take(pa.array(unnamed)), no_text]
    )
    address = pc.if_else(pc.equal(address, ""), pa.scalar(None, address.type), address)
    address = address.take(take)
    author = pa.concat_arrays(
        [
            name,
            pa.nulls(len(unnamed) + len(no_c1), pa.large_string()),
            author_name.take(pa.array(lone)),
        ]
    ).take(take)
    reason = np.concatenate(
        [
            np.where(empty[name_item], _EMPTY, 0),
            np.where(empty[unnamed], _EMPTY, 0),
            np.full(len(no_c1), _NO_C1),
            np.full(len(lone), _UNLINKED),
        ]
    )[order]
    rows = kept[rec[order]]
    key = np.concatenate([g[1] for g in groups]).astype(np.int64)[order]

    n = len(rows)
    doc, _ = pd.factorize(ut)
    weight = _author_weights(doc[rows].astype(np.int64), key)
    field = _first_part(_strings(fields["wc"]), ";").to_numpy(zero_copy_only=False)
    dt = np.array([d or None for d in dt], dtype=object)

    def text_column(values: Any) -> pd.Series:
        # Object columns of Python strings and None, as the record check takes them:
        # letting pandas infer its string dtype for every column costs a third of the
        # reader's time on large files.
        if not isinstance(values, np.ndarray):
            values = values.to_numpy(zero_copy_only=False)
        return pd.Series(np.asarray(values, dtype=object), dtype=object, copy=False)

    frame = reader_frame(
        {
            "source": text_column(np.full(n, SOURCE, dtype=object)),
            "doc_id": text_column(ut[rows]),
            "year": np.asarray(fields["year"], dtype=np.int64)[rows],
            "address": text_column(address),
            "weight": weight,
            "organization": text_column(_first_part(address, ",")),
            "field": text_column(field[rows]),
            "row": rows,
            "no_address": text_column(_REASONS[reason]),
            "author": text_column(author),
            "document_type": text_column(dt[rows]),
        },
        n,
    )
    frame.attrs["skipped"] = int(n_all - n_kept)
    frame.attrs["records"] = n_all
    return frame


def piece_kind(head: bytes, *, file: str) -> str | None:
    """How an export is cut into pieces (:mod:`core.readers.pieces`): plain text after an
    ``ER`` line, tab-delimited (never quoted) after any line; a UTF-16 export (which
    pieces of bytes would cut inside a character) is read whole."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return "tagged" if first.startswith((b"FN ", b"PT ")) else "tsv"
