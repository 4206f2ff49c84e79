"""SYNTHETIC demo data built from real city coordinates and populations (GeoNames).

Nothing produced here is WIPO data: points and records are random draws, seeded for
reproducibility, that only borrow where cities are and how large they are.

* :func:`sample_city_points` scatters bare points around cities.
* :func:`generate_demo_world` (and its Dask-friendly pieces :func:`demo_chunk_count`,
  :func:`generate_demo_chunk`) draws a synthetic record table of patent inventors,
  publication authors and VC deal locations, one row per person or location, with
  heavy-tailed activity by city and mostly domestic co-inventors.
* :func:`load_demo_calibration` is the table of public figures (``core/data/
  demo_calibration.csv``: national PCT filings and publication counts, the GII's published
  cluster counts, metro VC investment, each with its publisher, title and year) that sets how
  much of each source the synthetic world puts in each country and in the named hubs. The
  figures only steer where random records fall: the records, and any ranking made from
  them, remain SYNTHETIC and are never WIPO's.
"""

from __future__ import annotations

import hashlib
import operator
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

KM_PER_DEGREE = 6371.0088 * np.pi / 180.0


def sample_city_points(
    cities: pd.DataFrame, n: int, *, sigma_km: float = 5.0, seed: int = 0
) -> np.ndarray:
    """Points scattered around cities, each city drawn with probability ∝ its population.

    Parameters
    ----------
    cities : pandas.DataFrame
        Columns ``lat``, ``lon``, ``population`` (e.g. ``core.gazetteer.load_cities()``).
    n : int
        Number of points.
    sigma_km : float
        Standard deviation of the Gaussian scatter on the ground, in km, per axis.
    seed : int
        Seed of the random generator.

    Returns
    -------
    numpy.ndarray of shape (n, 2)
        Latitude, longitude in degrees.
    """
    if n < 0 or sigma_km < 0:
        raise ValueError("n and sigma_km must be >= 0")
    rng = np.random.default_rng(seed)
    p = cities["population"].to_numpy(dtype=np.float64)
    idx = rng.choice(len(cities), size=n, p=p / p.sum())
    lat0 = cities["lat"].to_numpy(dtype=np.float64)[idx]
    lon0 = cities["lon"].to_numpy(dtype=np.float64)[idx]
    dy, dx = rng.normal(0.0, sigma_km, (2, n))
    lat = np.clip(lat0 + dy / KM_PER_DEGREE, -90.0, 90.0)
    coslat = np.maximum(np.cos(np.radians(lat0)), 1e-6)
    lon = (lon0 + dx / (KM_PER_DEGREE * coslat) + 180.0) % 360.0 - 180.0
    return np.c_[lat, lon]


# --------------------------------------------------------------------------------------
# The synthetic record world: patents, publications and VC deals around real cities.
# --------------------------------------------------------------------------------------

DEMO_SOURCES: tuple[str, ...] = ("patent", "publication", "vc")
DEMO_YEARS: tuple[int, int] = (2018, 2025)

DEMO_COLUMNS: tuple[str, ...] = (
    "source",
    "doc_id",
    "year",
    "lat",
    "lon",
    "country",
    "city",
    "state",
    "address",
    # Profile columns, after the contract's: organisation (applicant, affiliation, startup or
    # investor; synthetic names), field (IPC symbol or subject; none for deals), deal amount.
    "organization",
    "field",
    "amount",
)

# Documents per chunk, whatever the scale: bounds the memory of one chunk (~65k rows, a few
# MB) so that a Dask worker never holds more than that per task.
_DOCS_PER_CHUNK = 20_000

# Above this many km a same-country city no longer counts as "nearby" for co-inventors.
_NEARBY_MAX_KM = 150.0
# Candidate neighbours looked up per city (before dropping other countries and far ones).
_NEARBY_K = 12
# Distance decay of the choice among nearby cities: collaborators cluster within commuting
# distance rather than anywhere in the region.
_NEARBY_DECAY_KM = 40.0


@dataclass(frozen=True)
class _SourceModel:
    """Tuning of one source; the numbers are plausible shapes, not estimates of anything
    (the estimates are the calibration table's)."""

    prefix: str
    docs: int  # documents at scale 1
    alpha: float  # exponent of population in the city weight
    country_sigma: float  # log-sd of the source part of an unlisted country's intensity
    city_sigma: float  # log-sd of the source-specific part of the city factor
    international: float  # share of extra rows placed in a world-drawn city
    same_city: float  # share of extra rows in the first row's city
    growth: float  # yearly growth of the document count


# Publications are the least concentrated (universities are everywhere), VC the most
# (a handful of hubs take most deals); patents sit in between.
_MODELS: dict[str, _SourceModel] = {
    "patent": _SourceModel("P", 60_000, 1.10, 0.5, 0.7, 0.08, 0.55, 0.03),
    "publication": _SourceModel("A", 150_000, 0.95, 0.4, 0.5, 0.12, 0.50, 0.05),
    "vc": _SourceModel("V", 15_000, 1.25, 0.5, 0.7, 0.10, 0.60, 0.06),
}
# Shared log-sd of country and city effects: places strong in one source tend to be strong
# in all, as in real innovation data.
_COUNTRY_SIGMA_SHARED = 0.6
_CITY_SIGMA_SHARED = 0.6


