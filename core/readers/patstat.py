"""PATSTAT Global: the EPO's worldwide patent database, as its tables are delivered.

Tables are comma-separated with a header row, delivered zipped and often in several parts
(``tls201_part01.zip``…); a table's files are recognised by their ``tlsNNN_`` prefix.
Read: ``tls201_appln`` (applications: kind, filing years, first filing),
``tls207_pers_appln`` (which person is an applicant or inventor of which application),
``tls206_person`` (names, address, country), and, for the profiles, ``tls209_appln_ipc``.

One record row per inventor (``invt_seq_nr > 0``) of a kept application, weight
1/inventors of the application, ``doc_id`` the ``appln_id``, the person's address and
country for our geocoder; an inventor with neither is a ``no_address`` row.
``organization`` is the first applicant (``applt_seq_nr = 1``), ``field`` the first IPC
symbol (``ipc_position = 'F'``), spaces removed (``H04W  72/04`` → ``H04W72/04``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.readers.tables import (
    JOINED,
    Phase,
    Table,
    column_or_nulls,
    count_per,
    in_file_order,
    integers,
    join_phases,
    lookup,
    origin,
    reader_table,
    text,
)

FORMAT = "patstat"
SOURCE = "patent"
DELIMITER = ","
NO_ADDRESS = "inventor without address or country"
#: ``applications`` option: PCT applications (GII), first filings, or every application.
APPLICATIONS = ("pct", "first-filings", "all")
#: ``year`` option: the application's filing year, or its earliest (priority) filing's.
YEARS = ("filing", "priority")

TABLES = (
    Table(
        "tls201_appln",
        r"tls201_",
        (
            "appln_id",
            "appln_auth",
            "appln_nr",
            "appln_kind",
            "appln_filing_year",
            "earliest_filing_year",
            "earliest_filing_id",
        ),
    ),
    Table(
        "tls206_person",
        r"tls206_",
        ("person_id", "person_name", "person_address", "person_ctry_code"),
    ),
    Table(
        "tls207_pers_appln", r"tls207_", ("person_id", "appln_id", "applt_seq_nr", "invt_seq_nr")
    ),
    Table(
        "tls209_appln_ipc",
        r"tls209_",
        ("appln_id", "ipc_class_symbol", "ipc_position"),
        required=False,
    ),
)


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``applications`` (``pct``, the default, ``first-filings`` or ``all``) and ``year``
    (``filing``, the default, or ``priority``).

    Raises
    ------
    ValueError
        An unknown option or value.
    """
    unknown = sorted(set(options) - {"applications", "year"})
    if unknown:
        raise ValueError(f"unknown patstat option {unknown[0]!r} (known: applications, year)")
    applications = options.get("applications", "pct")
    if applications not in APPLICATIONS:
        raise ValueError(
            f"applications must be one of {', '.join(APPLICATIONS)}, got {applications!r}"
        )
    year = options.get("year", "filing")
    if year not in YEARS:
        raise ValueError(f"year must be one of {', '.join(YEARS)}, got {year!r}")
    return {"applications": applications, "year": year}


def _ids(values: pa.ChunkedArray) -> pa.ChunkedArray:
    # PATSTAT's ids are integers: joined as such, several times faster than as text.
    return integers(values)


