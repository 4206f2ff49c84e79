"""The world map of a run (flows.report.map): a deterministic PNG of locations, noise, clusters
over land, coastlines and borders."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from flows.report import render_map_png
from flows.report.basemap import country_lines
from flows.report.notices import (
    BASEMAP_CREDIT,
    MAP_CREDIT,
    MAP_SYNTHETIC_FOOTER,
    SYNTHETIC_TITLE_SUFFIX,
)
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
        (title, [MAP_SYNTHETIC_FOOTER, f"{MAP_CREDIT} · {BASEMAP_CREDIT}"]),
        ("Innovation cluster ranking", [f"{MAP_CREDIT} · {BASEMAP_CREDIT}"]),
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


def _render(monkeypatch, locations, noise=None, rankings=None, *, synthetic=False):
    """The map as an RGB array, and its figure (drawn, so its transforms are final)."""
    figures: list[Figure] = []
    save = Figure.savefig

    def spy(fig, *args, **kwargs):
        figures.append(fig)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    png = render_map_png(locations, noise, rankings, synthetic=synthetic, title="Basemap")
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    return pixels, figures[0]


def _luminance(pixels, fig, lat, lon, radius=0):
    """Darkest luminance within ``radius`` pixels of each (lat, lon)."""
    xy = fig.axes[0].transData.transform(np.column_stack([lon, lat]))
    cols = np.rint(xy[:, 0]).astype(int)
    rows = np.rint(pixels.shape[0] - xy[:, 1]).astype(int)
    grey = pixels @ np.array([0.299, 0.587, 0.114])
    return np.array(
        [
            grey[r - radius : r + radius + 1, c - radius : c + radius + 1].min()
            for r, c in zip(rows, cols, strict=True)
        ]
    )


def _points(lat, lon):
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    return pd.DataFrame({"lat": lat, "lon": lon, "activity": 1.0, "cluster_id": None})


def test_the_world_map_draws_land_on_sea_and_coasts_darker_than_both(monkeypatch):
    # Records in Anchorage and Christchurch only: a world frame, no record near the samples.
    pixels, fig = _render(monkeypatch, _points([61.2, -43.5], [-149.9, 172.6]))
    assert fig.axes[0].get_xlim() == (-180.0, 180.0)

    def one(lat, lon):
        return float(_luminance(pixels, fig, [lat], [lon])[0])

    sea, land = one(25.0, -40.0), one(25.0, 5.0)  # Atlantic, Sahara
    assert land > sea + 5
    assert abs(one(42.0, 50.5) - sea) < 3  # the Caspian is water, not land
    assert abs(one(-20.0, -160.0) - sea) < 3  # the Pacific
    # Coast vertices of Africa's west coast: a dark line at each.
    coast, _ = country_lines("50m")
    vertices = np.concatenate(coast)
    box = (vertices[:, 1] > -30) & (vertices[:, 1] < 30)
    box &= (vertices[:, 0] > -18) & (vertices[:, 0] < 12)
    west_africa = vertices[box][::50]
    assert len(west_africa) > 10
    darkest = _luminance(pixels, fig, west_africa[:, 1], west_africa[:, 0], radius=1)
    assert (darkest < sea - 40).mean() > 0.9


def test_a_north_american_map_draws_the_49th_parallel_border(monkeypatch):
    # Cities of both countries, none within a degree of the border.
    lat = [47.6, 45.5, 43.7, 51.0, 41.9, 39.7, 53.5]
    lon = [-122.3, -73.6, -79.4, -114.1, -87.6, -105.0, -113.5]
    pixels, fig = _render(monkeypatch, _points(lat, lon))
    lon_min, lon_max = fig.axes[0].get_xlim()
    assert lon_min < -120 and lon_max > -75 and fig.axes[0].get_ylim()[1] < 85
    # Across the prairies the border runs straight along 49° N; sample it off the graticule.
    along = np.arange(-118.5, -96.0, 1.0)
    on_border = _luminance(pixels, fig, np.full(along.size, 49.0), along, radius=2)
    beside = _luminance(pixels, fig, np.full(along.size, 48.3), along, radius=2)
    assert (on_border < beside - 15).all()
    # Lighter than a coast: the Pacific coast of Washington, Oregon and California.
    coast, _ = country_lines("50m")
    vertices = np.concatenate(coast)
    pacific = vertices[(vertices[:, 0] < -122) & (vertices[:, 1] > 38) & (vertices[:, 1] < 47)]
    pacific = pacific[:: max(1, len(pacific) // 30)]
    coast_dark = _luminance(pixels, fig, pacific[:, 1], pacific[:, 0], radius=2)
    assert np.median(coast_dark) < np.median(on_border) - 10


def test_the_corner_texts_fit_the_figure_and_keep_apart(monkeypatch):
    locations, noise, rankings = _map_inputs(200)
    _, fig = _render(monkeypatch, locations, noise, rankings, synthetic=True)
    renderer = fig.canvas.get_renderer()
    footer, credit = (t.get_window_extent(renderer) for t in fig.texts)
    assert BASEMAP_CREDIT in fig.texts[1].get_text() and MAP_CREDIT in fig.texts[1].get_text()
    assert footer.x0 >= 0 and credit.x1 <= fig.bbox.x1 and credit.y0 >= 0
    assert footer.x1 + 20 < credit.x0  # side by side on one line, with room between them
    ticks = [t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels()]
    assert all(credit.y1 < t.y0 and footer.y1 < t.y0 for t in ticks if t.width)
