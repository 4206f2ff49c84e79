"""PatentsView bulk tables: US patents with disambiguated inventors and their locations.

The granted-patent tables as PatentsView publishes them (tab-separated, quoted, each zipped
as ``<table>.tsv.zip``): ``g_patent`` (type, grant date), ``g_application`` (filing date),
``g_inventor_disambiguated`` (one row per inventor of a patent, with a ``location_id``),
``g_location_disambiguated`` (the location's city, state, country and coordinates), and,
for the profiles, ``g_assignee_disambiguated`` and ``g_cpc_current`` where present.

One record row per inventor of a kept patent, weight 1/inventors of the patent, placed by
the location's coordinates (else its city, state and country for the geocoder); an
inventor without a location is a ``no_address`` row. ``organization`` is the first
assignee (organisation, else person), ``field`` the first current CPC group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.readers.common import reader_frame
from core.readers.tables import (
    JOINED,
    Phase,
    Table,
    integers,
    join_phases,
    numbers,
    optional_text,
    text,
    years_of_dates,
)

FORMAT = "patentsview"
SOURCE = "patent"
DELIMITER = "\t"
NO_LOCATION = "inventor without location"
#: ``year`` option: which date of a patent is its year.
YEARS = ("filing", "grant")
DEFAULT_PATENT_TYPES = ("utility",)

TABLES = (
    Table("g_patent", r"g_patent\.", ("patent_id", "patent_type", "patent_date")),
    Table("g_application", r"g_application\.", ("patent_id", "filing_date"), required=False),
    Table(
        "g_inventor_disambiguated",
        r"g_inventor_disambiguated\.",
        ("patent_id", "inventor_sequence", "inventor_id", "location_id"),
    ),
    Table(
        "g_location_disambiguated",
        r"g_location_disambiguated\.",
        (
            "location_id",
            "disambig_city",
            "disambig_state",
            "disambig_country",
            "latitude",
            "longitude",
        ),
    ),
    Table(
        "g_assignee_disambiguated",
        r"g_assignee_disambiguated\.",
        (
            "patent_id",
            "assignee_sequence",
            "disambig_assignee_individual_name_first",
            "disambig_assignee_individual_name_last",
            "disambig_assignee_organization",
        ),
        required=False,
    ),
    Table(
        "g_cpc_current",
        r"g_cpc_current\.",
        ("patent_id", "cpc_sequence", "cpc_group"),
        required=False,
    ),
)


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``year`` (``filing``, the default, or ``grant``) and ``patent_types`` (default
    ``["utility"]``; None keeps all).

    Raises
    ------
    ValueError
        An unknown option or value.
    """
    unknown = sorted(set(options) - {"year", "patent_types", "tables"})
    if unknown:
        raise ValueError(f"unknown patentsview option {unknown[0]!r} (known: year, patent-types)")
    year = options.get("year", "filing")
    if year not in YEARS:
        raise ValueError(f"year must be one of {', '.join(YEARS)}, got {year!r}")
    types = options.get("patent_types", list(DEFAULT_PATENT_TYPES))
    if types is not None and (isinstance(types, str) or not all(isinstance(t, str) for t in types)):
        raise ValueError(f"patent-types must be a list of names, got {types!r}")
    return {"year": year, "patent_types": None if types is None else [t.lower() for t in types]}


def prepare(table: str, chunk: pd.DataFrame, *, options: Mapping[str, Any]) -> pd.DataFrame:
    """The columns of one chunk of ``table`` the join needs, typed; rows of other patent
    types, and assignees and CPC groups other than the first, left out.

    ``chunk`` holds the table's columns as text, plus ``row`` (the row's 0-based index in its
    file) and ``file``.
    """
    opts = check_options(options)
    if table == "g_patent":
        kind = chunk["patent_type"].astype(str).str.strip().str.lower()
        keep = (
            np.ones(len(chunk), bool)
            if opts["patent_types"] is None
            else kind.isin(opts["patent_types"]).to_numpy()
        )
        kept = chunk[keep]
        return pd.DataFrame(
            {
                "patent_id": text(kept["patent_id"]).astype(object),
                "grant_year": years_of_dates(kept["patent_date"]),
            }
        )
    if table == "g_application":
        return pd.DataFrame(
            {
                "patent_id": text(chunk["patent_id"]).astype(object),
                "filing_year": years_of_dates(chunk["filing_date"]),
            }
        )
    if table == "g_inventor_disambiguated":
        return pd.DataFrame(
            {
                "patent_id": text(chunk["patent_id"]).astype(object),
                "inventor_sequence": integers(chunk["inventor_sequence"]),
                "inventor_id": text(chunk["inventor_id"]).astype(object),
                "location_id": text(chunk["location_id"]).astype(object),
                "row": chunk["row"].to_numpy(np.int64),
                "file": chunk["file"].astype(object),
            }
        )
    if table == "g_location_disambiguated":
        return pd.DataFrame(
            {
                "location_id": text(chunk["location_id"]).astype(object),
                "city": text(chunk["disambig_city"]).astype(object),
                "state": text(chunk["disambig_state"]).astype(object),
                "country": text(chunk["disambig_country"]).astype(object),
                "lat": numbers(chunk["latitude"]),
                "lon": numbers(chunk["longitude"]),
            }
        )
    if table == "g_assignee_disambiguated":
        first = integers(chunk["assignee_sequence"]).eq(0).fillna(False).to_numpy(bool)
        kept = chunk[first]
        person = (
            text(kept["disambig_assignee_individual_name_first"]).fillna("")
            + " "
            + text(kept["disambig_assignee_individual_name_last"]).fillna("")
        )
        name = text(kept["disambig_assignee_organization"]).fillna(text(person))
        return pd.DataFrame(
            {"patent_id": text(kept["patent_id"]).astype(object), "organization": name}
        ).astype(object)
    if table == "g_cpc_current":
        first = integers(chunk["cpc_sequence"]).eq(0).fillna(False).to_numpy(bool)
        kept = chunk[first]
        return pd.DataFrame(
            {
                "patent_id": text(kept["patent_id"]).astype(object),
                "field": text(kept["cpc_group"]).astype(object),
            }
        )
    raise ValueError(f"not a patentsview table: {table!r}")


