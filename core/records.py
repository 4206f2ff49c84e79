"""Record tables: the input contract, row validation with reasons, fractional weights.

Weights are integers in units of ``1 / WEIGHT_SCALE`` document (fixed point), so every sum
in the flow is exact and independent of partitioning and worker count.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SOURCES = ("patent", "publication", "vc")
REQUIRED_COLUMNS = ("source", "doc_id", "year", "lat", "lon", "country")
OPTIONAL_COLUMNS = ("city", "state", "address", "weight")
# 2**24 units per document: 6e-8 resolution, and 10M full documents sum to 1.7e14, far
# below 2**53, so the clustering kernel's float sums of these integers stay exact.
WEIGHT_SCALE = 1 << 24
YEAR_RANGE = (1800, 2200)
NO_YEAR = -1

REASONS = (
    "bad source",
    "empty doc_id",
    "bad year",
    "missing country",
    "bad country",
    "not geocoded",
    "bad coordinates",
    "bad weight",
)
SOURCE_DTYPE = pd.CategoricalDtype(list(SOURCES))

#: Columns of a checked partition (see :func:`validate_records`).
CHECKED_COLUMNS = {
    "file": "object",
    "row": "int64",
    "reason": "object",
    "value": "object",
    "source": SOURCE_DTYPE,
    "doc_id": "object",
    "year": "int32",
    "lat": "float64",
    "lon": "float64",
    "ilat": "int32",
    "ilon": "int32",
    "country": "object",
    "city": "object",
    "state": "object",
    "address": "object",
    "weight": "float64",
}
#: Columns of the rows that take part in fractional counting (see :func:`keyed_rows`).
KEYED_COLUMNS = ("source", "doc_id", "year", "ilat", "ilon", "country", "weight", "valid")
LOCATION_KEYS = ["source", "year", "ilat", "ilon", "country"]
STAT_KEYS = ["source", "year"]
STAT_COLUMNS = ["docs", "rows", "docs_lost", "rows_lost", "weight_lost"]


def missing_columns(columns: Iterable[str]) -> list[str]:
    """Required columns absent from ``columns``, in contract order."""
    present = set(columns)
    return [c for c in REQUIRED_COLUMNS if c not in present]


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped Python strings; missing values become ``""``."""
    out = values.astype(object).where(values.notna(), "")
    return out.map(str).str.strip().astype(object)


def _raw_text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").map(str).astype(object)


