"""The report's interactive map (flows.report.webmap): its data, popups and embedded assets."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from flows.report.webmap import (
    RANK_CLASSES,
    TILE_URL,
    cluster_popup,
    leaflet_assets,
    map_data,
    render_web_map,
)

ASSETS = Path(__file__).resolve().parents[1] / "flows" / "report" / "assets"


def _square(lon: float, lat: float) -> dict:
    ring = [[lon, lat], [lon + 0.1, lat], [lon + 0.1, lat + 0.1], [lon, lat + 0.1], [lon, lat]]
    return {"type": "MultiPolygon", "coordinates": [[ring]]}


def _clusters(ids: list[str]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": _square(k, k), "properties": {"cluster_id": c}}
            for k, c in enumerate(ids)
        ],
    }


def _rankings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 11, 60, 250],
            "cluster_id": ["a", "b", "c", "d"],
            "name": ["Tokyo–Yokohama", "</script><b>x</b>", "Lyon", "Tiny"],
            "economies": ["JP", "CN/HK", "FR", "US"],
            "score": [0.12, 0.03, 0.002, 0.0001],
            "share_patents": [0.1, 0.02, 0.001, 0.0],
            "top_applicant": ["Toyota", None, "Ets <Lyon>", None],
            "top_applicant_share": [0.25, None, 0.5, None],
            "growth_patents": [0.034, None, -0.01, None],
            "vc_amount": [2.5e9, None, 1.2e6, None],
        }
    )


def test_every_footprint_gets_its_rank_colour_label_and_popup():
    data = map_data(
        _rankings(), _clusters(["a", "b", "c", "d", "zz"]), None, tiles=False, synthetic=False
    )
    features = data["clusters"]["features"]
    assert [f["properties"]["cluster_id"] for f in features] == ["a", "b", "c", "d", "zz"]
    colours = [f["properties"]["colour"] for f in features]
    by_class = {label: colour for _, colour, label in RANK_CLASSES}
    assert colours == [
        by_class["Rank 1–10"],
        by_class["Rank 11–25"],
        by_class["Rank 51–100"],
        by_class["Below the top 100"],
        by_class["Below the top 100"],  # a footprint with no ranking row
    ]
    assert features[0]["properties"]["label"] == "1. Tokyo–Yokohama"
    assert features[0]["geometry"] == _square(0, 0)
    assert set(features[0]["properties"]) == {"cluster_id", "colour", "label", "popup"}
    assert data["tiles"] is None


def test_the_popup_gives_the_profile_and_escapes_every_value():
    rows = _rankings().to_dict(orient="records")
    popup = cluster_popup(rows[0])
    assert popup.startswith('<div class="icrank-popup"><strong>1. Tokyo–Yokohama</strong> (JP)')
    assert "Score 12.00 % of the world: patents 10.00 %" in popup
    assert "Top applicant: Toyota (25.00 %)" in popup
    assert "Growth per year: patents +3.4 %, publications n/a" in popup
    assert "VC amount: 2.5 bn" in popup and "Cluster id a" in popup
    assert "Top science organisation: n/a" in popup
    lyon = cluster_popup(rows[2])
    assert "Ets &lt;Lyon&gt; (50.00 %)" in lyon and "VC amount: 1.2 M" in lyon
    assert "&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in cluster_popup(rows[1])


def test_noise_rows_keep_finite_points_only():
    noise = pd.DataFrame(
        {"lat": [1.234567, np.nan, 3.0], "lon": [2.0, 5.0, -4.5], "records": [5, 6, 7]}
    )
    data = map_data(None, None, noise, tiles=False, synthetic=True)
    assert data["noise"] == [[1.2346, 2.0, 5.0], [3.0, -4.5, 7.0]]
    assert data["clusters"]["features"] == []
    assert "synthetic" in data["credits"]["data"].lower()


def test_tiles_are_off_the_default_server_or_a_configured_one():
    assert map_data(None, None, None, tiles=True, synthetic=False)["tiles"]["url"] == TILE_URL
    own = "http://127.0.0.1:8080/t/{z}/{x}/{y}.png"
    layer = map_data(None, None, None, tiles=own, synthetic=False)["tiles"]
    assert layer["url"] == own and "127.0.0.1:8080" in layer["attribution"]


def test_the_embedded_data_cannot_end_its_script_element():
    fragment = render_web_map(
        map_data(_rankings(), _clusters(["b"]), None, tiles=False, synthetic=False)
    )
    payload = fragment.split('id="icrank-map-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in payload
    assert json.loads(payload)["clusters"]["features"][0]["properties"]["cluster_id"] == "b"


def test_leaflet_is_embedded_whole_and_names_no_file_to_load():
    script, css = leaflet_assets()
    assert "Leaflet 1.9.4" in script and "window.icrankMap" in script
    assert "</script" not in script.lower()
    assert re.findall(r"url\((?!data:|#default#VML)", css) == []
    assert css.count("url(data:image/png;base64,") == 3


def test_the_vendored_files_are_the_ones_their_readme_lists():
    readme = (ASSETS / "README.md").read_text()
    listed = dict(
        reversed(line.split()) for line in readme.splitlines() if re.match(r"^[0-9a-f]{64}  ", line)
    )
    assert len(listed) == 9
    for name, digest in listed.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == digest, name


def test_ranked_clusters_get_a_centre_whose_area_follows_the_score():
    rankings = _rankings().assign(lat=[35.6, 22.6, 45.7, 40.0], lon=[139.7, 114.1, 4.8, -75.0])
    data = map_data(rankings, _clusters(["a", "b", "c"]), None, tiles=False, synthetic=False)
    centres = {c["cluster_id"]: c for c in data["centres"]}
    assert set(centres) == {"a", "b", "c"}  # "d" has no footprint here
    assert (centres["a"]["lat"], centres["a"]["lon"]) == (35.6, 139.7)
    # Radius = 2.5 + 13.5 * sqrt(score / top score): areas compare as scores do.
    assert centres["a"]["radius"] == 16.0
    assert centres["b"]["radius"] == round(2.5 + 13.5 * (0.03 / 0.12) ** 0.5, 2)
    assert centres["c"]["colour"] == RANK_CLASSES[3][1]
