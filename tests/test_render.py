"""Behaviour of the output renderers: cluster GeoJSON, the world map PNG and the HTML report."""

from __future__ import annotations

import base64
import io
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.geojson import clusters_geojson, dumps_geojson
from flows.render import SYNTHETIC_BANNER, render_map_png, render_report_html

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _strict_loads(data: bytes):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(data, parse_constant=refuse)


def _cell(lat: float, lon: float, f: float) -> tuple[int, int]:
    return math.floor((lat + 90) / f + 1e-9), math.floor((lon + 180) / f + 1e-9)


def _rankings(n: int = 2) -> pd.DataFrame:
    rows = {
        "rank": np.arange(1, n + 1, dtype=np.int64),
        "cluster_id": [f"c{k}" for k in range(n)],
        "name": ["Tokyo–Yokohama", "Shenzhen–Hong Kong–Guangzhou", "Seoul", "San Jose"][:n],
        "economies": ["JP", "CN/HK", "KR", "US"][:n],
        "world_region": ["Asia", "Asia", "Asia", "Northern America"][:n],
        "patents": [123456.25, 98765.5, 5000.0, 1234.5][:n],
        "publications": [40000.0, 30000.0, 2000.0, 100.0][:n],
        "vc_deals": [300.0, 250.0, 10.0, 5.0][:n],
        "share_patents": [0.101234, 0.08, 0.004, 0.001][:n],
        "share_publications": [0.02, 0.015, 0.001, 0.0001][:n],
        "share_vc": [0.01, 0.009, 0.0004, 0.0002][:n],
        "score": [0.131234, 0.104, 0.0054, 0.0013][:n],
        "population": [37e6, 0.0, 25e6, np.nan][:n],
        "patents_per_million": [3336.6, np.nan, 200.0, np.nan][:n],
        "publications_per_million": [1081.1, np.nan, 80.0, np.nan][:n],
        "vc_per_million": [8.1, np.nan, 0.4, np.nan][:n],
        "intensity": [0.131234 / 37, np.nan, 0.0054 / 25, np.nan][:n],
        "intensity_rank": pd.array([2, pd.NA, 1, pd.NA][:n], dtype="Int64"),
        "lat": [35.6, 22.6, 37.5, 37.3][:n],
        "lon": [139.7, 114.1, 127.0, -121.9][:n],
        "previous_rank": pd.array([4, 1, pd.NA, 3][:n], dtype="Int64"),
        "rank_change": pd.array([3, -1, pd.NA, 0][:n], dtype="Int64"),
        "new_entrant": pd.array([False, False, True, False][:n], dtype="boolean"),
    }
    return pd.DataFrame(rows)


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


# ---------------------------------------------------------------------------------------------
# GeoJSON
# ---------------------------------------------------------------------------------------------


def test_geojson_is_a_feature_collection_in_lon_lat_order():
    f = 0.1
    i, j = _cell(35.6, 139.7, f)
    doc = clusters_geojson(_rankings(1), _footprints({"c0": [(i, j)]}), footprint_deg=f)

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
        _rankings(2),
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
        _rankings(3),
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
        _rankings(1), _footprints({"c0": [(10, 10), (11, 11)]}), footprint_deg=1.0
    )
    polygons = _polygons(doc["features"][0])
    assert len(polygons) == 2
    for (exterior,) in polygons:
        assert len(exterior) == 5 and _signed_area(exterior) == pytest.approx(1.0)


def test_antimeridian_footprint_is_split_and_bbox_crosses():
    f = 1.0
    n_cols = 360
    doc = clusters_geojson(
        _rankings(1), _footprints({"c0": [(120, 0), (120, n_cols - 1)]}), footprint_deg=f
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
        _rankings(1), _footprints({"c0": [(100, 10), (100, 20)]}), footprint_deg=1.0
    )
    west, _, east, _ = doc["features"][0]["bbox"]
    assert (west, east) == (-170.0, -159.0)


