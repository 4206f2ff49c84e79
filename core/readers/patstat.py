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

from core.readers.common import reader_frame
from core.readers.tables import JOINED, Phase, Table, integers, join_phases, optional_text, text

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


def _ids(values: pd.Series) -> pd.Series:
    return text(values).astype(object)


def _sequence(values: pd.Series) -> np.ndarray:
    return integers(values).fillna(0).to_numpy(np.int64)


def prepare(table: str, chunk: pd.DataFrame, *, options: Mapping[str, Any]) -> pd.DataFrame:
    """The columns of one chunk of ``table`` the join needs, typed; applications not
    counted, and person links that are neither an inventor nor the first applicant, left
    out. ``chunk`` holds the table's columns as text, plus ``row`` and ``file``."""
    opts = check_options(options)
    if table == "tls201_appln":
        appln = _ids(chunk["appln_id"])
        if opts["applications"] == "pct":
            keep = chunk["appln_kind"].astype(str).str.strip().eq("W").to_numpy()
        elif opts["applications"] == "first-filings":
            keep = (appln == _ids(chunk["earliest_filing_id"])).fillna(False).to_numpy(bool)
        else:
            keep = np.ones(len(chunk), bool)
        year = chunk["appln_filing_year" if opts["year"] == "filing" else "earliest_filing_year"]
        years = integers(year)
        # PATSTAT writes 9999 for an unknown year.
        years = years.where(years.ne(9999))
        return pd.DataFrame(
            {
                "appln_id": appln[keep],
                "year": years[keep],
                "appln_auth": _ids(chunk["appln_auth"])[keep],
                "appln_nr": _ids(chunk["appln_nr"])[keep],
            }
        ).reset_index(drop=True)
    if table == "tls207_pers_appln":
        inventor, applicant = _sequence(chunk["invt_seq_nr"]), _sequence(chunk["applt_seq_nr"])
        keep = (inventor > 0) | (applicant == 1)
        return pd.DataFrame(
            {
                "appln_id": _ids(chunk["appln_id"])[keep],
                "person_id": _ids(chunk["person_id"])[keep],
                "invt_seq_nr": inventor[keep],
                "applt_seq_nr": applicant[keep],
                "row": chunk["row"].to_numpy(np.int64)[keep],
                "file": chunk["file"].astype(object)[keep],
            }
        ).reset_index(drop=True)
    if table == "tls206_person":
        return pd.DataFrame(
            {
                "person_id": _ids(chunk["person_id"]),
                "person_name": text(chunk["person_name"]).astype(object),
                "address": text(chunk["person_address"]).astype(object),
                "country": text(chunk["person_ctry_code"]).astype(object),
            }
        )
    if table == "tls209_appln_ipc":
        first = chunk["ipc_position"].astype(str).str.strip().str.upper().eq("F").to_numpy()
        symbol = chunk["ipc_class_symbol"].astype(str).str.replace(r"\s+", "", regex=True)
        return (
            pd.DataFrame({"appln_id": _ids(chunk["appln_id"])[first], "field": text(symbol)[first]})
            .astype(object)
            .reset_index(drop=True)
        )
    raise ValueError(f"not a patstat table: {table!r}")


def _name_persons(tables: Mapping[str, pd.DataFrame], *, options: Mapping[str, Any]):
    persons = tables["tls206_person"]
    return tables["tls207_pers_appln"].merge(
        persons[persons["person_id"].notna()], on="person_id", how="left"
    )


def _count_inventors(tables: Mapping[str, pd.DataFrame], *, options: Mapping[str, Any]):
    # In file order, so that which of two first applicants or IPC symbols is kept does not
    # depend on how the rows reached this bucket.
    links = tables[JOINED].sort_values(["file", "row"], kind="stable")
    inventors = links[links["invt_seq_nr"] > 0].merge(
        tables["tls201_appln"], on="appln_id", how="inner"
    )
    inventors["inventors"] = inventors.groupby("appln_id")["appln_id"].transform("size")
    # One first applicant and one first IPC symbol per application (PATSTAT has one; where
    # a record has two, the first in file order is kept).
    applicants = (
        links[links["applt_seq_nr"] == 1][["appln_id", "person_name"]]
        .drop_duplicates(subset="appln_id")
        .rename(columns={"person_name": "organization"})
    )
    joined = inventors.drop(columns="person_name").merge(applicants, on="appln_id", how="left")
    if "tls209_appln_ipc" in tables:
        fields = tables["tls209_appln_ipc"].drop_duplicates(subset="appln_id")
        joined = joined.merge(fields, on="appln_id", how="left")
    return joined


#: Person links meet their persons (name, address, country), then their applications
#: (kind and year, inventor count, first applicant, first IPC symbol).
PHASES = (
    Phase("person_id", ("tls207_pers_appln", "tls206_person"), _name_persons),
    Phase("appln_id", ("tls201_appln", "tls209_appln_ipc"), _count_inventors),
)


def join(tables: Mapping[str, pd.DataFrame], *, options: Mapping[str, Any]) -> pd.DataFrame:
    """Inventors of kept applications with the application's year, inventor count, first
    applicant and first IPC symbol, and the inventor's address, from whole prepared
    tables."""
    check_options(options)
    return join_phases(PHASES, tables, options=options)


def records(joined: pd.DataFrame, *, options: Mapping[str, Any]) -> pd.DataFrame:
    """The reader frame of a partition of :func:`join`'s output, then ``person_id``,
    ``invt_seq_nr``, ``appln_auth``, ``appln_nr`` and ``file``."""
    n = len(joined)

    def column(name: str) -> np.ndarray:
        return optional_text(joined, name)

    placed = pd.notna(column("address")) | pd.notna(column("country"))
    return reader_frame(
        {
            "source": np.full(n, SOURCE, dtype=object),
            "doc_id": column("appln_id"),
            "year": joined["year"].astype("Int64").to_numpy(),
            "country": column("country"),
            "address": column("address"),
            "weight": 1.0 / joined["inventors"].to_numpy(np.float64),
            "organization": column("organization"),
            "field": column("field"),
            "row": joined["row"].to_numpy(np.int64),
            "no_address": np.where(placed, None, NO_ADDRESS).astype(object),
            "person_id": column("person_id"),
            "invt_seq_nr": joined["invt_seq_nr"].to_numpy(np.int64),
            "appln_auth": column("appln_auth"),
            "appln_nr": column("appln_nr"),
            "file": column("file"),
        },
        n,
    )
