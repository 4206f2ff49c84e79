"""Country and subdivision names joined to GeoNames admin-1 codes (core.subdivisions)."""

from __future__ import annotations

import pytest

from core.gazetteer import load_places
from core.subdivisions import country_names, subdivision_names


@pytest.fixture(scope="module")
def table():
    return subdivision_names(load_places(500))


def area(table, country, key):
    hit = table[(table["country"] == country) & (table["key"] == key)]
    return hit["admin1"].tolist()


@pytest.mark.parametrize(
    "country, key, admin1",
    [
        ("JP", "tokyo", "40"),  # GeoNames' code, not ISO's 13
        ("JP", "13", "40"),  # ISO 3166-2 JP-13
        ("JP", "osaka", "32"),
        ("DE", "bayern", "02"),  # ISO's local name
        ("DE", "bavaria", "02"),  # GeoNames' English name
        ("DE", "by", "02"),
        ("DE", "niedersachsen", "06"),
        ("CA", "on", "08"),
        ("CA", "ontario", "08"),
        ("AU", "nsw", "02"),
        ("AU", "wa", "08"),
        ("BR", "sp", "27"),
        ("BR", "mg", "15"),
        ("US", "ma", "MA"),
        ("US", "massachusetts", "MA"),
        ("CN", "zhejiang", "02"),
        ("CN", "guangdong", "30"),
        ("CN", "gd", "30"),
        ("FR", "ile de france", "11"),
        ("IN", "karnataka", "19"),
        ("KR", "gyeonggi do", "13"),
        ("AT", "wien", "09"),
        ("GB", "england", "ENG"),
        ("ES", "madrid", "29"),
        ("CH", "zh", "ZH"),
    ],
)
def test_names_and_codes_reach_the_geonames_area(table, country, key, admin1):
    assert area(table, country, key) == [admin1]


def test_parts_of_an_area_named_like_their_city_are_no_subdivisions(table):
    # English districts and Italian provinces fall inside one admin-1 area; read as
    # subdivisions they would turn "Liverpool" and "Rome" into regions
    for country, key in [("GB", "liverpool"), ("GB", "manchester"), ("IT", "roma"), ("IT", "rome")]:
        assert area(table, country, key) == [], key
    # Hong Kong is a country of its own, not a Chinese subdivision
    assert area(table, "CN", "hong kong") == []


def test_most_areas_with_places_have_names(table):
    places = load_places(500)
    counts = places[~places["admin1"].isin(["", "00"])].groupby(["country", "admin1"]).size()
    busy = counts[counts >= 20].index
    named = set(zip(table["country"], table["admin1"], strict=True))
    assert sum(k in named for k in busy) / len(busy) > 0.95


def test_country_words_and_names(table):
    names = country_names()
    for word, iso in [
        ("peoples r china", "CN"),
        ("usa", "US"),
        ("u arab emirates", "AE"),
        ("fed rep ger", "DE"),
        ("deutschland", "DE"),
        ("russian federation", "RU"),
        ("republic of korea", "KR"),
        ("south korea", "KR"),
        ("chn", "CN"),
        ("hong kong sar", "HK"),
        ("republic of china", "TW"),
    ]:
        assert names[word][0] == iso, word
    assert names["england"] == ("GB", "ENG") and names["north ireland"] == ("GB", "NIR")