# --------------------------------------------------------------------------------------
# Calibration: public figures that set how much of each source falls in each country and
# in the named hubs (core/data/demo_calibration.csv, credited row by row).
# --------------------------------------------------------------------------------------

CALIBRATION_FILE = "demo_calibration.csv"
# A gazetteer city within this distance of a hub's anchor city belongs to the hub: about
# the clustering radius (eps-km 13), so the hub's figure stays on its named cities and
# their districts rather than on outer suburbs that would then name the cluster.
_HUB_RADIUS_KM = 12.0
# Part of a country's figure always left outside its hubs, so that a country whose hubs
# already exhaust its national total still has activity elsewhere.
_NATIONAL_FLOOR = 0.15
# Part of the world left to the countries the table does not list, at least.
_WORLD_FLOOR = 0.05
# Factor on the log of the lognormal city factor inside hubs (1 elsewhere).
_HUB_CITY_DAMPING = 0.25


@dataclass(frozen=True)
class _Calibration:
    """The calibration table as world shares (fractions of each source's world total)."""

    country: dict[str, dict[str, float]]  # source -> ISO code -> share
    hub_names: tuple[str, ...]
    hub_countries: tuple[frozenset[str], ...]
    anchor_lat: np.ndarray  # one entry per anchor city
    anchor_lon: np.ndarray
    anchor_hub: np.ndarray  # hub index of each anchor
    hub_share: dict[str, np.ndarray]  # source -> share per hub (0: no figure)
    coverage: dict[str, float]  # source -> share of the world the top-100 clusters hold


def load_demo_calibration() -> pd.DataFrame:
    """The public figures that calibrate the SYNTHETIC demo world, one row per figure.

    The figures (national PCT filings and publication counts, the GII 2023 cluster table's
    PCT and publication counts, metro VC investment, the GII 2025 summary's concentration
    shares) only decide where the random records of :func:`generate_demo_world` fall; the
    records themselves stay synthetic, and nothing ranked from them is a WIPO figure.

    Returns
    -------
    pandas.DataFrame
        Columns ``level`` (``world``, ``country`` or ``hub``), ``key`` (figure name, ISO
        code or cluster name), ``source``, ``value``, ``unit``, ``countries`` and
        ``anchors`` (hubs: ISO codes; ``lat lon`` of the named cities, ``;``-separated),
        ``anchor_names``, ``publisher``, ``title``, ``year``, ``note``.
    """
    return _calibration_table().copy()


@lru_cache(maxsize=1)
def _calibration_table() -> pd.DataFrame:
    path = resources.files("core").joinpath("data", CALIBRATION_FILE)
    with path.open("r", encoding="utf-8") as fh:
        # "NA" is Namibia, not a missing value.
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    table["value"] = table["value"].astype(np.float64)
    return table


@lru_cache(maxsize=1)
def _calibration() -> _Calibration:
    table = _calibration_table()
    world = table[table["level"] == "world"]

    def figure(key: str, source: str) -> float:
        return float(
            world.loc[(world["key"] == key) & (world["source"] == source), "value"].iloc[0]
        )

    def share(row: pd.Series, total: float) -> float:
        return row["value"] / 100.0 if row["unit"].startswith("percent") else row["value"] / total

    country: dict[str, dict[str, float]] = {s: {} for s in DEMO_SOURCES}
    for _, row in table[table["level"] == "country"].iterrows():
        country[row["source"]][row["key"]] = share(row, figure("total", row["source"]))

    hubs = table[table["level"] == "hub"]
    names = tuple(dict.fromkeys(hubs["key"]))
    index = {name: i for i, name in enumerate(names)}
    # The GII counts deals and the metro table dollars, which concentrate more: scale metro
    # shares so that the metro top 10 holds what the GII's top 10 clusters hold of deals.
    vc_factor = figure("top10_share", "vc") / figure("top10_share", "vc_amount")
    hub_share = {s: np.zeros(len(names)) for s in DEMO_SOURCES}
    totals = {
        "patent": figure("total", "patent_clusters"),
        "publication": figure("total", "publication_clusters"),
        "vc": figure("total", "vc") / vc_factor,
    }
    for _, row in hubs.iterrows():
        hub_share[row["source"]][index[row["key"]]] = share(row, totals[row["source"]])
    first = hubs.drop_duplicates("key").set_index("key")
    lat, lon, owner = [], [], []
    for name in names:
        for point in first.loc[name, "anchors"].split(";"):
            a, b = point.split()
            lat.append(float(a))
            lon.append(float(b))
            owner.append(index[name])
    return _Calibration(
        country=country,
        hub_names=names,
        hub_countries=tuple(frozenset(first.loc[n, "countries"].split()) for n in names),
        anchor_lat=np.array(lat),
        anchor_lon=np.array(lon),
        anchor_hub=np.array(owner, dtype=np.int64),
        hub_share=hub_share,
        coverage={s: figure("top100_share", s) / 100.0 for s in DEMO_SOURCES},
    )


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.c_[np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]


