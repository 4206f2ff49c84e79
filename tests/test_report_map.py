"""The world map of a run (flows.report.map): a deterministic PNG of locations, noise, clusters."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from flows.report import render_map_png
from flows.report.notices import MAP_CREDIT, MAP_SYNTHETIC_FOOTER, SYNTHETIC_TITLE_SUFFIX
from tests.support import PNG_MAGIC, ranking_table


def _map_inputs(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    rankings = ranking_table(4)
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
            ranking_table(2).iloc[0:0],
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
    rankings = ranking_table(4)
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


def test_map_footer_and_title_draw_the_notices_of_flows_report_notices(monkeypatch):
    # The PNG cannot be read back as text, so the texts are taken from the figure as it is saved.
    drawn: list[tuple[str, list[str]]] = []
    save = Figure.savefig

    def spy(fig, *args, **kwargs):
        drawn.append((fig.axes[0].get_title(), [t.get_text() for t in fig.texts]))
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    locations, noise, rankings = _map_inputs(200)
    title = "Innovation cluster ranking" + SYNTHETIC_TITLE_SUFFIX
    render_map_png(locations, noise, rankings, synthetic=True, title=title)
    render_map_png(locations, noise, rankings, synthetic=False, title="Innovation cluster ranking")
    assert drawn == [
        (title, [MAP_SYNTHETIC_FOOTER, MAP_CREDIT]),
        ("Innovation cluster ranking", [MAP_CREDIT]),
    ]


def test_the_map_frame_fits_the_data_in_the_figures_shape():
    from flows.report.map import map_extent

    # US record locations: a frame around the contiguous states, twice as wide as high.
    lat = np.array([47.6, 25.8, 42.4, 34.1, 40.7])
    lon = np.array([-122.3, -80.2, -71.1, -118.2, -74.0])
    lon_min, lon_max, lat_min, lat_max = map_extent(lat, lon)
    assert -135 < lon_min < -122.3 and -71.1 < lon_max < -60
    assert lat_min < 25.8 and lat_max > 47.6 and lat_min >= -60 and lat_max <= 85
    assert (lon_max - lon_min) == pytest.approx(2 * (lat_max - lat_min))
    # One city: a frame of a few degrees around it.
    lon_min, lon_max, lat_min, lat_max = map_extent(np.array([35.7]), np.array([139.7]))
    assert lon_min < 139.7 < lon_max and lat_min < 35.7 < lat_max and lon_max - lon_min < 20
    # Records on every continent, and none at all: the world frame.
    world = (-180.0, 180.0, -60.0, 85.0)
    assert map_extent(np.array([60.0, -40.0]), np.array([-150.0, 170.0])) == world
    assert map_extent(np.array([np.nan]), np.array([np.nan])) == world
    # Near the frame's edge the frame moves inside it instead of leaving it.
    lon_min, lon_max, lat_min, lat_max = map_extent(np.array([-55.0]), np.array([179.0]))
    assert lon_max <= 180 and lat_min >= -60