def _sequence(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(integers(values), 0)


def prepare(table: str, chunk: pa.Table, *, options: Mapping[str, Any]) -> pa.Table:
    """The columns of one chunk of ``table`` the join needs, typed; applications not
    counted, and person links that are neither an inventor nor the first applicant, left
    out. ``chunk`` holds the table's columns as text, plus ``row`` and ``file``."""
    opts = check_options(options)
    if table == "tls201_appln":
        appln = _ids(chunk["appln_id"])
        if opts["applications"] == "pct":
            keep = pc.equal(pc.utf8_trim_whitespace(chunk["appln_kind"]), "W")
        elif opts["applications"] == "first-filings":
            keep = pc.fill_null(pc.equal(appln, _ids(chunk["earliest_filing_id"])), False)
        else:
            keep = pa.array(np.ones(len(chunk), bool))
        year = chunk["appln_filing_year" if opts["year"] == "filing" else "earliest_filing_year"]
        years = integers(year)
        # PATSTAT writes 9999 for an unknown year.
        years = pc.if_else(pc.equal(years, 9999), pa.scalar(None, pa.int64()), years)
        return pa.table(
            {
                "appln_id": appln,
                "year": years,
                "appln_auth": text(chunk["appln_auth"]),
                "appln_nr": text(chunk["appln_nr"]),
            }
        ).filter(keep)
    if table == "tls207_pers_appln":
        inventor, applicant = _sequence(chunk["invt_seq_nr"]), _sequence(chunk["applt_seq_nr"])
        return pa.table(
            {
                "appln_id": _ids(chunk["appln_id"]),
                "person_id": _ids(chunk["person_id"]),
                "invt_seq_nr": inventor,
                "applt_seq_nr": applicant,
                **origin(chunk),
            }
        ).filter(pc.or_(pc.greater(inventor, 0), pc.equal(applicant, 1)))
    if table == "tls206_person":
        return pa.table(
            {
                "person_id": _ids(chunk["person_id"]),
                "person_name": text(chunk["person_name"]),
                "address": text(chunk["person_address"]),
                "country": text(chunk["person_ctry_code"]),
            }
        )
    if table == "tls209_appln_ipc":
        first = pc.is_in(pc.utf8_trim_whitespace(chunk["ipc_position"]), pa.array(["F", "f"]))
        kept = chunk.select(["appln_id", "ipc_class_symbol"]).filter(first)
        symbol = pc.replace_substring_regex(kept["ipc_class_symbol"], r"\s+", "")
        return pa.table({"appln_id": _ids(kept["appln_id"]), "field": text(symbol)})
    raise ValueError(f"not a patstat table: {table!r}")


def _name_persons(tables: Mapping[str, pa.Table], *, options: Mapping[str, Any]) -> pa.Table:
    return lookup(tables["tls207_pers_appln"], tables["tls206_person"], "person_id")


def _count_inventors(tables: Mapping[str, pa.Table], *, options: Mapping[str, Any]) -> pa.Table:
    links = tables[JOINED]
    # One first applicant and one first IPC symbol per application (PATSTAT has one; where
    # a record has two, the first in file order counts, whatever order the rows came in),
    # gathered per application first: one lookup per inventor.
    applicants = in_file_order(links.filter(pc.equal(links["applt_seq_nr"], 1)))
    applicants = applicants.select(["appln_id", "person_name"])
    applications = lookup(
        tables["tls201_appln"],
        applicants.rename_columns(["appln_id", "organization"]),
        "appln_id",
    )
    if "tls209_appln_ipc" in tables:
        applications = lookup(applications, tables["tls209_appln_ipc"], "appln_id")
    inventors = links.filter(pc.greater(links["invt_seq_nr"], 0)).drop_columns("person_name")
    joined = lookup(inventors, applications, "appln_id", inner=True, position="application")
    return count_per(joined, "application", "inventors")


#: Person links meet their persons (name, address, country), then their applications
#: (kind and year, inventor count, first applicant, first IPC symbol).
PHASES = (
    Phase("person_id", ("tls207_pers_appln", "tls206_person"), _name_persons),
    Phase("appln_id", ("tls201_appln", "tls209_appln_ipc"), _count_inventors),
)


def join(tables: Mapping[str, pa.Table], *, options: Mapping[str, Any]) -> pa.Table:
    """Inventors of kept applications with the application's year, inventor count, first
    applicant and first IPC symbol, and the inventor's address, from whole prepared
    tables."""
    check_options(options)
    return join_phases(PHASES, tables, options=options)


def records(joined: pa.Table, *, options: Mapping[str, Any]) -> pd.DataFrame:
    """The reader frame of :func:`join`'s rows (or a bucket's), in file order, then
    ``person_id``, ``invt_seq_nr``, ``appln_auth``, ``appln_nr`` and ``file``."""
    joined = in_file_order(joined)
    n = len(joined)
    placed = pc.or_kleene(pc.is_valid(joined["address"]), pc.is_valid(joined["country"]))
    return reader_table(
        {
            "source": pa.repeat(SOURCE, n),
            "doc_id": pc.cast(joined["appln_id"], pa.string()),
            "year": joined["year"],
            "country": joined["country"],
            "address": joined["address"],
            "weight": pc.divide(1.0, pc.cast(joined["inventors"], pa.float64())),
            "organization": column_or_nulls(joined, "organization"),
            "field": column_or_nulls(joined, "field"),
            "row": joined["row"],
            "no_address": pc.if_else(placed, pa.scalar(None, pa.string()), NO_ADDRESS),
            "person_id": pc.cast(joined["person_id"], pa.string()),
            "invt_seq_nr": joined["invt_seq_nr"],
            "appln_auth": joined["appln_auth"],
            "appln_nr": joined["appln_nr"],
            "file": joined["file"],
        },
        n,
    )