def _hub_members(cal: _Calibration, xyz: np.ndarray, country: np.ndarray) -> np.ndarray:
    """Hub index of every city (-1: none): the nearest anchor within the hub radius."""
    from scipy.spatial import cKDTree

    dist, nearest = cKDTree(_unit_xyz(cal.anchor_lat, cal.anchor_lon)).query(xyz, k=1)
    hub = np.where(dist * 6371.0088 <= _HUB_RADIUS_KM, cal.anchor_hub[nearest], -1)
    for h in np.unique(hub[hub >= 0]):
        # A cross-border hub takes only the economies the GII names for it.
        foreign = (hub == h) & ~np.isin(country, list(cal.hub_countries[h]))
        hub[foreign] = -1
    return hub


def _exp_scaled(log_w: np.ndarray) -> np.ndarray:
    return np.exp(log_w - log_w[np.isfinite(log_w)].max())


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def _calibrated_weights(
    source: str,
    w_city: np.ndarray,
    w_country: np.ndarray,
    country_idx: np.ndarray,
    codes: np.ndarray,
    hub: np.ndarray,
    cal: _Calibration,
) -> np.ndarray:
    """First-city weights of one source whose expected country and hub shares are the table's.

    ``w_city`` (population^α × lognormal city factor) splits a hub's figure among its
    cities and a country's remainder among its other cities; countries the table does not
    list share what the listed ones leave, in proportion to ``w_city`` × ``w_country``.
    """
    n_countries = len(codes)
    share = cal.hub_share[source]
    in_hub = hub >= 0
    in_hub[in_hub] = share[hub[in_hub]] > 0
    w = np.zeros(len(w_city))
    h = hub[in_hub]
    per_hub = np.bincount(h, weights=w_city[in_hub], minlength=len(share))
    w[in_hub] = share[h] * _safe_ratio(w_city[in_hub], per_hub[h])

    hub_part = np.bincount(country_idx, weights=w, minlength=n_countries)
    national = np.array([cal.country[source].get(c, np.nan) for c in codes])
    # A country known only by its hubs: the hubs hold the GII's top-100 share of it.
    total = np.where(np.isfinite(national), national, hub_part / cal.coverage[source])
    listed = np.isfinite(national) | (hub_part > 0)
    rest = np.where(listed, np.maximum(total - hub_part, _NATIONAL_FLOOR * total), 0.0)

    free = ~in_hub
    domestic = free & listed[country_idx]
    c = country_idx[domestic]
    per_country = np.bincount(c, weights=w_city[domestic], minlength=n_countries)
    w[domestic] = rest[c] * _safe_ratio(w_city[domestic], per_country[c])

    abroad = free & ~listed[country_idx]
    world_rest = max(1.0 - total[listed].sum(), _WORLD_FLOOR)
    wa = w_city[abroad] * w_country[country_idx[abroad]]
    w[abroad] = world_rest * _safe_ratio(wa, np.full(len(wa), wa.sum()))
    return w


# --------------------------------------------------------------------------------------
# Profile columns: organisations, fields and deal amounts (all SYNTHETIC).
# --------------------------------------------------------------------------------------

# IPC symbols as PATSTAT writes them (subclass, main group right-aligned in four
# characters, "/", subgroup), one or two per WIPO technology field. The weights: computer
# technology's 10.2 % and the order of the next four fields, which together make about two
# fifths of published PCT applications, are WIPO's figures for 2023 (PCT Yearly Review
# 2024); the rest share what is left evenly.
PATENT_FIELDS: tuple[tuple[str, float], ...] = (
    ("G06F  16/00", 10.2),  # computer technology
    ("H04L  29/06", 5.0),  # digital communication
    ("H04W  72/04", 4.0),  # digital communication
    ("H01M  10/05", 8.0),  # electrical machinery, apparatus, energy
    ("A61B   5/00", 7.0),  # medical technology
    ("A61K  31/00", 5.5),  # pharmaceuticals
    ("H01L  21/02", 4.0),  # semiconductors
    ("H04N  19/00", 4.0),  # audio-visual technology
    ("H04B   7/06", 4.0),  # telecommunications
    ("G02B   6/00", 4.0),  # optics
    ("G01N  33/00", 4.0),  # measurement
    ("C12N  15/00", 4.0),  # biotechnology
    ("C07D 401/14", 4.0),  # organic fine chemistry
    ("B60L  53/00", 4.0),  # transport
    ("F16H  57/00", 4.0),  # mechanical elements
    ("E04B   1/00", 4.0),  # civil engineering
    ("A23L  33/00", 4.0),  # food chemistry
    ("C22C  38/00", 4.0),  # materials, metallurgy
    ("G05B  19/00", 4.0),  # control
    ("G06Q  10/00", 4.0),  # IT methods for management
)
# Subject names as OpenAlex's fields; the weights are a plausible shape only.
PUBLICATION_FIELDS: tuple[tuple[str, float], ...] = (
    ("Medicine", 20.0),
    ("Engineering", 10.0),
    ("Computer Science", 9.0),
    ("Biochemistry, Genetics and Molecular Biology", 9.0),
    ("Physics and Astronomy", 7.0),
    ("Chemistry", 7.0),
    ("Materials Science", 7.0),
    ("Agricultural and Biological Sciences", 6.0),
    ("Environmental Science", 5.0),
    ("Mathematics", 4.0),
    ("Neuroscience", 3.0),
    ("Immunology and Microbiology", 3.0),
    ("Earth and Planetary Sciences", 3.0),
    ("Chemical Engineering", 3.0),
    ("Energy", 2.0),
    ("Pharmacology, Toxicology and Pharmaceutics", 2.0),
)
_FIELDS = {"patent": PATENT_FIELDS, "publication": PUBLICATION_FIELDS}
# Log-sd of a country's and a city's tilt of each field's weight: places differ in their
# technology and science mix, neighbours in one country less than countries do.
_FIELD_SIGMA_COUNTRY = 0.5
_FIELD_SIGMA_CITY = 0.8
# Organisations of a city are ranked 1, 2, ...; each next one has this share of what is
# left (geometric): the first holds about 40 %, so a cluster has a clear leader.
_ORG_P = 0.4
# Labels of the synthetic organisation names, never a real organisation's name.
_ORG_LABELS = {"patent": "Applicant", "publication": "Institute", "vc": "Investor"}
_VC_COMPANY_LABEL = "Startup"
# Deal sizes in USD: lognormal, median 3 M, a heavy upper tail (a few rounds of 100 M+).
_AMOUNT_MEDIAN_USD = 3e6
_AMOUNT_LOG_SD = 1.8


