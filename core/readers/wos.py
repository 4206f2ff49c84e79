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

from core.readers.common import author_weights, reader_frame
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
# "; " between addresses of a tab-delimited C1, not the "; " between names in a bracket.
_ADDRESS_SEP = r";\s*(?![^\[\]]*\])"
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
    text = _decode(data)
    first = next((line for line in text.split("\n", 50) if line.strip()), "")
    if first.startswith(("FN ", "PT ")):
        fields = _plain_fields(text)
    elif "\t" in first and len(_HEADER_TAGS & {c.strip() for c in first.split("\t")}) >= 3:
        fields = _tab_fields(text)
    else:
        raise ValueError(
            "line 1: not a Web of Science export (expected an 'FN …' header or a "
            f"tab-delimited header row of field tags), got {first[:60]!r}"
        )
    return _rows(fields, wanted)


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
        "split": _split_lines,
        "split_c1": _split_lines,
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
            "split": _split_names,
            "split_c1": _split_addresses,
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
        "split": _split_names,
        "split_c1": _split_addresses,
        "dt": column("DT"),
        "wc": column("WC"),
    }


# --- common -----------------------------------------------------------------------------


def _items(parts: list[str], value: str) -> list[str]:
    items = [p.strip() for p in parts]
    if "#" in value:
        items = [p for p in items if p not in EXCEL_ERRORS]
    return [p for p in items if p]


def _split_lines(value: str) -> list[str]:
    return _items(value.split("\n   "), value)


def _split_names(value: str) -> list[str]:
    return _items(value.split(";"), value)


def _split_addresses(value: str) -> list[str]:
    return _items(re.split(_ADDRESS_SEP, value) if "[" in value else value.split(";"), value)


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


def _rows(fields: dict[str, Any], wanted: frozenset[str] | None) -> pd.DataFrame:
    """The reader's frame from per-record fields (``_plain_fields``/``_tab_fields``):
    records of the ``wanted`` document types only, one row per author–address link."""
    dt = np.asarray(fields["dt"], dtype=object)
    n_all = len(fields["ut"])
    if wanted is None:
        keep = np.ones(n_all, bool)
    else:
        keep = np.array(
            [any(p.strip().lower() in wanted for p in (d or "").split(";")) for d in dt], bool
        )
    split, split_c1 = fields["split"], fields["split_c1"]
    rec: list[int] = []
    key: list[int] = []
    address: list[str | None] = []
    author: list[str | None] = []
    reason: list[str | None] = []
    # Bound appends, several per statement: this loop is most of the reader's time.
    add_rec, add_key, add_address = rec.append, key.append, address.append
    add_author, add_reason = author.append, reason.append
    c1_of, af_of, au_of = fields["c1"], fields["af"], fields["au"]

    # One pass over the records: what links authors to addresses is inside each record.
    # Author keys, unique within a record: a position in AF/AU, 1_000_000 + n for a
    # bracket name found in neither, -1 - n for the n-th address without bracket. Names
    # compare case-insensitively.
    for r in np.flatnonzero(keep).tolist():
        c1 = split_c1(c1_of[r]) if c1_of[r] else []
        if not c1:
            add_rec(r), add_key(0), add_address(None), add_author(None), add_reason(NO_C1)
            continue
        authors = split(af_of[r]) if af_of[r] else []
        if not authors and au_of[r]:
            authors = split(au_of[r])
        lookup: dict[str, int] = {}
        for i, name in enumerate(authors):
            lookup.setdefault(name.lower(), i)
        short: dict[str, int] | None = None
        linked: set[int] = set()
        others: dict[str, int] = {}
        for a_no, item in enumerate(c1):
            names = ""
            text = item
            if item[0] == "[":
                close = item.find("]")
                if close > 0:
                    names, text = item[1:close], item[close + 1 :].strip()
            if text.endswith("."):
                text = text[:-1].rstrip()
            why = None if text else EMPTY_ADDRESS
            named = [n.strip() for n in names.split(";")] if names else []
            if "" in named:
                named = [n for n in named if n]
            if not named:
                add_rec(r), add_key(-1 - a_no), add_address(text or None)
                add_author(None), add_reason(why)
                continue
            for name in named:
                norm = name.lower()
                k = lookup.get(norm)
                if k is None:
                    # Brackets write AF's full names; older records' brackets follow AU.
                    if short is None:
                        au = split(au_of[r]) if au_of[r] else []
                        short = {}
                        for i, au_name in enumerate(au):
                            short.setdefault(au_name.lower(), i)
                    k = short.get(norm)
                    if k is None:
                        k = others.setdefault(norm, 1_000_000 + len(others))
                linked.add(k)
                add_rec(r), add_key(k), add_address(text or None)
                add_author(name), add_reason(why)
        if linked:
            for i, name in enumerate(authors):
                # A second author of the same name is the same author here.
                if i not in linked and lookup[name.lower()] == i:
                    add_rec(r), add_key(i), add_address(None)
                    add_author(name), add_reason(UNLINKED)

    rows = np.asarray(rec, dtype=np.int64)
    n = len(rows)
    ut = np.asarray(fields["ut"], dtype=object)
    doc, _ = pd.factorize(ut)
    weight = author_weights(doc[rows], key)
    organization = [a.partition(",")[0].strip() or None if a else None for a in address]
    field = np.array([w.partition(";")[0].strip() or None for w in fields["wc"]], dtype=object)
    dt = np.array([d or None for d in dt], dtype=object)

    def text(values: Any) -> pd.Series:
        # Object columns as they are: letting pandas infer its string dtype for every
        # column costs a third of the reader's time on large files.
        return pd.Series(np.asarray(values, dtype=object), dtype=object, copy=False)

    frame = reader_frame(
        {
            "source": text(np.full(n, SOURCE, dtype=object)),
            "doc_id": text(ut[rows]),
            "year": np.asarray(fields["year"], dtype=np.int64)[rows],
            "address": text(address),
            "weight": weight,
            "organization": text(organization),
            "field": text(field[rows]),
            "row": rows,
            "no_address": text(reason),
            "author": text(author),
            "document_type": text(dt[rows]),
        },
        n,
    )
    frame.attrs["skipped"] = int(n_all - keep.sum())
    frame.attrs["records"] = n_all
    return frame


def piece_kind(head: bytes, *, file: str) -> str:
    """How an export is cut into pieces (:mod:`core.readers.pieces`): plain text after an
    ``ER`` line, tab-delimited (never quoted) after any line."""
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return "tagged" if first.startswith((b"FN ", b"PT ")) else "tsv"