def test_properties_are_json_safe_and_strictly_serialisable():
    doc = clusters_geojson(
        _rankings(2), _footprints({"c0": [(10, 10)], "c1": [(20, 20)]}), footprint_deg=1.0
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
    rankings = _rankings(3)
    cells = {"c0": [(10, 10), (10, 11), (11, 10)], "c1": [(20, 20)], "c2": [(30, 5), (31, 6)]}
    footprints = _footprints(cells)
    shuffled = footprints.sample(frac=1.0, random_state=1)
    a = dumps_geojson(clusters_geojson(rankings, footprints, footprint_deg=1.0))
    b = dumps_geojson(clusters_geojson(rankings.iloc[::-1], shuffled, footprint_deg=1.0))
    assert a == b
    ranks = [feat["properties"]["rank"] for feat in _strict_loads(a)["features"]]
    assert ranks == [1, 2, 3]


def test_cluster_without_footprint_has_null_geometry():
    doc = clusters_geojson(_rankings(2), _footprints({"c0": [(1, 1)]}), footprint_deg=1.0)
    assert doc["features"][1]["geometry"] is None
    assert "bbox" not in doc["features"][1]
    _strict_loads(dumps_geojson(doc))


def test_bad_grid_is_rejected():
    with pytest.raises(ValueError, match="divide 180"):
        clusters_geojson(_rankings(1), _footprints({"c0": [(1, 1)]}), footprint_deg=0.7)
    with pytest.raises(ValueError, match="cell"):
        clusters_geojson(_rankings(1), _footprints({"c0": [(180, 0)]}), footprint_deg=1.0)


# ---------------------------------------------------------------------------------------------
# Map
# ---------------------------------------------------------------------------------------------


def _map_inputs(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    rankings = _rankings(4)
    centre = rng.integers(0, 4, n)
    lat = rankings["lat"].to_numpy()[centre] + rng.normal(0, 0.3, n)
    lon = rankings["lon"].to_numpy()[centre] + rng.normal(0, 0.3, n)
    cluster = np.where(rng.random(n) < 0.7, rankings["cluster_id"].to_numpy()[centre], None)
    locations = pd.DataFrame(
        {"lat": lat, "lon": lon, "activity": rng.pareto(1.5, n) + 0.1, "cluster_id": cluster}
    )
    outside = locations["cluster_id"].isna()
    noise = locations.loc[outside, ["lat", "lon"]].assign(
        records=5, patents=1.0, publications=3.0, vc_deals=1.0
    )
    return locations, noise, rankings


def _image_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.size


def test_map_is_a_deterministic_png_of_the_expected_size():
    locations, noise, rankings = _map_inputs()
    kwargs = {"synthetic": True, "title": "Innovation clusters — $demo$"}
    png = render_map_png(locations, noise, rankings, **kwargs)
    assert png.startswith(PNG_MAGIC)
    assert _image_size(png) == (2100, 1050)
    assert render_map_png(locations, noise, rankings, **kwargs) == png
    real = render_map_png(locations, noise, rankings, synthetic=False, title=kwargs["title"])
    assert real != png  # the synthetic footer is drawn


@pytest.mark.parametrize(
    "tables",
    [
        (pd.DataFrame(), pd.DataFrame(), pd.DataFrame()),
        (
            pd.DataFrame(columns=["lat", "lon", "activity", "cluster_id"]),
            pd.DataFrame(columns=["lat", "lon", "records"]),
            _rankings(2).iloc[0:0],
        ),
    ],
)
def test_map_copes_with_empty_tables(tables):
    png = render_map_png(*tables, synthetic=False, title="Nothing found")
    assert png.startswith(PNG_MAGIC)
    assert _image_size(png) == (2100, 1050)


@pytest.mark.slow
def test_map_of_a_million_locations_renders():
    rng = np.random.default_rng(3)
    n = 1_000_000
    rankings = _rankings(4)
    locations = pd.DataFrame(
        {
            "lat": rng.uniform(-55, 80, n),
            "lon": rng.uniform(-180, 180, n),
            "activity": rng.pareto(1.2, n),
            "cluster_id": pd.Series(rng.choice(["c0", "c1", "c2", "c3", None], n)),
        }
    )
    noise = locations.head(20_000)[["lat", "lon"]].assign(records=5)
    png = render_map_png(locations, noise, rankings, synthetic=True, title="Load")
    assert png.startswith(PNG_MAGIC)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _economies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "economy": ["CN", "JP", "HK"],
            "world_region": ["Asia", "Asia", "Asia"],
            "clusters": [1, 1, 1],
            "leading_cluster": ["Shenzhen–Hong Kong–Guangzhou", "Tokyo–Yokohama", "Shenzhen"],
            "leading_rank": [2, 1, 2],
        }
    )


