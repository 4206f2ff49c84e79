"""Elsevier Scopus CSV exports ("Export → CSV") → reader frames, one row per author and
affiliation.

``Authors with affiliations`` holds one entry per author, separated by ``"; "``: the name
(``"Hao J."`` since about 2020, ``"Phillips, J.C."`` before) followed by that author's
affiliations joined by ``", "``, so an author with two affiliations has both in one entry
(``"Kaufman E.M., The Kinsey Institute, …, United States, Luddy School …, United States"``);
older exports and consortium records may instead repeat the author in several entries. The
record's ``Affiliations`` column lists its distinct affiliations, which is what tells where one
affiliation ends and the next begins. An author is identified by their Scopus author ID
(``Author(s) ID``, listed in the same order as the entries) when the counts agree, else by
the name as written: repeated entries of one author then split that author's share.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from core.readers.common import author_weights, reader_frame

FORMAT = "scopus"
SOURCE = "publication"

#: Columns without which a file cannot be read, in the order they are checked.
REQUIRED = ("EID", "Year", "Authors with affiliations")
_OPTIONAL = ("Authors", "Author(s) ID", "Affiliations", "Document Type")
# What Excel writes into a cell it could not evaluate when a user opened and saved the export
# (a name beginning with "=" or "-"): the value is lost, not a place.
EXCEL_ERRORS = frozenset({"#NAME?", "#VALUE!", "#REF!", "#N/A", "#NULL!", "#DIV/0!", "#NUM!"})
_BOM = b"\xef\xbb\xbf"
NO_AFFILIATION = "author without affiliation"
NO_AUTHOR = "document without authors or affiliations"
# Initials of a pre-2020 name ("J.C.", "K.-C.", "J.-P.E.N.", "M.Ø.", "Jr."): the second
# comma-separated part of an entry that is still part of the name.
_INITIALS = re.compile(r"(?:[^\W\d_]{1,2}\.|-)+(?: ?(?:Jr\.|Sr\.|II|III|IV))?")
_NOT_A_NAME = frozenset({"", "[No author name available]", "[No author id available]"})


def _header(text: str) -> list[str]:
    """The column names of the first line."""
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    if not first.strip():
        raise ValueError("line 1: empty, no header")
    return [name.strip() for name in next(csv.reader([first]))]


def _first_bad_line(text: str, width: int) -> str | None:
    """What is wrong with ``text`` as CSV, naming the physical line where the bad record
    starts: a field count other than the header's ``width``, or a quote never closed (the
    tokenizers take such a field to the end of the file); None if nothing is."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = last = 1
    for record in reader:
        if record and len(record) != width:
            return f"line {start}: {len(record)} fields where the header has {width}"
        last, start = start, reader.line_num + 1
    # Quotes inside a quoted field are doubled, so a well-formed file holds an even number.
    if text.count('"') % 2:
        return f"line {last}: a quoted field is not closed"
    return None


