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
    numbers,
    origin,
    reader_table,
    text,
    with_codes,
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


def prepare(table: str, chunk: pa.Table, *, options: Mapping[str, Any]) -> pa.Table:
    """The columns of one chunk of ``table`` the join needs, typed; rows of other patent
    types, and assignees and CPC groups other than the first, left out.

    ``chunk`` holds the table's columns as text, plus ``row`` (the row's 0-based index in its
    file) and ``file``.
    """
    opts = check_options(options)
    if table == "g_patent":
        if opts["patent_types"] is not None:
            kind = pc.utf8_lower(pc.utf8_trim_whitespace(chunk["patent_type"]))
            kept = pc.is_in(kind, pa.array(opts["patent_types"], pa.string()))
            chunk = chunk.select(["patent_id", "patent_date"]).filter(kept)
        return pa.table(
            {
                "patent_id": text(chunk["patent_id"]),
                "grant_year": years_of_dates(chunk["patent_date"]),
            }
        )
    if table == "g_application":
        return pa.table(
            {
                "patent_id": text(chunk["patent_id"]),
                "filing_year": years_of_dates(chunk["filing_date"]),
            }
        )
    if table == "g_inventor_disambiguated":
        return pa.table(
            {
                "patent_id": text(chunk["patent_id"]),
                "inventor_sequence": integers(chunk["inventor_sequence"]),
                "inventor_id": text(chunk["inventor_id"]),
                "location_id": text(chunk["location_id"]),
                **origin(chunk),
            }
        )
    if table == "g_location_disambiguated":
        return pa.table(
            {
                "location_id": text(chunk["location_id"]),
                "city": text(chunk["disambig_city"]),
                "state": text(chunk["disambig_state"]),
                "country": text(chunk["disambig_country"]),
                "lat": numbers(chunk["latitude"]),
                "lon": numbers(chunk["longitude"]),
            }
        )
    if table == "g_assignee_disambiguated":
        first = pc.fill_null(pc.equal(integers(chunk["assignee_sequence"]), 0), False)
        kept = chunk.drop_columns(["row", "file", "order"]).filter(first)
        name = text(kept["disambig_assignee_organization"])
        if name.null_count:
            # A person holds the patent: "first last", only for the rows without a name.
            person = pc.binary_join_element_wise(
                pc.fill_null(text(kept["disambig_assignee_individual_name_first"]), ""),
                pc.fill_null(text(kept["disambig_assignee_individual_name_last"]), ""),
                " ",
            )
            name = pc.coalesce(name, text(person))
        return pa.table({"patent_id": text(kept["patent_id"]), "organization": name})
    if table == "g_cpc_current":
        first = pc.fill_null(pc.equal(integers(chunk["cpc_sequence"]), 0), False)
        kept = chunk.select(["patent_id", "cpc_group"]).filter(first)
        return pa.table({"patent_id": text(kept["patent_id"]), "field": text(kept["cpc_group"])})
    raise ValueError(f"not a patentsview table: {table!r}")


def _locate_inventors(tables: Mapping[str, pa.Table], *, options: Mapping[str, Any]) -> pa.Table:
    return lookup(
        tables["g_inventor_disambiguated"], tables["g_location_disambiguated"], "location_id"
    )


def _count_inventors(tables: Mapping[str, pa.Table], *, options: Mapping[str, Any]) -> pa.Table:
    opts = check_options(options)
    if opts["year"] == "filing" and "g_application" not in tables:
        raise ValueError("year: filing needs the g_application table (or year: grant)")
    tables = with_codes(tables, "patent_id", "patent", keep=(JOINED,))
    # What inventors take from their patent, gathered per patent first: one lookup per
    # inventor, not one per table.
    if opts["year"] == "filing":
        patents = lookup(tables["g_patent"].select(["patent"]), tables["g_application"], "patent")
    else:
        patents = tables["g_patent"].select(["patent", "grant_year"])
    patents = patents.rename_columns(["patent", "year"])
    for name in ("g_assignee_disambiguated", "g_cpc_current"):
        if name in tables:
            patents = lookup(patents, tables[name], "patent")
    joined = lookup(tables[JOINED], patents, "patent", inner=True, position="position")
    return count_per(joined.drop_columns("patent"), "position", "inventors")


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


def join(tables: Mapping[str, pa.Table], *, options: Mapping[str, Any]) -> pa.Table:
    """Inventors of kept patents with their patent's year, inventor count, first assignee
    and CPC group, and their location, from whole prepared tables."""
    return join_phases(PHASES, tables, options=options)


def records(joined: pa.Table, *, options: Mapping[str, Any]) -> pd.DataFrame:
    """The reader frame of :func:`join`'s rows (or a bucket's), in file order, then
    ``inventor_id``, ``inventor_sequence``, ``location_id`` and ``file``."""
    joined = in_file_order(joined)
    n = len(joined)

    def column(name: str) -> Any:
        return column_or_nulls(joined, name)

    placed = pc.or_kleene(
        pc.is_valid(joined["lat"]),
        pc.or_kleene(pc.is_valid(joined["city"]), pc.is_valid(joined["country"])),
    )
    return reader_table(
        {
            "source": pa.repeat(SOURCE, n),
            "doc_id": joined["patent_id"],
            "year": joined["year"],
            "lat": pc.fill_null(joined["lat"], np.nan),
            "lon": pc.fill_null(joined["lon"], np.nan),
            "country": joined["country"],
            "city": joined["city"],
            "state": joined["state"],
            "weight": pc.divide(1.0, pc.cast(joined["inventors"], pa.float64())),
            "organization": column("organization"),
            "field": column("field"),
            "row": joined["row"],
            "no_address": pc.if_else(placed, pa.scalar(None, pa.string()), NO_LOCATION),
            "inventor_id": joined["inventor_id"],
            "inventor_sequence": joined["inventor_sequence"],
            "location_id": joined["location_id"],
            "file": joined["file"],
        },
        n,
    )
