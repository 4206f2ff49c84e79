"""Record tables: the input contract, row validation with reasons, fractional weights.

Weights are integers in units of ``1 / WEIGHT_SCALE`` document (fixed point), so every sum
in the flow is exact and independent of partitioning and worker count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.geocoding import METHODS
from core.hashing import hash_text, name_keys
from core.sources import SOURCES

REQUIRED_COLUMNS = ("source", "doc_id", "year")
# Without lat/lon a row is geocoded from country, city, state and address.
OPTIONAL_COLUMNS = (
    "lat",
    "lon",
    "country",
    "city",
    "state",
    "address",
    "weight",
    # Profiles only (core.profiles): applicant or affiliation, IPC code or subject, deal size.
    "organization",
    "field",
    "amount",
)
# 2**24 units per document: 6e-8 resolution, and 10M full documents sum to 1.7e14, far
# below 2**53, so the clustering kernel's float sums of these integers stay exact.
WEIGHT_SCALE = 1 << 24
YEAR_RANGE = (1800, 2200)
# Text that means "no value" in exports from R, Excel, pandas and databases (compared after
# stripping and lower-casing). Only coordinates use it: "NA" is also Namibia's code.
MISSING_WORDS = frozenset({"", "na", "n/a", "#n/a", "nan", "-nan", "null", "#null!", "none", "nil"})
NO_YEAR = -1

REASONS = (
    "bad source",
    "empty doc_id",
    "bad year",
    "bad weight",
    "no address",
    "missing country",
    "bad country",
    "not geocoded",
    "ambiguous place",
    "state only",
    "country only",
    "bad coordinates",
)
SOURCE_DTYPE = pd.CategoricalDtype(list(SOURCES))
REASON_DTYPE = pd.CategoricalDtype(["", *REASONS])
# How a row got its coordinates: "" not placed (rejected before geocoding), "given" in the
# input, else the geocoder's method (core.geocoding.METHODS).
METHOD_DTYPE = pd.CategoricalDtype(["", "given", *METHODS])

#: Columns of a checked partition (see :func:`validate_records`).
CHECKED_COLUMNS = {
    "file": "object",
    "row": "int64",
    "reason": REASON_DTYPE,
    "value": "object",
    "source": SOURCE_DTYPE,
    "doc_id": "str",
    "year": "int32",
    "lat": "float64",
    "lon": "float64",
    "ilat": "int32",
    "ilon": "int32",
    "country": "category",
    "city": "object",
    "state": "object",
    "address": "object",
    "weight": "float64",
    "organization": "object",
    "field": "object",
    "amount": "float64",
    "geocode_method": METHOD_DTYPE,
    "geocode_score": "float64",
    "export": "int64",
}
LOCATION_KEYS = ["source", "year", "ilat", "ilon", "country"]
STAT_KEYS = ["source", "year"]
#: Integer sums of :func:`aggregate_locations` per location and year.
LOCATION_SUMS = ("w", "rows", "intl", "amount")
# Two-letter codes packed as 1 + 26·first + second letter; 0 = not a two-letter code.
N_COUNTRY_CODES = 1 + 26 * 26
YEAR_SPAN = YEAR_RANGE[1] - YEAR_RANGE[0] + 1
STAT_COLUMNS = [
    "docs",
    "rows",
    "docs_lost",
    "rows_lost",
    "weight_lost",
    "docs_duplicate",
    "rows_duplicate",
]


class NoUsableRecords(ValueError):
    """No input row can be ranked; the message (one line) names the leading reasons."""


def leading_reasons(rejected_by_reason: dict[str, int], rows: int, *, top: int = 3) -> str:
    """The ``top`` most frequent reject reasons with counts and shares of ``rows``."""
    ranked = sorted(rejected_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return ", ".join(f"{r} {n:,} ({n / max(rows, 1):.1%})" for r, n in ranked)


def missing_columns(columns: Iterable[str]) -> list[str]:
    """Required columns absent from ``columns``, in contract order, then the partner of a
    lone ``lat`` or ``lon`` (coordinates come in pairs or not at all)."""
    present = set(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if ("lat" in present) != ("lon" in present):
        missing.append("lon" if "lat" in present else "lat")
    return missing


def _missing_text(values: pd.Series) -> np.ndarray:
    """Where text values say "no value": empty, blank or one of :data:`MISSING_WORDS`."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    blank = np.array(
        [isinstance(u, str) and u.strip().lower() in MISSING_WORDS for u in uniques] + [True]
    )
    return blank[codes]