def _table(data: bytes) -> tuple[pd.DataFrame, list[str]]:
    """The used columns of the export as stripped text ("" for no value)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(f"line {line}: not UTF-8 text") from None
    columns = _header(text)
    for name in REQUIRED:
        if name not in columns:
            raise ValueError(f"missing column {name!r}")
    used = [c for c in (*REQUIRED, *_OPTIONAL) if c in columns]
    # pyarrow tokenizes every field (so a record with too many or too few is caught, unlike
    # pandas with usecols) but converts only the used ones, on all cores.
    try:
        table = pa_csv.read_csv(
            # The bytes as given (decoding above checked them), less the byte-order mark.
            io.BytesIO(memoryview(data)[len(_BOM) if data.startswith(_BOM) else 0 :]),
            read_options=pa_csv.ReadOptions(column_names=columns, skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                include_columns=used,
                column_types={c: pa.string() for c in used},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        why = _first_bad_line(text, len(columns)) or " ".join(str(exc).split())
        raise ValueError(why) from None
    if text.count('"') % 2:
        raise ValueError(_first_bad_line(text, len(columns)))
    frame = pd.DataFrame({c: table.column(c).to_numpy(zero_copy_only=False) for c in used})
    for name in used:
        values = frame[name].str.strip()
        frame[name] = values.where(~values.isin(EXCEL_ERRORS), "")
    return frame, used


def _document_types(options: Mapping[str, Any]) -> frozenset[str] | None:
    """The ``document_types`` option as lower-case names, None for all."""
    wanted = options.get("document_types")
    if wanted is None:
        return None
    if isinstance(wanted, str):
        wanted = [wanted]
    if not all(isinstance(w, str) for w in wanted):
        raise ValueError(f"option document_types: not a list of names: {wanted!r}")
    return frozenset(w.strip().lower() for w in wanted)


def _segment(rest: str, known: list[str]) -> list[str] | None:
    """``rest`` cut into ``known`` affiliations joined by ", " (``known`` longest first, so
    an affiliation that contains another one's text is taken whole), or None when no such
    cut exists."""
    for affiliation in known:
        if rest == affiliation:
            return [rest]
        size = len(affiliation)
        if rest.startswith(affiliation) and rest.startswith(", ", size):
            tail = _segment(rest[size + 2 :], known)
            if tail is not None:
                return [affiliation, *tail]
    return None


def _clean(place: str) -> str:
    """An affiliation without the e-mail addresses Scopus sometimes leaves in it
    (``"…, China;, Email: x@y.com"``, ``"…, Ireland l00163548@atu.ie"``): the geocoder reads
    from the right, where they would sit in the country's place."""
    if "@" not in place and ";" not in place:
        return place
    kept = []
    for part in place.split(", "):
        words = [w for w in part.split() if "@" not in w and w.lower() not in ("email:", "e-mail:")]
        part = " ".join(words).strip(" ;")
        if part:
            kept.append(part)
    return ", ".join(kept)


def split_entry(entry: str, known: frozenset[str] | set[str]) -> tuple[str, list[str]]:
    """An ``Authors with affiliations`` entry as the author's name and affiliations.

    Parameters
    ----------
    entry : str
        One entry, e.g. ``"Davies S., Keele University, …, United Kingdom, Alder Hey
        Children's Hospital, …, United Kingdom"`` or ``"Phillips, J.C., Beckman Institute, …"``.
    known : set of str
        The record's ``Affiliations``: where one affiliation ends and the next begins.

    Returns
    -------
    name : str
    affiliations : list of str
        Empty for an author without affiliation; an entry whose affiliations are not all in
        ``known`` gives its whole text after the name as one affiliation.

    Examples
    --------
    >>> split_entry("Smith J., A, X, B, Y", {"A, X", "B, Y"})
    ('Smith J.', ['A, X', 'B, Y'])
    >>> split_entry("Smith, J., A, X", {"A, X"})
    ('Smith, J.', ['A, X'])
    """
    parts = entry.split(", ")
    if len(parts) == 1:
        return entry, []
    rest = entry[len(parts[0]) + 2 :]
    if rest in known:
        return parts[0], [rest]
    initials = _INITIALS.fullmatch(parts[1]) is not None
    if initials:
        name = f"{parts[0]}, {parts[1]}"
        rest2 = entry[len(name) + 2 :]
        if len(parts) == 2:
            return name, []
        if rest2 in known:
            return name, [rest2]
    if known:
        ordered = sorted(known, key=len, reverse=True)
        for k in (1, 2) if len(parts) > 2 else (1,):
            name = ", ".join(parts[:k])
            cut = _segment(entry[len(name) + 2 :], ordered)
            if cut:
                return name, cut
    k = 2 if initials else 1
    return ", ".join(parts[:k]), [", ".join(parts[k:])]


def _names(authors: str) -> list[str]:
    """The ``Authors`` column as names: ``"; "``-separated since about 2020, ``", "`` before
    (when names held no comma)."""
    if authors in _NOT_A_NAME:
        return []
    names = authors.split(";") if ";" in authors else authors.split(", ")
    return [n.strip() for n in names if n.strip() not in _NOT_A_NAME]


def parse(data: bytes, *, file: str, options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One Scopus CSV export as a reader frame.

    Parameters
    ----------
    data : bytes
        The file's bytes (UTF-8, with or without byte-order mark; ``\\n``, ``\\r\\n`` or
        ``\\r`` line endings; fields quoted or not).
    file : str
        The file's name (not used: rows say where they came from by ``row``).
    options : mapping, optional
        ``document_types``: the ``Document Type`` values to keep (any case), e.g.
        ``["Article"]`` as the GII counts; default all. The number of records skipped is in
        ``frame.attrs["skipped"]``, of records read in ``frame.attrs["records"]``.

    Returns
    -------
    pandas.DataFrame
        ``core.readers.common.READER_COLUMNS``, then ``author`` (the name as written) and
        ``author_id`` (Scopus author ID, where the record lists one per entry): one row per
        author and affiliation, ``doc_id`` the EID, ``address`` the affiliation string and
        ``organization`` its first comma-separated part, ``row`` the record's 0-based index in
        the file. Authors without affiliation, and records without any author, give one row
        with empty place columns and ``no_address`` set. ``year`` is int64, or nullable
        Int64 when some record's ``Year`` is not a year.

    Raises
    ------
    ValueError
        Not a Scopus export: not UTF-8, a required column (``EID``, ``Year``, ``Authors with
        affiliations``) missing, or a line whose field count differs from the header's.
    """
    opts = dict(options or {})
    wanted = _document_types(opts)
    frame, used = _table(data)
    if wanted is not None and "Document Type" not in used:
        raise ValueError("missing column 'Document Type'")
    n_records = len(frame)
    empty = [""] * n_records

    def column(name: str) -> list[str]:
        return frame[name].tolist() if name in used else empty

    doc_types = column("Document Type")
    eids, entries_col, affs_col = (
        column("EID"),
        column("Authors with affiliations"),
        column("Affiliations"),
    )
    authors_col, ids_col = column("Authors"), column("Author(s) ID")

    # One tuple per output row: (record, document, author key, name, author ID, place,
    # reason); appending tuples is the cheapest way to grow columns in the loop.
    out_rows: list[tuple[int, str, str, str, str | None, str | None, str | None]] = []
    add = out_rows.append
    cleaned: dict[str, str | None] = {}
    skipped = 0
    for i in range(n_records):
        if wanted is not None and doc_types[i].lower() not in wanted:
            skipped += 1
            continue
        # A record without EID still sums to 1 on its own (validation rejects it later).
        doc = eids[i] or f"\x00{i}"
        cell = entries_col[i]
        entries = cell.split("; ") if cell else []
        ids = [x for x in (y.strip() for y in ids_col[i].split(";")) if x and x not in _NOT_A_NAME]
        if not entries:
            listed = _names(authors_col[i])
            listed_ids = len(ids) == len(listed)
            for p, name in enumerate(listed):
                add(
                    (i, doc, f"\x00{p}", name, ids[p] if listed_ids else None, None, NO_AFFILIATION)
                )
            if not listed:
                add((i, doc, "", "", None, None, NO_AUTHOR))
            continue
        by_id = len(ids) == len(entries)
        known = set(affs_col[i].split("; ")) if affs_col[i] else set()
        for p, entry in enumerate(entries):
            name, places = split_entry(entry.strip(), known)
            key, author_id = (ids[p], ids[p]) if by_id else (name, None)
            if not places:
                add((i, doc, key, name, author_id, None, NO_AFFILIATION))
            for place in places:
                # Only a few affiliations hold an e-mail address or a stray ";".
                if "@" in place or ";" in place:
                    if place not in cleaned:
                        cleaned[place] = _clean(place) or None
                    place = cleaned[place]
                add((i, doc, key, name, author_id, place, None if place else NO_AFFILIATION))

    n = len(out_rows)
    columns = list(zip(*out_rows, strict=True)) if n else [()] * 7
    at = np.asarray(columns[0], dtype=np.int64)
    # Years are converted once per record, then spread to the record's rows.
    year_num = pd.to_numeric(frame["Year"], errors="coerce").to_numpy(dtype=np.float64)[at]
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(year_num) & (year_num == np.round(year_num))
    year: np.ndarray | pd.api.extensions.ExtensionArray
    if whole.all():
        year = year_num.astype(np.int64)
    else:
        year = pd.array(np.where(whole, year_num, np.nan), dtype="Float64").astype("Int64")
    address = np.asarray(columns[5], dtype=object)
    organization = np.array([a.split(", ", 1)[0] if a else None for a in address], dtype=object)
    out = reader_frame(
        {
            "source": np.full(n, SOURCE, dtype=object),
            "doc_id": np.asarray(eids, dtype=object)[at] if n else np.array([], dtype=object),
            "year": year,
            "address": address,
            "weight": author_weights(columns[1], columns[2]),
            "organization": organization,
            "row": at,
            "no_address": np.asarray(columns[6], dtype=object),
            "author": np.asarray(columns[3], dtype=object),
            "author_id": np.asarray(columns[4], dtype=object),
        },
        n,
    )
    out.attrs["skipped"] = skipped
    out.attrs["records"] = n_records
    return out


def piece_kind(head: bytes, *, file: str) -> str:
    """How a Scopus export is cut into pieces (:mod:`core.readers.pieces`): quoted CSV."""
    return "csv"
