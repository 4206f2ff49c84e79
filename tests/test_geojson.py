"""Cluster footprints as GeoJSON (core.geojson): polygons, rings, bounding boxes, strict JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.geojson import clusters_geojson, dumps_geojson
from tests.support import ranking_table


def _strict_loads(data: bytes):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(data, parse_constant=refuse)


def _cell(lat: float, lon: float, f: float) -> tuple[int, int]:
    return math.floor((lat + 90) / f + 1e-9), math.floor((lon + 180) / f + 1e-9)


def _footprints(cells: dict[str, list[tuple[int, int]]]) -> pd.DataFrame:
    rows = [(cid, i, j) for cid, cs in cells.items() for i, j in cs]
    return pd.DataFrame(rows, columns=["cluster_id", "cell_lat", "cell_lon"])


def _signed_area(ring: list[list[float]]) -> float:
    return 0.5 * sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring[:-1], ring[1:], strict=True)
    )


def _polygons(feature: dict) -> list:
    assert feature["geometry"]["type"] == "MultiPolygon"
    return feature["geometry"]["coordinates"]


def test_geojson_is_a_feature_collection_in_lon_lat_order():
    f = 0.1
    i, j = _cell(35.6, 139.7, f)
    doc = clusters_geojson(ranking_table(1), _footprints({"c0": [(i, j)]}), footprint_deg=f)

    assert doc["type"] == "FeatureCollection"
    [feature] = doc["features"]
    assert feature["type"] == "Feature"
    assert feature["id"] == "c0"
    assert feature["properties"]["rank"] == 1
    assert feature["properties"]["name"] == "Tokyo–Yokohama"
    [[ring]] = _polygons(feature)
    assert len(ring) == 5
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    assert min(lons) == pytest.approx(139.7) and max(lons) == pytest.approx(139.8)
    assert min(lats) == pytest.approx(35.6) and max(lats) == pytest.approx(35.7)
    assert feature["bbox"] == pytest.approx([139.7, 35.6, 139.8, 35.7])
    # Rounded coordinates: no float noise such as 139.70000000000005.
    assert all(len(repr(v).split(".")[-1]) <= 9 for p in ring for v in p)


def test_rings_are_closed_exteriors_counter_clockwise_holes_clockwise():
    f = 1.0
    ring_of_cells = [(50 + a, 10 + b) for a in range(3) for b in range(3) if (a, b) != (1, 1)]
    doc = clusters_geojson(
        ranking_table(2),
        _footprints({"c0": [(100, 200), (100, 201), (101, 200)], "c1": ring_of_cells}),
        footprint_deg=f,
    )
    for feature, n_cells in zip(doc["features"], (3, 8), strict=True):
        polygons = _polygons(feature)
        assert len(polygons) == 1
        area = 0.0
        for exterior, *holes in polygons:
            for ring in (exterior, *holes):
                assert ring[0] == ring[-1] and len(ring) >= 4
            assert _signed_area(exterior) > 0
            assert all(_signed_area(h) < 0 for h in holes)
            area += sum(_signed_area(r) for r in (exterior, *holes))
        assert area == pytest.approx(n_cells * f * f)
    # The L of three cells is one hexagon; the ring of eight cells has one hole.
    assert len(_polygons(doc["features"][0])[0][0]) == 7
    assert len(_polygons(doc["features"][1])[0]) == 2


def test_adjacent_cells_merge_and_separate_cells_do_not():
    f = 0.5
    row = 250
    doc = clusters_geojson(
        ranking_table(3),
        _footprints(
            {
                "c0": [(row, 10), (row, 11)],  # side by side
                "c1": [(row, 20), (row, 22)],  # one empty cell between
                "c2": [(row, 30), (row + 1, 30)],  # stacked
            }
        ),
        footprint_deg=f,
    )
    merged, apart, stacked = (_polygons(feat) for feat in doc["features"])
    assert len(merged) == 1 and len(merged[0][0]) == 5
    assert len(apart) == 2
    assert len(stacked) == 1 and len(stacked[0][0]) == 5


def test_cells_touching_at_a_corner_stay_separate_polygons():
    doc = clusters_geojson(
        ranking_table(1), _footprints({"c0": [(10, 10), (11, 11)]}), footprint_deg=1.0
    )
    polygons = _polygons(doc["features"][0])
    assert len(polygons) == 2
    for (exterior,) in polygons:
        assert len(exterior) == 5 and _signed_area(exterior) == pytest.approx(1.0)


def test_antimeridian_footprint_is_split_and_bbox_crosses():
    f = 1.0
    n_cols = 360
    doc = clusters_geojson(
        ranking_table(1), _footprints({"c0": [(120, 0), (120, n_cols - 1)]}), footprint_deg=f
    )
    [feature] = doc["features"]
    polygons = _polygons(feature)
    assert len(polygons) == 2
    lon_ranges = sorted(
        (min(p[0] for p in poly[0]), max(p[0] for p in poly[0])) for poly in polygons
    )
    assert lon_ranges == [(-180.0, -179.0), (179.0, 180.0)]
    west, south, east, north = feature["bbox"]
    assert west > east
    assert (west, south, east, north) == (179.0, 30.0, -179.0, 31.0)


def test_bbox_does_not_cross_for_an_ordinary_wide_footprint():
    doc = clusters_geojson(
        ranking_table(1), _footprints({"c0": [(100, 10), (100, 20)]}), footprint_deg=1.0
    )
    west, _, east, _ = doc["features"][0]["bbox"]
    assert (west, east) == (-170.0, -159.0)


def test_properties_are_json_safe_and_strictly_serialisable():
    doc = clusters_geojson(
        ranking_table(2), _footprints({"c0": [(10, 10)], "c1": [(20, 20)]}), footprint_deg=1.0
    )
    data = dumps_geojson(doc)
    assert isinstance(data, bytes)
    parsed = _strict_loads(data)
    first, second = (feat["properties"] for feat in parsed["features"])
    assert first["rank"] == 1 and isinstance(first["rank"], int)
    assert first["intensity_rank"] == 2 and first["new_entrant"] is False
    assert second["name"] == "Shenzhen–Hong Kong–Guangzhou"
    assert second["intensity"] is None and second["intensity_rank"] is None
    assert second["population"] == 0.0
    assert "NaN" not in data.decode("utf-8")
    # A raw NaN handed straight to the serialiser comes out as null, not as an invalid token.
    assert _strict_loads(dumps_geojson({"x": float("nan"), "y": np.int64(3)})) == {
        "x": None,
        "y": 3,
    }


def test_features_follow_rank_and_output_is_deterministic():
    rankings = ranking_table(3)
    cells = {"c0": [(10, 10), (10, 11), (11, 10)], "c1": [(20, 20)], "c2": [(30, 5), (31, 6)]}
    footprints = _footprints(cells)
    shuffled = footprints.sample(frac=1.0, random_state=1)
    a = dumps_geojson(clusters_geojson(rankings, footprints, footprint_deg=1.0))
    b = dumps_geojson(clusters_geojson(rankings.iloc[::-1], shuffled, footprint_deg=1.0))
    assert a == b
    ranks = [feat["properties"]["rank"] for feat in _strict_loads(a)["features"]]
    assert ranks == [1, 2, 3]


def test_cluster_without_footprint_has_null_geometry():
    doc = clusters_geojson(ranking_table(2), _footprints({"c0": [(1, 1)]}), footprint_deg=1.0)
    assert doc["features"][1]["geometry"] is None
    assert "bbox" not in doc["features"][1]
    _strict_loads(dumps_geojson(doc))


def test_bad_grid_is_rejected():
    with pytest.raises(ValueError, match="divide 180"):
        clusters_geojson(ranking_table(1), _footprints({"c0": [(1, 1)]}), footprint_deg=0.7)
    with pytest.raises(ValueError, match="cell"):
        clusters_geojson(ranking_table(1), _footprints({"c0": [(180, 0)]}), footprint_deg=1.0)
