"""Cluster names from gazetteer cities."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.naming import NAME_SEPARATOR, _by_renown, _drop_districts, name_clusters, with_states
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


# -- real coordinates ---------------------------------------------------------------------

ROR_METROS = Path(__file__).parent / "data" / "ror_metros.csv"
TOKYO_WARDS = {
    *[
        "Chiyoda",
        "Chūō",
        "Minato",
        "Shinjuku",
        "Bunkyō",
        "Taitō",
        "Sumida",
        "Kōtō",
        "Shinagawa",
        "Meguro",
        "Ōta",
    ],
    *[
        "Setagaya",
        "Shibuya",
        "Nakano",
        "Suginami",
        "Toshima",
        "Kita",
        "Arakawa",
        "Itabashi",
        "Nerima",
        "Adachi",
    ],
    *["Katsushika", "Edogawa"],
}


@pytest.fixture(scope="module")
def metro_names() -> dict[str, str]:
    """Each metro's research organisations (ROR's coordinates) as one cluster, named with
    the shipped gazetteer: locations rounded to 0.01° and cells of 0.05°, as a run does."""
    from core.gazetteer import load_cities

    orgs = pd.read_csv(ROR_METROS)
    orgs = orgs.assign(lat=orgs["lat"].round(2), lon=orgs["lon"].round(2))
    located = orgs.groupby(["metro", "lat", "lon"], as_index=False).size()
    codes = {m: k for k, m in enumerate(sorted(located["metro"].unique()))}
    i, j = cell_index(located["lat"], located["lon"], footprint_deg=0.05)
    members = pd.DataFrame(
        {
            "combined": located["metro"].map(codes),
            "lat": located["lat"],
            "lon": located["lon"],
            "cell_lat": i,
            "cell_lon": j,
            "mass": located["size"].astype(float),
        }
    )
    centroids = members.groupby("combined")[["lat", "lon"]].mean()
    names = name_clusters(members, centroids, load_cities(), footprint_deg=0.05)
    return {m: names[k] for m, k in codes.items()}


def test_real_clusters_are_named_after_their_main_cities(metro_names):
    chicago = metro_names["Chicago"]  # not West Garfield Park
    assert chicago.split(NAME_SEPARATOR)[0] == "Chicago" and chicago.endswith(", IL")
    assert metro_names["Washington"].startswith("Washington")  # not Foggy Bottom, McLean
    assert metro_names["Washington"].endswith(", DC") or ", DC–" in metro_names["Washington"]
    assert metro_names["Atlanta"] == "Atlanta, GA"
    assert metro_names["Paris"] == "Paris"  # whose point lies across a cell border
    assert metro_names["Jakarta"].startswith("Jakarta")
    assert "Johannesburg" in metro_names["Johannesburg"]
    assert "Soweto" not in metro_names["Johannesburg"]
    shenzhen = metro_names["Shenzhen"].split(NAME_SEPARATOR)
    assert {"Shenzhen", "Hong Kong"} <= set(shenzhen) and "Bao'an" not in shenzhen
    assert metro_names["Tokyo"].split(NAME_SEPARATOR)[0] == "Tokyo"
    assert not set(metro_names["Tokyo"].split(NAME_SEPARATOR)) & TOKYO_WARDS


def test_districts_are_found_by_renown_and_distance():
    from core.gazetteer import load_cities

    cities = load_cities()
    kept = _drop_districts(_by_renown(cities))

    def kept_in(name: str, country: str) -> bool:
        return bool(((kept["name"] == name) & (kept["country"] == country)).any())

    # Districts, wards and townships of a better-known city.
    for name, country in [
        ("Bao'an", "CN"),
        ("Edogawa", "JP"),
        ("Setagaya", "JP"),
        ("Soweto", "ZA"),
        ("Zapopan", "MX"),
        ("Quezon City", "PH"),
        ("Foggy Bottom", "US"),
        ("West Garfield Park", "US"),
    ]:
        assert not kept_in(name, country), name
    # Cities of their own beside a larger one.
    for name, country in [
        ("Yokohama", "JP"),
        ("Hong Kong", "HK"),
        ("Kyoto", "JP"),
        ("Kobe", "JP"),
        ("Guadalajara", "MX"),
        ("Manila", "PH"),
        ("Washington", "US"),
        ("Chicago", "US"),
    ]:
        assert kept_in(name, country), name


def test_us_names_carry_the_states_of_their_cities():
    assert with_states(["San Jose", "San Francisco"], ["CA", "CA"]) == "San Jose–San Francisco, CA"
    assert with_states(["Kansas City"], ["MO", "KS"]) == "Kansas City, MO–KS"
    assert with_states(["Detroit", "Windsor"], ["MI", ""]) == "Detroit–Windsor, MI"
    assert with_states(["Tokyo", "Yokohama"], ["", ""]) == "Tokyo–Yokohama"


def test_a_second_name_must_be_a_place_readers_know():
    cities = CITIES.assign(name_count=[40, 3, 2, 5])
    members = members_at([(0.0, 0.0)] * 3 + [(0.0, 0.3)] * 2)
    centroids = pd.DataFrame({"lat": [0.0], "lon": [0.1]}, index=[0])
    assert name_clusters(members, centroids, cities, footprint_deg=0.05).iloc[0] == "Metropolis"
    known = CITIES.assign(name_count=[40, 3, 25, 5])
    assert name_clusters(members, centroids, known, footprint_deg=0.05).iloc[0] == "Metropolis–Twin"


@pytest.mark.parametrize(
    ("places", "gii_name"),
    [
        # Activity at the gazetteer points of the cities the GII names, most first.
        ([("Tokyo", "JP", 5), ("Yokohama", "JP", 2)], "Tokyo–Yokohama"),
        ([("Osaka", "JP", 5), ("Kobe", "JP", 3), ("Kyoto", "JP", 2)], "Osaka–Kobe–Kyoto"),
        ([("San Jose", "US", 5), ("San Francisco", "US", 4)], "San Jose–San Francisco, CA"),
        ([("Kansas City", "US", 5)], "Kansas City, MO–KS"),
        ([("New York City", "US", 5)], "New York City, NY"),
        # The GII's "Boston–Cambridge, MA": Cambridge, 5 km away, is Boston's district here.
        ([("Boston", "US", 5), ("Cambridge", "US", 3)], "Boston, MA"),
    ],
)
def test_names_of_gii_clusters_from_their_cities(places, gii_name):
    from core.gazetteer import load_cities

    cities = load_cities()
    rows = []
    for name, country, mass in places:
        found = cities[(cities["name"] == name) & (cities["country"] == country)]
        found = found[found["population"] >= 100_000]
        assert len(found), name
        rows += [(r.lat, r.lon, mass) for r in found.itertuples()]
    lat = [round(r[0], 2) for r in rows]
    lon = [round(r[1], 2) for r in rows]
    i, j = cell_index(lat, lon, footprint_deg=0.05)
    members = pd.DataFrame(
        {
            "combined": 0,
            "lat": lat,
            "lon": lon,
            "cell_lat": i,
            "cell_lon": j,
            "mass": [float(r[2]) for r in rows],
        }
    )
    centroids = pd.DataFrame({"lat": [lat[0]], "lon": [lon[0]]}, index=[0])
    assert name_clusters(members, centroids, cities, footprint_deg=0.05).iloc[0] == gii_name