def _locate_inventors(tables: Mapping[str, pd.DataFrame], *, options: Mapping[str, Any]):
    locations = tables["g_location_disambiguated"]
    # A missing location_id must not meet a location row without one.
    locations = locations[locations["location_id"].notna()]
    return tables["g_inventor_disambiguated"].merge(locations, on="location_id", how="left")


def _count_inventors(tables: Mapping[str, pd.DataFrame], *, options: Mapping[str, Any]):
    opts = check_options(options)
    if opts["year"] == "filing" and "g_application" not in tables:
        raise ValueError("year: filing needs the g_application table (or year: grant)")
    patents = tables["g_patent"]
    if opts["year"] == "filing":
        patents = patents.merge(tables["g_application"], on="patent_id", how="left")
        patents = patents.assign(year=patents["filing_year"])
    else:
        patents = patents.assign(year=patents["grant_year"])
    joined = tables[JOINED].merge(patents[["patent_id", "year"]], on="patent_id", how="inner")
    joined["inventors"] = joined.groupby("patent_id")["patent_id"].transform("size")
    for name in ("g_assignee_disambiguated", "g_cpc_current"):
        if name in tables:
            joined = joined.merge(tables[name], on="patent_id", how="left")
    return joined


#: Inventors meet their locations, then their patents (year, inventor count, first
#: assignee and CPC group).
PHASES = (
    Phase(
        "location_id",
        ("g_inventor_disambiguated", "g_location_disambiguated"),
        _locate_inventors,
    ),
    Phase(
        "patent_id",
        ("g_patent", "g_application", "g_assignee_disambiguated", "g_cpc_current"),
        _count_inventors,
    ),
)


def join(tables: Mapping[str, pd.DataFrame], *, options: Mapping[str, Any]) -> pd.DataFrame:
    """Inventors of kept patents with their patent's year, inventor count, first assignee
    and CPC group, and their location, from whole prepared tables."""
    return join_phases(PHASES, tables, options=options)


def records(joined: pd.DataFrame, *, options: Mapping[str, Any]) -> pd.DataFrame:
    """The reader frame of a partition of :func:`join`'s output, then ``inventor_id``,
    ``inventor_sequence``, ``location_id`` and ``file``."""
    n = len(joined)

    def column(name: str) -> np.ndarray:
        return optional_text(joined, name)

    lat = joined["lat"].to_numpy(np.float64, na_value=np.nan) if n else np.zeros(0)
    lon = joined["lon"].to_numpy(np.float64, na_value=np.nan) if n else np.zeros(0)
    placed = ~np.isnan(lat) | pd.notna(column("city")) | pd.notna(column("country"))
    return reader_frame(
        {
            "source": np.full(n, SOURCE, dtype=object),
            "doc_id": column("patent_id"),
            "year": joined["year"].astype("Int64").to_numpy(),
            "lat": lat,
            "lon": lon,
            "country": column("country"),
            "city": column("city"),
            "state": column("state"),
            "weight": 1.0 / joined["inventors"].to_numpy(np.float64),
            "organization": column("organization"),
            "field": column("field"),
            "row": joined["row"].to_numpy(np.int64),
            "no_address": np.where(placed, None, NO_LOCATION).astype(object),
            "inventor_id": column("inventor_id"),
            "inventor_sequence": joined["inventor_sequence"].astype("Int64").to_numpy(),
            "location_id": column("location_id"),
            "file": column("file"),
        },
        n,
    )