def _summary(*, synthetic: bool) -> dict:
    return {
        "run_id": "run-42",
        "synthetic": synthetic,
        "parameters": {"eps_km": 13.0, "min_samples": {"patents": 5, "publications": 5}},
        "counts": {"records_read": {"patents": 1234567}, "rejected": {"bad_coordinates": 12}},
        "timings": {"read": 1.25, "cluster": 10.5},
        "aggregates": {
            "concentration": {
                "patents": {"top1": 0.1, "top2": 0.15, "top10": 0.4},
                "publications": {"top1": 0.05, "top2": 0.09, "top10": 0.3},
            }
        },
        "versions": {"numpy": "2.0.0", "pandas": "2.2.0"},
        "geocoding": {
            "per_source": {
                "patent": {
                    "rows_to_geocode": 2000,
                    "match_rate": 0.9875,
                    "ambiguous_rows": 0,
                    "by_method": {"exact": 1975, "unmatched": 25},
                }
            },
            "most_frequent_unmatched": [
                {"text": "Research Triangle Park, NC, US", "rows": 25, "method": "state"}
            ],
            "most_frequent_ambiguous": [],
        },
    }


PNG_STUB = PNG_MAGIC + b"stub image bytes"


def _report(*, synthetic: bool = True, rankings: pd.DataFrame | None = None, top: int = 10) -> str:
    rankings = _rankings(4) if rankings is None else rankings
    return render_report_html(
        rankings, _economies(), _summary(synthetic=synthetic), PNG_STUB, top=top
    )


def test_report_banner_only_when_synthetic():
    assert SYNTHETIC_BANNER in _report(synthetic=True)
    real = _report(synthetic=False)
    assert SYNTHETIC_BANNER not in real
    assert 'class="banner"' not in real


def test_report_escapes_text_from_the_data():
    rankings = _rankings(4)
    rankings.loc[0, "name"] = '<script>alert("x")</script>'
    page = _report(rankings=rankings)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_report_is_self_contained_with_the_map_embedded():
    page = _report()
    assert page.startswith("<!DOCTYPE html>")
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert match and base64.b64decode(match.group(1)) == PNG_STUB
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "Gazetteer data: GeoNames (geonames.org), CC BY 4.0; subdivision names" in page
    assert page == _report()


def test_report_tables_have_units_and_formatted_numbers():
    page = _report()
    for header in (
        "Patents (PCT applications, fractional count)",
        "Share of world patents (%)",
        "Population (millions)",
        "Intensity (score per million inhabitants)",
    ):
        assert header in page
    assert ">10.12<" in page  # share 0.101234 as a percentage
    assert ">123,456.2<" in page or ">123,456.3<" in page  # fractional count, 1 decimal
    assert ">37.00<" in page  # population in millions
    assert ">n/a<" in page  # zero population and NaN intensity
    assert "1,234,567" in page  # counts with thousands separators
    assert "10.00 %" in page  # top-1 concentration share
    assert "run-42" in page and "eps_km" in page and "numpy" in page


def test_report_gives_geocoding_match_rates_as_percentages():
    page = _report()
    section = page[page.index('<section id="geocoding">') :]
    section = section[: section.index("</section>")]
    assert "<h2>Geocoding</h2>" in section
    assert "98.75 %" in section and "2,000" in section and "1,975" in section
    assert "0.9875" not in page
    assert "Research Triangle Park, NC, US" in section


def test_report_shows_rank_changes():
    page = _report()
    assert ">▲3<" in page
    assert ">▼1<" in page
    assert ">new<" in page
    assert ">–<" in page


def test_report_limits_rows_and_orders_intensity_ranking():
    page = _report(top=1)
    score_table = page.split('id="ranking"')[1].split("</section>")[0]
    assert "Tokyo–Yokohama" in score_table and "Shenzhen" not in score_table
    intensity_table = page.split('id="intensity"')[1].split("</section>")[0]
    # Seoul has intensity rank 1 although it is third by score.
    assert "Seoul" in intensity_table and "Tokyo" not in intensity_table


def test_report_copes_with_missing_columns_and_empty_tables():
    page = render_report_html(
        pd.DataFrame(columns=["rank", "cluster_id", "name"]),
        pd.DataFrame(),
        {"run_id": None, "synthetic": False},
        b"",
        top=10,
    )
    assert "</html>" in page and "n/a" in page