@dataclass(frozen=True)
class _WorldParams:
    """Per-city quantities shared by every chunk of one (seed, cities) world."""

    cdf: dict[str, np.ndarray]  # cumulative first-city weights per source
    field_cdf: dict[str, np.ndarray]  # (n_cities, fields) cumulative field mix, last = 1
    org_count: np.ndarray  # organisations per city
    neighbours: np.ndarray  # (n_cities, K) nearby same-country city indices
    neighbour_cdf: np.ndarray  # (n_cities, K) cumulative choice probabilities, last = 1
    sigma_km: np.ndarray  # scatter of sites around each city
    site_start: np.ndarray  # first site of each city in site_dy / site_dx
    site_count: np.ndarray  # sites per city
    site_dy: np.ndarray  # km north of the city centre, per site
    site_dx: np.ndarray  # km east of the city centre, per site
    lat: np.ndarray
    lon: np.ndarray
    name: np.ndarray  # object arrays, gathered per row
    country: np.ndarray
    admin1: np.ndarray


_PARAMS_CACHE: dict[tuple[int, str], _WorldParams] = {}
_PARAMS_CACHE_SIZE = 4
# Dask's threaded scheduler runs chunks concurrently; evicting while another thread inserts
# must not raise.
_PARAMS_LOCK = threading.Lock()

# Distinct streams for the world parameters and for each chunk. Not default_rng([seed,
# chunk]): SeedSequence pads short entropy with zeros, so [seed, 0] would replay seed's
# own stream, the one the parameters use.
_PARAMS_STREAM, _CHUNK_STREAM = 0, 1


def _seed_sequence(seed: int, stream: int, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(stream, index))


def _source_counts(scale: float) -> dict[str, int]:
    # At least one document per source so that tiny scales still exercise every source.
    return {s: max(1, round(m.docs * scale)) for s, m in _MODELS.items()}


def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    return scale


def _check_seed(seed: int) -> int:
    try:
        seed = operator.index(seed)
    except TypeError:
        raise ValueError(f"seed must be an integer, got {seed!r}") from None
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return seed


