"""Cluster names from gazetteer cities."""

from __future__ import annotations

import pandas as pd

from core.naming import name_clusters
from core.population import cell_index

CITIES = pd.DataFrame(
    {
        "geonameid": [1, 2, 3, 4],
        "name": ["Metropolis", "Borough", "Twin", "Village"],
        "lat": [0.001, 0.001, 0.001, 0.001],
        # Borough 5.5 km from Metropolis (a district); Twin 33 km away (a city of its own).
        "lon": [0.001, 0.051, 0.301, 0.151],
        "population": [5_000_000, 400_000, 300_000, 20_000],
    }
)


def members_at(places: list[tuple[float, float]], combined: int = 0) -> pd.DataFrame:
    lat = [p[0] for p in places]
    lon = [p[1] for p in places]
    i, j = cell_index(lat, lon, footprint_deg=0.05)
    return pd.DataFrame(
        {"combined": combined, "lat": lat, "lon": lon, "cell_lat": i, "cell_lon": j, "mass": 1.0}
    )


def name_of(members: pd.DataFrame) -> str:
    centroids = pd.DataFrame({"lat": [0.0], "lon": [0.1]}, index=[0])
    return name_clusters(members, centroids, CITIES, footprint_deg=0.05).iloc[0]


def test_districts_count_for_their_city_and_twin_cities_are_named_by_activity():
    # Activity at the Borough (a district of Metropolis) and, less, at Twin.
    members = members_at([(0.0, 0.05)] * 3 + [(0.0, 0.0)] + [(0.0, 0.3)] * 2)
    assert name_of(members) == "Metropolis–Twin"


def test_cities_below_a_quarter_of_the_first_are_left_out():
    members = members_at([(0.0, 0.0)] * 9 + [(0.0, 0.3)] * 2)
    assert name_of(members) == "Metropolis"


def test_a_cluster_with_no_large_city_takes_the_nearest_gazetteer_city():
    members = members_at([(0.0, 0.15)])  # only the Village's cell: under 100k people
    centroids = pd.DataFrame({"lat": [0.0], "lon": [0.15]}, index=[0])
    assert name_clusters(members, centroids, CITIES, footprint_deg=0.05).iloc[0] == "Village"