def coordinates_missing(raw: pd.DataFrame) -> np.ndarray:
    """Rows whose ``lat`` or ``lon`` is missing: the column is absent, or the value is NaN,
    None, blank or a missing-value word (:data:`MISSING_WORDS`), in any dtype. Such rows
    are geocoded; any other value that is not a number is a bad coordinate."""
    missing = np.zeros(len(raw), bool)
    for name in ("lat", "lon"):
        if name not in raw:
            return np.ones(len(raw), bool)
        column = raw[name]
        if pd.api.types.is_numeric_dtype(column):
            missing |= column.isna().to_numpy()
        else:
            missing |= _missing_text(column)
    return missing


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped text (pandas' string dtype); missing values become ``""``."""
    return values.astype("str").fillna("").str.strip()


def _iso2(text: str, known: frozenset[str]) -> str:
    """A country as its ISO alpha-2 code: codes as given (upper case), alpha-3 codes, names
    and Web of Science country words converted; anything else kept for the check."""
    code = text.upper()
    if not code or code in known:
        return code
    from core.addresses import normalize_name
    from core.subdivisions import country_names

    hit = country_names().get(normalize_name(text))
    return hit[0] if hit is not None and hit[0] in known else code


def _coded_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes into the stripped text of ``values``' distinct values (missing: ``""``).

    Few distinct values (sources, countries) in many rows: text work per distinct value.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    missing = pd.isna(np.asarray(uniques, dtype=object))
    text = ["" if gone else str(u).strip() for u, gone in zip(uniques, missing, strict=True)]
    return codes.astype(np.int64), np.array(text, dtype=object)


def _categorical(codes: np.ndarray, text: np.ndarray) -> pd.Categorical:
    """Rows ``text[codes]`` as a categorical (``text`` may repeat values)."""
    merged, categories = pd.factorize(text)
    return pd.Categorical.from_codes(merged[codes], categories=categories)


def _raw_text(values: pd.Series) -> pd.Series:
    """Values as text exactly as given; missing values become ``""``."""
    return values.astype("str").fillna("")


_PLACE, _COORDINATES = object(), object()
PLACE_COLUMNS = ("city", "state", "address", "country")


def place_text(raw: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The place the ``rows`` name, as one line: their non-empty ``city, state, address,
    country`` joined by ", " (what a user searches for in rejects and in the summary)."""
    parts = [
        raw[c].to_numpy(dtype=object)[rows] if c in raw else np.full(int(rows.sum()), None)
        for c in PLACE_COLUMNS
    ]
    return np.array(
        [
            ", ".join(str(v).strip() for v in values if isinstance(v, str) and v.strip())
            for values in zip(*parts, strict=True)
        ],
        dtype=object,
    )


def _coordinates_text(raw: pd.DataFrame) -> np.ndarray:
    """``lat,lon`` as given (empty where a column is absent), for rejects."""
    parts = [
        _raw_text(raw[c]) if c in raw else pd.Series("", index=raw.index, dtype=object)
        for c in ("lat", "lon")
    ]
    return (parts[0] + "," + parts[1]).to_numpy(dtype=object)


def _numbers(raw: pd.DataFrame, column: str, n: int) -> np.ndarray:
    """A column as float64 (text that is not a number becomes NaN); all NaN if absent."""
    if column not in raw:
        return np.full(n, np.nan)
    values = pd.to_numeric(raw[column], errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan).copy()


@dataclass(frozen=True)
class Placement:
    """Where each row of a raw table is: given coordinates, else the geocoder's answer."""

    lat: np.ndarray
    lon: np.ndarray
    method: np.ndarray
    """Codes of ``METHOD_DTYPE``: "" (not placed), "given", or the geocoder's method."""
    score: np.ndarray
    country: np.ndarray
    """The economy the geocoder placed a row in (upper case), "" where not geocoded."""
    missing: np.ndarray
    """Rows still without coordinates."""


def place_rows(
    raw: pd.DataFrame,
    *,
    geocoder: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    eligible: np.ndarray | None = None,
) -> Placement:
    """Coordinates of each row: as given (text that is not a number becomes NaN), and from
    ``geocoder`` for the rows that lack them (only ``eligible`` ones, if given)."""
    n = len(raw)
    lat = _numbers(raw, "lat", n)
    lon = _numbers(raw, "lon", n)
    missing = coordinates_missing(raw)
    method = np.where(missing, 0, 1).astype(np.int8)
    score = np.where(missing, np.nan, 1.0)
    country = np.full(n, "", dtype=object)
    need = missing if eligible is None else missing & eligible
    if geocoder is not None and need.any():
        places = pd.DataFrame(
            {
                c: (raw[c][need].to_numpy(dtype=object) if c in raw else None)
                for c in ("city", "state", "country", "address")
            }
        )
        found = geocoder(places)
        lat[need] = found["lat"].to_numpy(np.float64)
        lon[need] = found["lon"].to_numpy(np.float64)
        method[need] = pd.Categorical(
            found["geocode_method"].to_numpy(dtype=object), dtype=METHOD_DTYPE
        ).codes
        score[need] = found["geocode_score"].to_numpy(np.float64)
        country[need] = _text(found["country"]).str.upper().to_numpy(dtype=object)
        missing[need] = np.isnan(lat[need]) | np.isnan(lon[need])
    return Placement(lat=lat, lon=lon, method=method, score=score, country=country, missing=missing)


def geocoded_table(
    raw: pd.DataFrame, geocoder: Callable[[pd.DataFrame], pd.DataFrame]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``raw`` with every row that lacks coordinates geocoded (``icrank geocode``).

    Returns
    -------
    table : pandas.DataFrame
        ``raw`` with float ``lat``, ``lon``, ``geocode_method`` ("given", the geocoder's
        method, or "" where given coordinates are not numbers), ``geocode_score``, and
        ``country`` filled where the geocoder placed a row.
    geocoded, unreadable : numpy.ndarray of bool
        Rows that lacked coordinates; rows whose given coordinates are not numbers.
    """
    placed = place_rows(raw, geocoder=geocoder)
    lacking = coordinates_missing(raw)
    unreadable = ~lacking & (np.isnan(placed.lat) | np.isnan(placed.lon))
    method = pd.Categorical.from_codes(placed.method, dtype=METHOD_DTYPE).astype(object)
    table = raw.assign(
        lat=placed.lat,
        lon=placed.lon,
        geocode_method=np.where(unreadable, "", np.asarray(method, dtype=object)),
        geocode_score=np.where(unreadable, np.nan, placed.score),
    )
    if lacking.any():
        if "country" not in table:
            table["country"] = None
        filled = lacking & (placed.country != "")
        table.loc[filled, "country"] = placed.country[filled]
    return table, lacking, unreadable


def validate_records(
    raw: pd.DataFrame,
    *,
    rounding_deg: float,
    known_countries: frozenset[str],
    geocoder: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    accept_country_level: bool = False,
    reject_ambiguous: bool = False,
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
    geocoder : callable, optional
        ``core.geocoding.geocode``-like: called once with the ``city, state, country,
        address`` of the rows that lack coordinates but pass the other checks; fills
        their coordinates and, where it was missing, their country.
    accept_country_level : bool
        Keep rows placed only at their country's or subdivision's centre (otherwise
        reasons ``country only`` and ``state only``: they would form false clusters at
        centroids).
    reject_ambiguous : bool
        Reject rows whose place name denotes several places (reason ``ambiguous place``)
        instead of keeping them at the most populous.

    Returns
    -------
    pandas.DataFrame
        ``CHECKED_COLUMNS``: ``reason`` is ``""`` for usable rows, else the first failing
        check of ``REASONS``; ``value`` holds the offending raw value as text. ``year`` is
        ``NO_YEAR`` when unusable; ``weight`` is NaN when the file has no weight column.
    """
    missing = missing_columns(raw.columns)
    if missing:
        raise ValueError(f"records lack column {missing[0]!r}")
    n = len(raw)
    codes, uniques = _coded_text(raw["source"])
    lookup = np.array([SOURCES.index(u.lower()) if u.lower() in SOURCES else -1 for u in uniques])
    source_code = lookup[codes].astype(np.int64) if len(lookup) else np.zeros(n, np.int64)
    doc_id = _text(raw["doc_id"])
    year_num = pd.to_numeric(raw["year"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    if "country" in raw:
        country_code, country_text = _coded_text(raw["country"])
        country_text = np.array([_iso2(c, known_countries) for c in country_text], dtype=object)
    else:
        country_code, country_text = np.zeros(n, np.int64), np.array([""], dtype=object)
    has_weight = "weight" in raw.columns
    weight = _numbers(raw, "weight", n)
    no_address = _text(raw["no_address"]) if "no_address" in raw else pd.Series("", index=raw.index)

    with np.errstate(invalid="ignore"):
        year_ok = (
            np.isfinite(year_num)
            & (year_num == np.round(year_num))
            & (year_num >= YEAR_RANGE[0])
            & (year_num <= YEAR_RANGE[1])
        )
        weight_ok = (np.isfinite(weight) & (weight >= 0)) if has_weight else np.ones(n, bool)

    # Only rows that pass the other checks are worth geocoding.
    placed = place_rows(
        raw,
        geocoder=geocoder,
        eligible=(source_code >= 0)
        & doc_id.ne("").to_numpy()
        & year_ok
        & weight_ok
        & no_address.eq("").to_numpy(),
    )
    lat, lon, method, score = placed.lat, placed.lon, placed.method, placed.score
    coords_missing = placed.missing
    fill = (country_text[country_code] == "") & (placed.country != "")
    if fill.any():
        added, added_text = pd.factorize(placed.country[fill])
        country_code[fill] = len(country_text) + added
        country_text = np.r_[country_text, np.asarray(added_text, dtype=object)]
    with np.errstate(invalid="ignore"):
        coords_ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)

    def placed_by(name: str) -> np.ndarray:
        return method == METHOD_DTYPE.categories.get_loc(name)

    country_only = placed_by("country") & (not accept_country_level)
    state_only = placed_by("state") & (not accept_country_level)
    ambiguous = placed_by("ambiguous") & reject_ambiguous

    country = pd.Series(_categorical(country_code, country_text))
    checks = [
        ("bad source", source_code < 0, raw["source"]),
        ("empty doc_id", doc_id.eq("").to_numpy(), raw["doc_id"]),
        ("bad year", ~year_ok, raw["year"]),
        ("bad weight", ~weight_ok, raw["weight"] if has_weight else None),
        # A source reader's own reason for a row it could not place (core.readers).
        ("no address", no_address.ne("").to_numpy(), no_address),
        ("missing country", (country_text == "")[country_code], country),
        ("bad country", ~np.isin(country_text, list(known_countries))[country_code], country),
        ("not geocoded", coords_missing, _PLACE),
        ("ambiguous place", ambiguous, _PLACE),
        ("state only", state_only, _PLACE),
        ("country only", country_only, _PLACE),
        ("bad coordinates", ~coords_ok, _COORDINATES),
    ]
    reason = np.zeros(n, dtype=np.int8)
    value = np.full(n, "", dtype=object)
    # Later checks first, so the first failing check in contract order wins.
    for code, (_, failed, column) in reversed(list(enumerate(checks, start=1))):
        if not failed.any():
            continue
        reason[failed] = code
        if column is _PLACE:
            value[failed] = place_text(raw, failed)
        elif column is _COORDINATES:
            value[failed] = _coordinates_text(raw)[failed]
        else:
            value[failed] = _raw_text(column[failed]).to_numpy(dtype=object)

    safe_lat = np.where(coords_ok, lat, 0.0)
    safe_lon = np.where(coords_ok, lon, 0.0)
    ilat = np.rint(safe_lat / rounding_deg).astype(np.int32)
    ilon = np.rint(safe_lon / rounding_deg).astype(np.int32)
    # lon = +180 and -180 are the same meridian; keep one grid index for it.
    half_turn = int(round(180.0 / rounding_deg))
    ilon[ilon >= half_turn] -= 2 * half_turn

    def as_is(values: np.ndarray | pd.Series) -> pd.api.extensions.ExtensionArray | pd.Series:
        # Kept as given, converted to text only for the few rejected rows; an explicit object
        # Series, since pandas would otherwise re-infer (and copy) object arrays as text.
        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
            return values.array
        return pd.Series(
            np.asarray(values, dtype=object), dtype=object, index=pd.RangeIndex(n), copy=False
        )

    def optional(name: str) -> pd.api.extensions.ExtensionArray:
        return as_is(raw[name] if name in raw.columns else np.full(n, None, dtype=object))

    out = pd.DataFrame(
        {
            "file": as_is(raw["file"] if "file" in raw else np.full(n, "", dtype=object)),
            "row": raw["row"].to_numpy(dtype=np.int64) if "row" in raw else np.arange(n),
            "reason": pd.Categorical.from_codes(reason, dtype=REASON_DTYPE),
            "value": as_is(value),
            "source": pd.Categorical.from_codes(source_code, dtype=SOURCE_DTYPE),
            "doc_id": doc_id.array,
            "year": np.where(year_ok, np.nan_to_num(year_num), NO_YEAR).astype(np.int32),
            "lat": lat,
            "lon": lon,
            "ilat": ilat,
            "ilon": ilon,
            "country": country.array,
            "city": optional("city"),
            "state": optional("state"),
            "address": optional("address"),
            "weight": weight,
            "organization": optional("organization"),
            "field": optional("field"),
            # A size that is no number is no size: the row still counts, the deal has no amount.
            "amount": _numbers(raw, "amount", n),
            "geocode_method": pd.Categorical.from_codes(method, dtype=METHOD_DTYPE),
            "geocode_score": score,
            # 0: a record table; else the source export (file) the row was read from.
            "export": np.zeros(n, np.int64),
        }
    )
    return out


def checked_meta() -> pd.DataFrame:
    """Empty frame with the dtypes of :func:`validate_records`'s output."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in CHECKED_COLUMNS.items()})


def rejected_rows(checked: pd.DataFrame) -> pd.DataFrame:
    """The rows of a checked partition that have a reason, for ``rejects.parquet``."""
    bad = checked[checked["reason"] != ""].drop(columns=["ilat", "ilon"])
    text = [
        "file",
        "reason",
        "value",
        "source",
        "country",
        "city",
        "state",
        "address",
        "organization",
        "field",
        "geocode_method",
    ]
    return bad.assign(**{c: bad[c].astype("str") for c in text})


def _grid(rounding_deg: float) -> tuple[int, int, int]:
    """Offsets and sizes of the rounded grid: (quarter turn, latitude steps, longitude steps)."""
    quarter = int(round(90.0 / rounding_deg))
    return quarter, 2 * quarter + 1, 4 * quarter


def _country_codes(country: pd.Series) -> np.ndarray:
    """1 + 26·first + second letter of two-letter codes; 0 for anything else."""
    codes, uniques = pd.factorize(country, use_na_sentinel=False)
    table = np.array(
        [
            1 + 26 * (ord(c[0]) - 65) + ord(c[1]) - 65
            if isinstance(c, str) and len(c) == 2 and c.isascii() and c.isalpha() and c.isupper()
            else 0
            for c in uniques
        ],
        dtype=np.int64,
    )
    return table[codes] if len(table) else np.zeros(len(country), np.int64)


def pack_locations(
    source_code: np.ndarray,
    ilat: np.ndarray,
    ilon: np.ndarray,
    country_code: np.ndarray,
    *,
    rounding_deg: float,
) -> np.ndarray:
    """One int64 per (source, rounded location, country): grouping on it is a cheap int key."""
    quarter, n_lat, n_lon = _grid(rounding_deg)
    key = source_code.astype(np.int64) * n_lat + (ilat.astype(np.int64) + quarter)
    key = key * n_lon + (ilon.astype(np.int64) + 2 * quarter)
    return key * N_COUNTRY_CODES + country_code


def unpack_locations(loc: np.ndarray, *, rounding_deg: float) -> pd.DataFrame:
    """Inverse of :func:`pack_locations`: ``source, ilat, ilon, country``."""
    quarter, n_lat, n_lon = _grid(rounding_deg)
    loc = np.asarray(loc, dtype=np.int64)
    loc, country = np.divmod(loc, N_COUNTRY_CODES)
    loc, ilon = np.divmod(loc, n_lon)
    source, ilat = np.divmod(loc, n_lat)
    letters = np.array(
        [""] + [chr(65 + a) + chr(65 + b) for a in range(26) for b in range(26)], dtype=object
    )
    return pd.DataFrame(
        {
            "source": pd.Categorical.from_codes(source, dtype=SOURCE_DTYPE),
            "ilat": (ilat - quarter).astype(np.int32),
            "ilon": (ilon - 2 * quarter).astype(np.int32),
            "country": letters[country],
        }
    )


def geocode_counts(checked: pd.DataFrame) -> pd.DataFrame:
    """Rows per (source, geocoding method): ``given`` rows came with coordinates, ``""``
    rows were rejected before geocoding."""
    n_methods = len(METHOD_DTYPE.categories)
    source = checked["source"].cat.codes.to_numpy(np.int64) + 1  # 0: not a known source
    method = checked["geocode_method"].cat.codes.to_numpy(np.int64)
    counts = np.bincount(source * n_methods + method, minlength=(len(SOURCES) + 1) * n_methods)
    nonzero = np.flatnonzero(counts)
    names = np.array(["", *SOURCES], dtype=object)
    return pd.DataFrame(
        {
            "source": names[nonzero // n_methods],
            "method": np.asarray(METHOD_DTYPE.categories, dtype=object)[nonzero % n_methods],
            "rows": counts[nonzero].astype(np.int64),
        }
    )


# Methods of rows the geocoder could not place at a city: the strings to report.
UNPLACED_METHODS = ("unmatched", "state", "country")


def place_strings(checked: pd.DataFrame) -> pd.DataFrame:
    """Rows per (method, place text) for rows geocoded ``ambiguous`` or not placed at a
    city (:data:`UNPLACED_METHODS`), for the summary's most frequent strings."""
    method = checked["geocode_method"].astype(object).to_numpy()
    wanted = np.isin(method, [*UNPLACED_METHODS, "ambiguous"])
    if not wanted.any():
        return pd.DataFrame(
            {"method": pd.Series(dtype=object), "text": pd.Series(dtype=object), "rows": []}
        ).astype({"rows": np.int64})
    rows = checked[wanted]
    text = place_text(rows.assign(country=rows["country"].astype(object)), np.ones(len(rows), bool))
    frame = pd.DataFrame({"method": method[wanted], "text": text, "rows": 1})
    return frame.groupby(["method", "text"], sort=False).sum().reset_index()


def keyed_rows(checked: pd.DataFrame, *, rounding_deg: float) -> pd.DataFrame:
    """Rows that belong to a document (known source, non-empty doc_id), rejected or not.

    Rejected rows stay so that each document's weight is split over all its input rows, as
    the contract says; their share is then reported as lost.

    Returns
    -------
    pandas.DataFrame
        All numeric: ``doc_a``, ``doc_b`` (128-bit key of (source,
        doc_id), see :mod:`core.hashing`), ``year``, ``loc`` (:func:`pack_locations`),
        ``weight``, ``valid``, ``export``, and for profiles ``org`` (key of the
        organisation's name, :func:`core.hashing.name_keys`), ``fld`` (a patent's WIPO
        technology field 1–35, :func:`core.technology.technology_fields`; another source's
        subject key) and ``amount``; 0 (NaN for amounts) where a row gives none.
    """
    source_code = checked["source"].cat.codes.to_numpy(np.int64)
    keep = (source_code >= 0) & (checked["doc_id"] != "").to_numpy()
    source_code = source_code[keep]

    def column(name: str) -> np.ndarray:
        return checked[name].to_numpy()[keep]

    doc_a, doc_b = hash_text(checked["doc_id"][keep], source_code)
    loc = pack_locations(
        source_code,
        column("ilat"),
        column("ilon"),
        _country_codes(checked["country"][keep]),
        rounding_deg=rounding_deg,
    )
    return pd.DataFrame(
        {
            "doc_a": doc_a,
            "doc_b": doc_b,
            "year": column("year").astype(np.int32),
            "loc": loc,
            "weight": column("weight").astype(np.float64),
            "valid": (checked["reason"].cat.codes.to_numpy() == 0)[keep],
            "export": column("export").astype(np.int64),
            "org": name_keys(checked["organization"][keep]),
            "fld": _field_keys(checked["field"][keep], source_code),
            "amount": column("amount").astype(np.float64),
        }
    )


def _field_keys(field: pd.Series, source_code: np.ndarray) -> np.ndarray:
    """Patents' IPC codes as WIPO technology fields (1–35); other sources' subjects keyed."""
    keys = name_keys(field)
    patent = (source_code == SOURCES.index("patent")) & (keys != 0)
    if patent.any():
        from core.technology import technology_fields

        keys[patent] = technology_fields(field[patent].to_numpy(dtype=object)).astype(np.int64)
    return keys


def fractional_weights(rows: pd.DataFrame, *, scale: int = WEIGHT_SCALE) -> pd.DataFrame:
    """Each row's fixed-point weight and its document's year.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`keyed_rows` output holding *every* row of each of its documents.
    scale : int
        Fixed-point units per document.

    Returns
    -------
    pandas.DataFrame
        ``rows`` with ``w`` (int64: ``weight × scale`` where a weight was given, else
        ``scale / rows of the document``, rounded), ``year`` replaced by the document's year
        (earliest valid year on its rows; ``NO_YEAR`` if none), ``doc_first`` (the
        document's first row here), ``doc_kept`` (the document has a usable row),
        ``duplicate``: the row belongs to a second export of a document read from a source
        format (``export`` > 0: the same UT, EID, work id or deal in two overlapping exports),
        so the document counts once, from its first export; ``intl``: the document has
        usable rows in more than one economy (international co-operation); ``amount_part``:
        the row's part of its document's amount (the largest on its rows, shared like the
        count), in whole units (int64, so that sums are exact).
    """
    if rows.empty:
        return rows.assign(
            w=np.zeros(0, np.int64),
            doc_first=np.zeros(0, bool),
            doc_kept=np.zeros(0, bool),
            duplicate=np.zeros(0, bool),
            doc_duplicate=np.zeros(0, bool),
            intl=np.zeros(0, bool),
            amount_part=np.zeros(0, np.int64),
        )
    # Sort by document so each one is a run: run-length sums beat hash groupbys here.
    doc_a, doc_b = rows["doc_a"].to_numpy(), rows["doc_b"].to_numpy()
    order = np.argsort(doc_a, kind="stable")
    a, b = doc_a[order], doc_b[order]
    same_a = a[1:] == a[:-1]
    if (same_a & (b[1:] != b[:-1])).any():
        # Two documents share their first hash (about once in 10^12 pairs): sort on both.
        order = np.lexsort((doc_b, doc_a))
        a, b = doc_a[order], doc_b[order]
        same_a = a[1:] == a[:-1]
    is_start = np.r_[True, ~same_a | (b[1:] != b[:-1])]
    starts = np.flatnonzero(is_start)
    doc = np.empty(len(order), np.int64)
    doc[order] = np.cumsum(is_start) - 1
    export = rows["export"].to_numpy(np.int64)
    duplicate = export != np.minimum.reduceat(export[order], starts)[doc]
    n_rows = np.add.reduceat((~duplicate[order]).astype(np.int64), starts)
    year = np.where(duplicate, NO_YEAR, rows["year"].to_numpy(np.int64))[order]
    never = np.iinfo(np.int64).max
    # Earliest valid year per document: NO_YEAR rows must not win the minimum.
    earliest = np.minimum.reduceat(np.where(year == NO_YEAR, never, year), starts)
    doc_year = np.where(earliest == never, NO_YEAR, earliest)[doc]
    usable = rows["valid"].to_numpy()
    valid = usable & ~duplicate
    kept = np.add.reduceat(valid[order].astype(np.int64), starts) > 0
    first = np.zeros(len(order), bool)
    first[order[starts]] = True
    doc_duplicate = np.add.reduceat(duplicate[order].astype(np.int64), starts) > 0
    weight = rows["weight"].to_numpy()
    w = np.where(np.isnan(weight), scale / np.maximum(n_rows[doc], 1), weight * scale)
    w = np.where(duplicate, 0, np.rint(w).astype(np.int64))
    # Economies of a document's usable rows: international when the smallest and the
    # largest country code differ.
    country = np.where(valid, rows["loc"].to_numpy() % N_COUNTRY_CODES, -1)[order]
    high = np.maximum.reduceat(country, starts)
    low = np.minimum.reduceat(np.where(country < 0, N_COUNTRY_CODES, country), starts)
    given = rows["amount"].to_numpy(np.float64) if "amount" in rows else np.full(len(rows), np.nan)
    amount = np.fmax.reduceat(given[order], starts)[doc]
    with np.errstate(invalid="ignore"):
        amount_part = np.where(np.isfinite(amount), np.rint(amount * (w / scale)), 0)
    return rows.assign(
        w=w,
        year=doc_year.astype(np.int32),
        valid=valid,
        doc_first=first,
        doc_kept=kept[doc],
        # Rejected rows of a second export stay rejects; the usable ones are duplicates.
        duplicate=duplicate & usable,
        doc_duplicate=doc_duplicate[doc],
        intl=(high > low)[doc],
        amount_part=amount_part.astype(np.int64),
    )


def aggregate_locations(rows: pd.DataFrame) -> pd.DataFrame:
    """Usable rows summed per (packed location, document year).

    Parameters
    ----------
    rows : pandas.DataFrame
        Output of :func:`fractional_weights`.

    Returns
    -------
    pandas.DataFrame
        ``key`` (``loc × YEAR_SPAN + year offset``), ``w`` (int64 fixed-point weight),
        ``rows`` (int64 count), ``intl`` (the weight of internationally co-operating
        documents) and ``amount`` (int64 sum of amount parts).
    """
    kept = rows["valid"].to_numpy() & (rows["year"].to_numpy() != NO_YEAR)
    key = rows["loc"].to_numpy()[kept] * YEAR_SPAN + (
        rows["year"].to_numpy(np.int64)[kept] - YEAR_RANGE[0]
    )
    if not len(key):
        return pd.DataFrame({"key": key, "w": key, "rows": key, "intl": key, "amount": key})
    # Sort-based sums in int64: exact for any weight, unlike a float bincount.
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    w = rows["w"].to_numpy()[kept]
    return pd.DataFrame(
        {
            "key": key[starts],
            "w": np.add.reduceat(w[order], starts),
            "rows": np.diff(np.r_[starts, len(key)]).astype(np.int64),
            "intl": np.add.reduceat(np.where(rows["intl"].to_numpy()[kept], w, 0)[order], starts),
            "amount": np.add.reduceat(rows["amount_part"].to_numpy()[kept][order], starts),
        }
    )


def sorted_stats(stats: pd.DataFrame) -> pd.DataFrame:
    """:func:`document_stats` sums in (source, year) order, sources in table order."""
    stats = stats.assign(source=pd.Categorical(stats["source"].astype(object), categories=SOURCES))
    return stats.sort_values(STAT_KEYS, kind="stable", ignore_index=True)


def location_years(locations: pd.DataFrame) -> np.ndarray:
    """Distinct document years in :func:`aggregate_locations` output."""
    return np.unique(locations["key"].to_numpy(np.int64) % YEAR_SPAN) + YEAR_RANGE[0]


def window_locations(
    locations: pd.DataFrame, *, start_year: int, end_year: int, rounding_deg: float
) -> pd.DataFrame:
    """Rows of documents dated ``start_year``–``end_year``, summed per location and country.

    Parameters
    ----------
    locations : pandas.DataFrame
        :func:`aggregate_locations` output (any number of partitions' worth, summed or not).
    start_year, end_year : int
        The window, inclusive.
    rounding_deg : float
        Grid of the packed locations.

    Returns
    -------
    pandas.DataFrame
        ``source, ilat, ilon, country`` and the sums ``LOCATION_SUMS`` (``w, rows, intl,
        amount``), sorted by (source, ilat, ilon, country),
        with integer keys ``site`` (one per source and location) and ``place`` (one per
        location, all sources together).
    """
    loc, year = np.divmod(locations["key"].to_numpy(np.int64), YEAR_SPAN)
    year += YEAR_RANGE[0]
    inside = (year >= start_year) & (year <= end_year)
    summed = (
        pd.DataFrame(
            {
                "loc": loc[inside],
                **{c: locations[c].to_numpy(np.int64)[inside] for c in LOCATION_SUMS},
            }
        )
        .groupby("loc", sort=True)
        .sum()
    )
    # Mixed-radix packing sorts like (source, ilat, ilon, country).
    loc = summed.index.to_numpy()
    keys = unpack_locations(loc, rounding_deg=rounding_deg)
    _, n_lat, n_lon = _grid(rounding_deg)
    site = loc // N_COUNTRY_CODES
    return keys.assign(
        **{c: summed[c].to_numpy(np.int64) for c in LOCATION_SUMS},
        site=site,
        place=site % (n_lat * n_lon),
    )


def document_stats(rows: pd.DataFrame, *, rounding_deg: float) -> pd.DataFrame:
    """Documents, rows and weight kept or lost to rejects, per (source, document year).

    A document is lost when all its rows were rejected; ``weight_lost`` is the part of kept
    documents that fell on rejected rows, in fixed-point units.
    """
    _, n_lat, n_lon = _grid(rounding_deg)
    valid = rows["valid"].to_numpy()
    first = rows["doc_first"].to_numpy()
    kept = rows["doc_kept"].to_numpy()
    duplicate = rows["duplicate"].to_numpy()
    frame = pd.DataFrame(
        {
            "source": rows["loc"].to_numpy() // (n_lat * n_lon * N_COUNTRY_CODES),
            "year": rows["year"].to_numpy(),
            "docs": first & kept,
            "rows": valid,
            "docs_lost": first & ~kept,
            "rows_lost": ~valid & ~duplicate,
            "weight_lost": np.where(valid | duplicate, 0, rows["w"].to_numpy()),
            # Counted where the duplicate rows' document is: the first row's year.
            "docs_duplicate": first & rows["doc_duplicate"].to_numpy(),
            "rows_duplicate": duplicate,
        }
    )
    out = frame.groupby(["source", "year"], sort=True)[STAT_COLUMNS].sum().reset_index()
    out = out.astype({c: np.int64 for c in STAT_COLUMNS})
    return out.assign(source=pd.Categorical.from_codes(out["source"], dtype=SOURCE_DTYPE))