def demo_chunk_count(*, scale: float = 1.0) -> int:
    """Number of chunks of the SYNTHETIC demo world at ``scale``.

    The demo world is synthetic: random records borrowing real GeoNames city coordinates
    and populations, never WIPO figures. Every chunk holds the same number of documents
    (the last one possibly fewer), all three sources mixed in proportion.

    Parameters
    ----------
    scale : float
        Size of the world relative to the default (1.0 ≈ 225k documents, ≈ 700k rows).
        Must be > 0.

    Returns
    -------
    int
        ``ceil(documents / documents_per_chunk)``, at least 1.

    Raises
    ------
    ValueError
        If ``scale`` is not a finite number > 0.
    """
    total = sum(_source_counts(_check_scale(scale)).values())
    return max(1, -(-total // _DOCS_PER_CHUNK))


def _world_params(cities: pd.DataFrame, seed: int) -> _WorldParams:
    if not isinstance(cities, pd.DataFrame):
        raise ValueError(f"cities must be a pandas DataFrame, got {type(cities).__name__}")
    missing = {"name", "lat", "lon", "country", "admin1", "population"} - set(cities.columns)
    if missing:
        raise ValueError(f"cities lacks columns {sorted(missing)}")
    # Keyed on content, not id(): a reused or mutated frame must not hit a stale entry.
    h = hashlib.blake2b(digest_size=16)
    for col in ("lat", "lon", "population"):
        h.update(np.ascontiguousarray(cities[col].to_numpy(dtype=np.float64)).tobytes())
    strings = {}
    for col in ("name", "country", "admin1"):
        strings[col] = cities[col].fillna("").astype(str).to_numpy(dtype=object)
        h.update("\x1f".join(strings[col]).encode() + b"\x1e")
    key = (int(seed), h.hexdigest())
    with _PARAMS_LOCK:
        params = _PARAMS_CACHE.get(key)
    if params is None:
        # Built outside the lock (~0.1 s); two threads may both build, with equal results.
        params = _build_world_params(cities, strings, int(seed))
        with _PARAMS_LOCK:
            while len(_PARAMS_CACHE) >= _PARAMS_CACHE_SIZE:
                _PARAMS_CACHE.pop(next(iter(_PARAMS_CACHE)))
            _PARAMS_CACHE[key] = params
    return params


def _build_world_params(
    cities: pd.DataFrame, strings: dict[str, np.ndarray], seed: int
) -> _WorldParams:
    from scipy.spatial import cKDTree

    n = len(cities)
    if n == 0:
        raise ValueError("cities is empty")
    lat = cities["lat"].to_numpy(dtype=np.float64)
    lon = cities["lon"].to_numpy(dtype=np.float64)
    pop = np.maximum(cities["population"].to_numpy(dtype=np.float64), 0.0)
    if not (np.isfinite(lat).all() and np.isfinite(lon).all() and np.isfinite(pop).all()):
        raise ValueError("cities lat, lon and population must be finite")
    if pop.sum() <= 0:
        raise ValueError("cities must have a positive total population")
    country = strings["country"]
    codes, country_idx = np.unique(country, return_inverse=True)

    # Seeded by `seed` alone (not the chunk) so that every chunk sees the same world.
    rng = np.random.default_rng(_seed_sequence(seed, _PARAMS_STREAM, 0))
    shared_country = rng.normal(0.0, _COUNTRY_SIGMA_SHARED, len(codes))
    shared_city = rng.normal(0.0, _CITY_SIGMA_SHARED, n)
    xyz = _unit_xyz(lat, lon)
    cal = _calibration()
    hub = _hub_members(cal, xyz, country)
    cdf = {}
    for source in DEMO_SOURCES:
        m = _MODELS[source]
        log_country = shared_country + rng.normal(0.0, m.country_sigma, len(codes))
        log_city = shared_city + rng.normal(0.0, m.city_sigma, n)
        with np.errstate(divide="ignore"):
            log_pop = m.alpha * np.log(pop)
        # Inside a hub the city factor is damped: the city the GII names the cluster after
        # stays its centre rather than a suburb that drew a lucky factor.
        log_city = np.where(hub >= 0, _HUB_CITY_DAMPING * log_city, log_city)
        # Subtract the max before exp: lognormal tails times pop^alpha overflow otherwise.
        w_city = _exp_scaled(log_pop + log_city)
        w_country = _exp_scaled(log_country)
        w = _calibrated_weights(source, w_city, w_country, country_idx, codes, hub, cal)
        cdf[source] = np.cumsum(w)

    field_cdf = {}
    for source, fields in _FIELDS.items():
        base = np.log([weight for _, weight in fields])
        tilt = rng.normal(0.0, _FIELD_SIGMA_COUNTRY, (len(codes), len(fields)))[
            country_idx
        ] + rng.normal(0.0, _FIELD_SIGMA_CITY, (n, len(fields)))
        mix = np.cumsum(np.exp(base + tilt), axis=1)
        field_cdf[source] = mix / mix[:, -1:]

    # Nearby cities on the unit sphere (chord distance ~ arc distance at these scales).
    k = min(_NEARBY_K + 1, n)
    dist, nb = cKDTree(xyz).query(xyz, k=k)
    dist, nb = dist.reshape(n, k), nb.reshape(n, k)
    dist_km = dist * 6371.0088
    ok = (
        (nb != np.arange(n)[:, None])
        & (country_idx[nb] == country_idx[:, None])
        & (dist_km <= _NEARBY_MAX_KM)
    )
    w = np.where(ok, pop[nb] * np.exp(-dist_km / _NEARBY_DECAY_KM), 0.0)
    # A city without a usable neighbour keeps its co-inventors at home.
    lonely = w.sum(axis=1) <= 0
    nb[lonely, 0] = np.arange(n)[lonely]
    w[lonely, 0] = 1.0
    neighbour_cdf = np.cumsum(w, axis=1)
    neighbour_cdf /= neighbour_cdf[:, -1:]

    # Larger cities sprawl further: scatter grows like the square root of population.
    sigma_km = np.minimum(2.0 + 4.0 * np.sqrt(pop / 1e6), 15.0)
    # People work at sites (firms, labs, campuses) whose geocoded address they share, as
    # real addresses do: a city has a few sites per 100k inhabitants, a handful at least.
    site_count = np.clip(np.rint(8.0 * np.sqrt(pop / 1e5)), 3, 400).astype(np.int64)
    site_start = np.cumsum(site_count) - site_count
    site_dy, site_dx = rng.standard_normal((2, int(site_count.sum()))) * np.repeat(
        sigma_km, site_count
    )
    return _WorldParams(
        cdf=cdf,
        field_cdf=field_cdf,
        # A few organisations per city, more in large ones.
        org_count=np.clip(np.rint(2.0 * np.sqrt(pop / 1e5)), 3, 30).astype(np.int64),
        neighbours=nb,
        neighbour_cdf=neighbour_cdf,
        sigma_km=sigma_km,
        site_start=site_start,
        site_count=site_count,
        site_dy=site_dy,
        site_dx=site_dx,
        lat=lat,
        lon=lon,
        name=strings["name"],
        country=country,
        admin1=strings["admin1"],
    )


def _team_sizes(source: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Rows per document: inventors, authors or deal locations."""
    if source == "patent":
        # Geometric, mean ≈ 2.6: mostly 1–4 inventors, at most 10.
        return np.minimum(rng.geometric(0.38, n), 10)
    if source == "publication":
        # Discretised lognormal: a long tail of large collaborations, capped at 20.
        return np.clip(np.ceil(rng.lognormal(0.8, 0.8, n)), 1, 20).astype(np.int64)
    # VC deals: mostly a single location, sometimes investor and company apart.
    return rng.choice(np.arange(1, 4), size=n, p=[0.80, 0.15, 0.05])


def _years(source: str, rng: np.random.Generator, n: int) -> np.ndarray:
    years = np.arange(DEMO_YEARS[0], DEMO_YEARS[1] + 1, dtype=np.int64)
    w = (1.0 + _MODELS[source].growth) ** (years - years[0])
    return years[np.searchsorted(np.cumsum(w), rng.random(n) * w.sum(), side="right")]


def _draw_cities(cdf: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    # Inverse-CDF sampling: one searchsorted instead of rng.choice re-normalising p per call.
    idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return np.minimum(idx, len(cdf) - 1)


def _source_block(
    source: str, first: int, n_docs: int, params: _WorldParams, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    m = _MODELS[source]
    sizes = _team_sizes(source, rng, n_docs).astype(np.int64)
    n_rows = int(sizes.sum())
    doc = np.repeat(np.arange(n_docs), sizes)
    starts = np.cumsum(sizes) - sizes
    extra = np.arange(n_rows) != np.repeat(starts, sizes)  # rows after a document's first

    city = _draw_cities(params.cdf[source], rng, n_docs)[doc]
    u = rng.random(n_rows)
    intl = extra & (u < m.international)
    near = extra & (u >= m.international + m.same_city)
    # Draw world and nearby cities only for the rows that use them: the world draw is the
    # costliest step and ~90 % of rows would discard it.
    city[intl] = _draw_cities(params.cdf[source], rng, int(intl.sum()))
    anchor = city[near]
    pick = (rng.random(len(anchor))[:, None] > params.neighbour_cdf[anchor]).sum(axis=1)
    city[near] = params.neighbours[anchor, np.minimum(pick, params.neighbours.shape[1] - 1)]

    year = _years(source, rng, n_docs)[doc]
    # Squaring the uniform draw makes a city's first sites the big employers.
    count = params.site_count[city]
    site = params.site_start[city] + np.minimum(
        (count * rng.random(n_rows) ** 2).astype(np.int64), count - 1
    )
    dy, dx = params.site_dy[site], params.site_dx[site]
    lat0 = params.lat[city]
    lat = np.clip(lat0 + dy / KM_PER_DEGREE, -90.0, 90.0)
    coslat = np.maximum(np.cos(np.radians(lat0)), 1e-6)
    lon = (params.lon[city] + dx / (KM_PER_DEGREE * coslat) + 180.0) % 360.0 - 180.0
    # `%` can round a tiny negative up to exactly 360, i.e. lon == 180: fold it back.
    lon = np.where(lon >= 180.0, lon - 360.0, lon)

    doc_ids = np.array([f"{m.prefix}{i:09d}" for i in range(first, first + n_docs)], dtype=object)
    first_city = city[starts]
    if source == "patent":
        # The applicant files the whole application: every inventor row carries it.
        leading = np.ones(n_docs, dtype=bool)
        organization = _organizations(source, first_city, leading, params, rng)[doc]
    else:
        # Authors give their own affiliation; a deal's company and investors sit apart.
        organization = _organizations(source, city, ~extra, params, rng)
    if source in params.field_cdf:
        # One field per document, from the mix of its first row's city.
        field = _fields(source, first_city, params, rng)[doc]
        amount = np.full(n_rows, np.nan)
    else:
        field = np.full(n_rows, None, dtype=object)
        # A deal's size on each of its rows, as deal tables that list investors give it.
        size = _AMOUNT_MEDIAN_USD * np.exp(_AMOUNT_LOG_SD * rng.standard_normal(n_docs))
        amount = np.round(size, -3)[doc]
    return {
        "source": np.full(n_rows, source, dtype=object),
        "doc_id": doc_ids[doc],
        "year": year,
        "lat": lat,
        "lon": lon,
        "country": params.country[city],
        "city": params.name[city],
        # US records give the state's postal code (GeoNames' US admin-1 code); elsewhere
        # GeoNames' numeric codes are no state anyone writes ("40" is Tokyo to GeoNames,
        # Fukuoka in ISO 3166-2), so records leave it out.
        "state": np.where(params.country[city] == "US", params.admin1[city], None),
        "organization": organization,
        "field": field,
        "amount": amount,
    }


def _organizations(
    source: str,
    city: np.ndarray,
    leading: np.ndarray,
    params: _WorldParams,
    rng: np.random.Generator,
) -> np.ndarray:
    """SYNTHETIC organisation names, e.g. ``"Applicant 2, Shenzhen CN (synthetic)"``.

    A city's organisations are numbered 1, 2, ... with geometric shares (the first the
    largest). ``leading`` marks a deal's first row, its company; its other rows are
    investors.
    """
    rank = np.minimum(rng.geometric(_ORG_P, len(city)), params.org_count[city])
    label_code = (leading if source == "vc" else np.zeros(len(city), dtype=bool)).astype(np.int64)
    # Format each distinct organisation once: names repeat across many rows.
    code = (city * 64 + rank) * 2 + label_code
    unique, inverse = np.unique(code, return_inverse=True)
    names = np.empty(len(unique), dtype=object)
    for i, c in enumerate(unique.tolist()):
        company, c = c & 1, c >> 1
        where, k = divmod(c, 64)
        label = _VC_COMPANY_LABEL if company else _ORG_LABELS[source]
        names[i] = f"{label} {k}, {params.name[where]} {params.country[where]} (synthetic)"
    return names[inverse.reshape(-1)]


def _fields(
    source: str, city: np.ndarray, params: _WorldParams, rng: np.random.Generator
) -> np.ndarray:
    cdf = params.field_cdf[source][city]
    pick = (rng.random(len(city))[:, None] > cdf).sum(axis=1)
    names = np.array([name for name, _ in _FIELDS[source]], dtype=object)
    return names[np.minimum(pick, len(names) - 1)]


def _chunk_source_ranges(scale: float, chunk: int) -> dict[str, tuple[int, int]]:
    """Per-source [first, stop) document indices of one chunk.

    Documents are laid out globally (0 .. total) and the per-source counts below a global
    index g are floor(g * cumulative share): monotone in g, so every chunk gets its sources
    in proportion, the per-source ranges tile exactly, and doc ids never collide.
    """
    counts = _source_counts(scale)
    total = sum(counts.values())
    lo = chunk * _DOCS_PER_CHUNK
    hi = min(lo + _DOCS_PER_CHUNK, total)
    cum = np.cumsum([counts[s] for s in DEMO_SOURCES])

    def below(g: int) -> list[int]:
        bounds = [0] + [int(c) * g // total for c in cum[:-1]] + [g]
        return [int(d) for d in np.diff(bounds)]

    # Index of source s's first document among all of s's: sum of s-counts below `lo`.
    start, stop = below(lo), below(hi)
    return {s: (start[i], stop[i]) for i, s in enumerate(DEMO_SOURCES)}


def generate_demo_chunk(
    cities: pd.DataFrame, chunk: int, *, scale: float = 1.0, seed: int = 2025
) -> pd.DataFrame:
    """One chunk of the SYNTHETIC demo world of patents, publications and VC deals.

    The records are synthetic: random draws that borrow real GeoNames city coordinates and
    populations; they are never WIPO figures. A document's first row lies in a city drawn
    with a weight calibrated to public figures (:func:`load_demo_calibration`): each
    source's expected share of a named hub (e.g. Tokyo–Yokohama) and of a listed country is
    the table's, split among cities ∝ population^α × a lognormal city factor; unlisted
    countries share the rest, with a lognormal country intensity too (all per source,
    shared by all chunks). Further rows (co-inventors, co-authors, deal partners) are mostly
    in the same or a nearby same-country city, some in a city drawn from the whole world.
    Points scatter around the city centre by a few km (more for large cities). Profile
    columns: a synthetic organisation per row (a patent's applicant for all its rows; a
    few organisations per city with geometric shares), a field per patent (IPC symbol in
    PATSTAT's written form) or article (OpenAlex-style subject), from its first city's
    mix, and a lognormal deal size in USD on every row of a deal.

    Chunks are independent: chunk ``c`` uses its own generator seeded from ``(seed, c)``,
    so ``dd.from_map(functools.partial(generate_demo_chunk, cities),
    range(demo_chunk_count(scale=s)), scale=s, seed=seed)`` builds the same world as
    :func:`generate_demo_world`.

    Parameters
    ----------
    cities : pandas.DataFrame
        Columns ``name, lat, lon, country, admin1, population``
        (e.g. ``core.gazetteer.load_cities()``).
    chunk : int
        Chunk number, ``0 <= chunk < demo_chunk_count(scale=scale)``.
    scale : float
        Size of the world relative to the default (1.0 ≈ 225k documents, ≈ 700k rows).
    seed : int
        Seed (>= 0) of the world; with ``scale`` and ``chunk`` it fixes the output.

    Returns
    -------
    pandas.DataFrame
        One row per inventor / author / deal location, columns :data:`DEMO_COLUMNS`
        (``source, doc_id, year, lat, lon, country, city, state, address, organization,
        field, amount``): ``year`` int64, ``lat``/``lon`` float64 degrees, ``amount``
        float64 USD (deals only, NaN otherwise), the others ``object`` (``address`` ``None``
        but for the text-only rows, ``field`` ``None`` for deals). All rows of a document
        (``source``, ``doc_id``) share its year, and its field.

    Raises
    ------
    ValueError
        If ``scale`` is not > 0, ``chunk`` is out of range, ``seed`` is negative or
        ``cities`` is unusable.
    """
    scale, seed = _check_scale(scale), _check_seed(seed)
    n_chunks = demo_chunk_count(scale=scale)
    try:
        chunk = operator.index(chunk)
    except TypeError:
        raise ValueError(f"chunk must be an integer, got {chunk!r}") from None
    if not 0 <= chunk < n_chunks:
        raise ValueError(f"chunk must be in [0, {n_chunks}) at scale {scale:g}, got {chunk}")

    return _chunk_frame(_world_params(cities, seed), chunk, scale, seed)


def _chunk_frame(params: _WorldParams, chunk: int, scale: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(_seed_sequence(seed, _CHUNK_STREAM, chunk))
    blocks = [
        _source_block(source, first, stop - first, params, rng)
        for source, (first, stop) in _chunk_source_ranges(scale, chunk).items()
    ]
    n_rows = sum(len(b["year"]) for b in blocks)
    # Explicit Series dtypes: pandas >= 3 would otherwise infer `str` for object arrays of
    # strings, costing a conversion and making dtypes depend on the pandas version.
    floats = ("lat", "lon", "amount")
    columns = {
        col: pd.Series(
            np.concatenate([b[col] for b in blocks]),
            dtype=np.float64 if col in floats else np.int64 if col == "year" else object,
            copy=False,
        )
        for col in DEMO_COLUMNS
        if col != "address"
    }
    columns["address"] = pd.Series(np.full(n_rows, None, dtype=object), dtype=object, copy=False)
    frame = pd.DataFrame(columns, columns=list(DEMO_COLUMNS), copy=False)
    _as_addresses(frame, rng)
    return frame


# A share of rows arrives as text only, the way addresses come from documents: no
# coordinates, the city written plainly, in other case, without accents, as a postal
# address, or with a typo.
ADDRESS_SHARE = 0.005
_VARIANTS = ("plain", "case", "ascii", "postal", "typo")
_VARIANT_P = (0.3, 0.2, 0.2, 0.2, 0.1)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _as_addresses(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Turn a seeded share of rows into address-only rows, in place."""
    rows = np.flatnonzero(rng.random(len(frame)) < ADDRESS_SHARE)
    if not len(rows):
        return
    variants = rng.choice(len(_VARIANTS), size=len(rows), p=_VARIANT_P)
    postcodes = rng.integers(10_000, 100_000, size=len(rows))
    coins = rng.random(len(rows))
    city = frame["city"].to_numpy(dtype=object, copy=True)
    address = frame["address"].to_numpy(dtype=object, copy=True)
    for row, variant, postcode, coin in zip(rows, variants, postcodes, coins, strict=True):
        name = str(city[row])
        kind = _VARIANTS[variant]
        if kind == "case":
            city[row] = name.upper() if coin < 0.5 else name.lower()
        elif kind == "ascii":
            city[row] = _strip_accents(name)
        elif kind == "postal":
            city[row] = None
            address[row] = f"{postcode} {name}"
        elif kind == "typo" and len(name) >= 4:
            # Swap two adjacent letters, never the first.
            i = 1 + int(coin * (len(name) - 2))
            city[row] = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    frame["city"] = pd.Series(city, dtype=object, index=frame.index)
    frame["address"] = pd.Series(address, dtype=object, index=frame.index)
    frame.loc[frame.index[rows], ["lat", "lon"]] = np.nan


def generate_demo_world(
    cities: pd.DataFrame, *, scale: float = 1.0, seed: int = 2025
) -> pd.DataFrame:
    """The whole SYNTHETIC demo world: every chunk of :func:`generate_demo_chunk`, in order.

    The records are synthetic: random draws that borrow real GeoNames city coordinates and
    populations; they are never WIPO figures.

    Parameters
    ----------
    cities : pandas.DataFrame
        Columns ``name, lat, lon, country, admin1, population``
        (e.g. ``core.gazetteer.load_cities()``).
    scale : float
        Size of the world relative to the default (1.0 ≈ 225k documents: 60k patent
        applications, 150k articles, 15k VC deals; ≈ 700k rows). Rows grow linearly.
    seed : int
        Seed (>= 0) of the world.

    Returns
    -------
    pandas.DataFrame
        The chunks concatenated with a fresh ``RangeIndex``; columns and dtypes as in
        :func:`generate_demo_chunk`.

    Raises
    ------
    ValueError
        If ``scale`` is not > 0, ``seed`` is negative or ``cities`` is unusable.
    """
    scale, seed = _check_scale(scale), _check_seed(seed)
    # Same frames as generate_demo_chunk, but the cities are fingerprinted only once.
    params = _world_params(cities, seed)
    return pd.concat(
        [_chunk_frame(params, c, scale, seed) for c in range(demo_chunk_count(scale=scale))],
        ignore_index=True,
    )