def validate_records(
    raw: pd.DataFrame,
    *,
    rounding_deg: float,
    known_countries: frozenset[str],
) -> pd.DataFrame:
    """Coerce one partition of raw records to the contract and give each bad row a reason.

    Parameters
    ----------
    raw : pandas.DataFrame
        Columns of the input contract (``REQUIRED_COLUMNS`` plus any of
        ``OPTIONAL_COLUMNS``) with ``file`` and ``row`` (where each row came from), any
        dtypes: CSV text and typed Parquet both work.
    rounding_deg : float
        Grid step of the rounded locations ``ilat = round(lat / rounding_deg)``.
    known_countries : frozenset of str
        Valid ISO 3166-1 alpha-2 codes.

    Returns
    -------
    pandas.DataFrame
        ``CHECKED_COLUMNS``: ``reason`` is ``""`` for usable rows, else the first failing
        check of ``REASONS``; ``value`` holds the offending raw value as text. ``year`` is
        ``NO_YEAR`` when unusable; ``weight`` is NaN when the file has no weight column.
    """
    missing = missing_columns(raw.columns)
    if missing:
        raise ValueError(f"records lack required column {missing[0]!r}")
    n = len(raw)
    source = _text(raw["source"]).str.lower()
    doc_id = _text(raw["doc_id"])
    year_num = pd.to_numeric(raw["year"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    lat = pd.to_numeric(raw["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lon = pd.to_numeric(raw["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    country = _text(raw["country"]).str.upper()
    has_weight = "weight" in raw.columns
    weight = (
        pd.to_numeric(raw["weight"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if has_weight
        else np.full(n, np.nan)
    )

    with np.errstate(invalid="ignore"):
        year_ok = (
            np.isfinite(year_num)
            & (year_num == np.round(year_num))
            & (year_num >= YEAR_RANGE[0])
            & (year_num <= YEAR_RANGE[1])
        )
        coords_missing = raw["lat"].isna().to_numpy() | raw["lon"].isna().to_numpy()
        if raw["lat"].dtype == object or str(raw["lat"].dtype).startswith("str"):
            coords_missing |= _text(raw["lat"]).eq("").to_numpy()
        if raw["lon"].dtype == object or str(raw["lon"].dtype).startswith("str"):
            coords_missing |= _text(raw["lon"]).eq("").to_numpy()
        coords_ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        weight_ok = (np.isfinite(weight) & (weight >= 0)) if has_weight else np.ones(n, bool)

    checks = [
        ("bad source", ~source.isin(SOURCES).to_numpy(), raw["source"]),
        ("empty doc_id", doc_id.eq("").to_numpy(), raw["doc_id"]),
        ("bad year", ~year_ok, raw["year"]),
        ("missing country", country.eq("").to_numpy(), raw["country"]),
        ("bad country", ~country.isin(known_countries).to_numpy(), raw["country"]),
        ("not geocoded", coords_missing, None),
        ("bad coordinates", ~coords_ok, None),
        ("bad weight", ~weight_ok, raw["weight"] if has_weight else None),
    ]
    reason = np.full(n, "", dtype=object)
    value = np.full(n, "", dtype=object)
    coords_text = None
    # Later checks first, so the first failing check in contract order wins.
    for name, failed, column in reversed(checks):
        if not failed.any():
            continue
        reason[failed] = name
        if column is None:
            if coords_text is None:
                coords_text = (_raw_text(raw["lat"]) + "," + _raw_text(raw["lon"])).to_numpy()
            value[failed] = coords_text[failed]
        else:
            value[failed] = _raw_text(column).to_numpy()[failed]

    safe_lat = np.where(coords_ok, lat, 0.0)
    safe_lon = np.where(coords_ok, lon, 0.0)
    ilat = np.rint(safe_lat / rounding_deg).astype(np.int32)
    ilon = np.rint(safe_lon / rounding_deg).astype(np.int32)
    # lon = +180 and -180 are the same meridian; keep one grid index for it.
    half_turn = int(round(180.0 / rounding_deg))
    ilon[ilon >= half_turn] -= 2 * half_turn

    def optional(name: str) -> pd.Series:
        if name in raw.columns:
            return _raw_text(raw[name]).where(raw[name].notna(), None).reset_index(drop=True)
        return pd.Series([None] * n, dtype=object)

    out = pd.DataFrame(
        {
            "file": _raw_text(raw["file"]).to_numpy() if "file" in raw else np.full(n, "", object),
            "row": raw["row"].to_numpy(dtype=np.int64) if "row" in raw else np.arange(n),
            "reason": reason,
            "value": value,
            "source": pd.Categorical(source.where(source.isin(SOURCES)), dtype=SOURCE_DTYPE),
            "doc_id": doc_id.to_numpy(),
            "year": np.where(year_ok, np.nan_to_num(year_num), NO_YEAR).astype(np.int32),
            "lat": lat,
            "lon": lon,
            "ilat": ilat,
            "ilon": ilon,
            "country": country.to_numpy(),
            "city": optional("city"),
            "state": optional("state"),
            "address": optional("address"),
            "weight": weight,
        }
    )
    return out


def rejected_rows(checked: pd.DataFrame) -> pd.DataFrame:
    """The rows of a checked partition that have a reason, for ``rejects.parquet``."""
    bad = checked[checked["reason"] != ""]
    return bad.drop(columns=["ilat", "ilon"]).assign(source=bad["source"].astype(object))


def keyed_rows(checked: pd.DataFrame) -> pd.DataFrame:
    """Rows that belong to a document (known source, non-empty doc_id), rejected or not.

    Rejected rows stay so that each document's weight is split over all its input rows,
    as the contract says; their share is then reported as lost.
    """
    keyed = checked[checked["source"].notna() & (checked["doc_id"] != "")]
    return pd.DataFrame(
        {
            "source": keyed["source"],
            "doc_id": keyed["doc_id"],
            "year": keyed["year"],
            "ilat": keyed["ilat"],
            "ilon": keyed["ilon"],
            "country": keyed["country"],
            "weight": keyed["weight"],
            "valid": (keyed["reason"] == "").to_numpy(),
        }
    )


def fractional_weights(rows: pd.DataFrame, *, scale: int = WEIGHT_SCALE) -> pd.DataFrame:
    """Each row's fixed-point weight and its document's year.

    Parameters
    ----------
    rows : pandas.DataFrame
        ``KEYED_COLUMNS``, holding *every* row of each of its documents.
    scale : int
        Fixed-point units per document.

    Returns
    -------
    pandas.DataFrame
        ``rows`` with ``w`` (int64: ``weight × scale`` where a weight was given, else
        ``scale / rows of the document``, rounded) and ``year`` replaced by the document's
        year (earliest valid year on its rows; ``NO_YEAR`` if none).
    """
    groups = rows.groupby(["source", "doc_id"], sort=False, observed=True)
    n_rows = groups["doc_id"].transform("size").to_numpy(dtype=np.float64)
    year = rows["year"].where(rows["year"] != NO_YEAR)
    doc_year = year.groupby([rows["source"], rows["doc_id"]], sort=False, observed=True).transform(
        "min"
    )
    weight = rows["weight"].to_numpy()
    w = np.where(np.isnan(weight), scale / np.maximum(n_rows, 1.0), weight * scale)
    return rows.assign(
        w=np.rint(w).astype(np.int64),
        year=doc_year.fillna(NO_YEAR).astype(np.int32).to_numpy(),
    )


def aggregate_locations(rows: pd.DataFrame) -> pd.DataFrame:
    """Usable rows summed per (source, document year, rounded location, country).

    Parameters
    ----------
    rows : pandas.DataFrame
        Output of :func:`fractional_weights`.

    Returns
    -------
    pandas.DataFrame
        ``LOCATION_KEYS`` + ``w`` (int64 fixed-point weight) + ``rows`` (int64 count).
    """
    kept = rows[rows["valid"] & (rows["year"] != NO_YEAR)]
    out = (
        kept.groupby(LOCATION_KEYS, sort=False, observed=True)
        .agg(w=("w", "sum"), rows=("w", "size"))
        .reset_index()
    )
    return out.astype({"w": np.int64, "rows": np.int64})


def document_stats(rows: pd.DataFrame) -> pd.DataFrame:
    """Documents, rows and weight kept or lost to rejects, per (source, document year).

    A document is lost when all its rows were rejected; ``weight_lost`` is the share
    of kept documents that fell on rejected rows, in fixed-point units.
    """
    doc_has_valid = rows.groupby(["source", "doc_id"], sort=False, observed=True)[
        "valid"
    ].transform("any")
    first = ~rows.duplicated(["source", "doc_id"])
    frame = pd.DataFrame(
        {
            "source": rows["source"],
            "year": rows["year"],
            "docs": (first & doc_has_valid).astype(np.int64),
            "rows": rows["valid"].astype(np.int64),
            "docs_lost": (first & ~doc_has_valid).astype(np.int64),
            "rows_lost": (~rows["valid"]).astype(np.int64),
            "weight_lost": np.where(rows["valid"], 0, rows["w"]).astype(np.int64),
        }
    )
    return frame.groupby(STAT_KEYS, sort=False, observed=True)[STAT_COLUMNS].sum().reset_index()
