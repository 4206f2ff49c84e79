"""Coastlines, borders and land from the vendored Natural Earth countries (flows.report.basemap),
checked against real geography."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.path import Path

from flows.report.basemap import (
    country_lines,
    country_polygons,
    decode_arcs,
    land_rings,
    lines_geojson,
    ring_coordinates,
    split_at_antimeridian,
)

RESOLUTIONS = ["50m", "110m"]

# (country, lat, lon): capitals, plus places that test the awkward cases of the outlines.
PLACES = [
    ("France", 48.8566, 2.3522),  # Paris
    ("Spain", 40.4168, -3.7038),  # Madrid
    ("Japan", 35.6762, 139.6503),  # Tokyo
    ("Australia", -35.2809, 149.1300),  # Canberra
    ("Brazil", -15.7939, -47.8828),  # Brasília
    ("Kenya", -1.2921, 36.8219),  # Nairobi
    ("Canada", 45.4215, -75.6972),  # Ottawa
    ("India", 28.6139, 77.2090),  # New Delhi
    ("China", 39.9042, 116.4074),  # Beijing
    ("Argentina", -34.6037, -58.3816),  # Buenos Aires
    ("Germany", 52.5200, 13.4050),  # Berlin
    ("South Africa", -25.7479, 28.2293),  # Pretoria
    ("Russia", 55.7558, 37.6173),  # Moscow
    ("United States of America", 38.9072, -77.0369),  # Washington
    ("Lesotho", -29.3151, 27.4869),  # Maseru: a hole in South Africa's polygon
    ("Russia", 66.0, -173.0),  # Chukotka, east of the antimeridian
]
# Taveuni (Fiji) straddles the antimeridian; 110m has no outline of it.
PLACES_50M = [("Fiji", -16.85, -179.95), ("Fiji", -18.1248, 178.4501)]


def _inside(rings: list[np.ndarray], lat: float, lon: float) -> bool:
    # Even-odd over every ring, so that holes count as holes.
    return sum(Path(r).contains_point((lon, lat)) for r in rings) % 2 == 1


def _near(lines: list[np.ndarray], lat: float, lon: float, within: float) -> bool:
    return any(np.hypot(line[:, 0] - lon, line[:, 1] - lat).min() < within for line in lines)


def test_quantised_arcs_are_delta_decoded_and_reversed_by_negative_indices():
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.25], "translate": [10.0, 20.0]},
        "arcs": [[[0, 0], [2, 4], [-1, 0]], [[1, 4], [0, -4], [-1, 0]]],
        "objects": {},
    }
    first, second = decode_arcs(topology)
    assert first.dtype == np.float64
    np.testing.assert_array_equal(first, [[10.0, 20.0], [11.0, 21.0], [10.5, 21.0]])
    np.testing.assert_array_equal(second, [[10.5, 21.0], [10.5, 20.0], [10.0, 20.0]])
    # Arc 0, then arc 1 reversed (~1 == -2): each shared end point is kept once.
    ring = ring_coordinates([first, second], [0, ~1])
    np.testing.assert_array_equal(ring[:3], first)
    np.testing.assert_array_equal(ring[3:], [[10.5, 20.0], [10.5, 21.0]])
    # Without a transform, positions are absolute.
    (plain,) = decode_arcs({"type": "Topology", "arcs": [[[1.5, 2.0], [3.0, 4.0]]]})
    np.testing.assert_array_equal(plain, [[1.5, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_places_fall_in_their_country_and_in_no_other(resolution):
    countries = country_polygons(resolution)
    places = PLACES + (PLACES_50M if resolution == "50m" else [])
    for country, lat, lon in places:
        found = [name for name, _, rings in countries if _inside(rings, lat, lon)]
        assert found == [country], (resolution, country, lat, lon)


def test_countries_carry_their_iso_numeric_codes():
    codes = {name: iso for name, iso, _ in country_polygons("110m")}
    assert codes["France"] == "250" and codes["Japan"] == "392" and codes["Brazil"] == "076"
    assert codes["Kosovo"] is None  # no ISO 3166-1 code


def test_the_pyrenees_are_a_border_and_brittany_a_coast():
    coast, borders = country_lines("50m")
    assert _near(borders, 42.7, 0.0, 0.3) and not _near(coast, 42.7, 0.0, 0.3)
    assert _near(coast, 48.4, -4.5, 0.3) and not _near(borders, 48.4, -4.5, 0.3)
    # The 49th parallel between Canada and the United States is a border, not a coast.
    points = np.concatenate(borders)
    on_49 = (np.abs(points[:, 1] - 49.0) < 0.05) & (points[:, 0] > -123) & (points[:, 0] < -95)
    assert on_49.sum() >= 2
    assert not _near(coast, 49.0, -110.0, 1.0)


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_no_line_jumps_across_the_map_nor_runs_along_its_edge(resolution):
    coast, borders = country_lines(resolution)
    assert len(coast) > 100 and len(borders) > 100
    for line in [*coast, *borders]:
        assert line.ndim == 2 and line.shape[1] == 2 and len(line) > 1
        assert np.abs(np.diff(line[:, 0])).max() <= 180
        assert (np.abs(line[:, 0]) <= 180 + 1e-6).all() and (np.abs(line[:, 1]) <= 90).all()
        # Natural Earth's cut at −89.999° below Antarctica is no coast.
        assert not ((line[:-1, 1] < -89.9) & (line[1:, 1] < -89.9)).any()
    # Split, not dropped: the coasts on both sides of the antimeridian are there.
    assert _near(coast, 66.16, -169.8, 0.3)  # Uelen, Chukotka
    assert _near(coast, 64.7, 177.5, 0.5)  # Anadyr


def test_lines_are_split_where_they_cross_the_antimeridian():
    line = np.array([[170.0, 0.0], [179.0, 1.0], [-179.0, 2.0], [-170.0, 3.0]])
    pieces = split_at_antimeridian(line)
    assert [p.tolist() for p in pieces] == [line[:2].tolist(), line[2:].tolist()]
    # A step along the ±180° meridian is the frame's edge: dropped, with what is left too short.
    edge = np.array([[180.0, 60.0], [180.0, 61.0], [179.0, 61.5]])
    assert [p.tolist() for p in split_at_antimeridian(edge)] == [edge[1:].tolist()]
    assert split_at_antimeridian(np.array([[1.0, 2.0]])) == []


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_land_rings_cover_the_land_and_leave_out_the_seas(resolution):
    rings = land_rings(resolution)
    for ring in rings:
        assert (ring[0] == ring[-1]).all() and (np.abs(ring[:, 0]) <= 180 + 1e-9).all()
    assert _inside(rings, 25.0, 5.0)  # Sahara
    assert _inside(rings, 66.0, -173.0)  # Chukotka, east of the antimeridian
    assert _inside(rings, -80.0, 0.0)  # Antarctica, closed at the pole
    assert not _inside(rings, 25.0, -40.0)  # Atlantic
    assert not _inside(rings, 42.0, 50.5)  # the Caspian Sea, a hole in the land
    assert not _inside(rings, 0.0, -160.0)  # Pacific


def test_returned_outlines_cannot_corrupt_the_cache():
    coast, _ = country_lines("110m")
    with pytest.raises(ValueError, match="read-only"):
        coast[0][0, 0] = 0.0
    coast.clear()
    assert len(country_lines("110m")[0]) > 100
    outlines = lines_geojson("110m")
    outlines["features"].clear()
    assert len(lines_geojson("110m")["features"]) == 2


def test_the_embedded_outlines_are_small_rounded_geojson():
    collection = lines_geojson("110m", decimals=2)
    assert collection["type"] == "FeatureCollection"
    assert [f["properties"] for f in collection["features"]] == [
        {"kind": "coast"},
        {"kind": "border"},
    ]
    text = json.dumps(collection, separators=(",", ":"), allow_nan=False)
    assert len(text) < 150_000
    assert json.loads(text) == collection
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "MultiLineString"
        lines = feature["geometry"]["coordinates"]
        assert len(lines) > 100
        for line in lines:
            points = np.asarray(line, dtype=np.float64)
            assert points.ndim == 2 and points.shape[1] == 2 and len(points) >= 2
            assert np.array_equal(points, np.round(points, 2))
            assert (np.abs(np.diff(points, axis=0)).sum(axis=1) > 0).all()
            assert np.abs(np.diff(points[:, 0])).max() <= 180
            assert (np.abs(points[:, 0]) <= 180).all() and (np.abs(points[:, 1]) <= 90).all()
    coarser = json.dumps(lines_geojson("110m", decimals=1), separators=(",", ":"))
    assert len(coarser) < len(text)


@pytest.mark.parametrize(
    "call", [country_lines, country_polygons, land_rings, lines_geojson], ids=lambda f: f.__name__
)
def test_an_unknown_resolution_is_refused(call):
    with pytest.raises(ValueError, match='"50m", "110m"'):
        call("10m")
