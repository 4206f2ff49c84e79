"""The map of a run (PNG): record locations, noise and clusters over coastlines and borders.

A pure function of its inputs: no network, no clock, no global matplotlib state (the figure is
drawn on its own Agg canvas, never through ``pyplot``), so the same inputs give the same bytes
and the renderer is safe to call from worker threads. The basemap (land, coastlines, land
borders) is Natural Earth's 1:50m Admin 0 outlines, vendored (:mod:`flows.report.basemap`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from flows.report.basemap import country_lines, land_rings
from flows.report.figures import mpl_text, png_bytes
from flows.report.formatting import is_missing
from flows.report.frames import by_rank, column, floats
from flows.report.notices import BASEMAP_CREDIT, MAP_CREDIT, MAP_SYNTHETIC_FOOTER

__all__ = ["render_map_png"]

_FIGSIZE = (14.0, 7.0)
_DPI = 150
_LON_LIMITS = (-180.0, 180.0)
_LAT_LIMITS = (-60.0, 85.0)
# Degrees of frame around the data, at least, and the smallest frame (a city's cluster).
_MARGIN_DEG = 2.0
_MIN_SPAN_DEG = 8.0
_TICK_STEPS = (1, 2, 5, 10, 15, 30)


def map_extent(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float]:
    """The frame of a map of points: ``lon_min, lon_max, lat_min, lat_max``.

    The points' box with a margin (a tenth of its size, at least ``_MARGIN_DEG``), widened
    to the figure's 2:1 shape (so the equal-aspect map fills it) and kept within the world
    frame −180…180 × −60…85; no finite point, or points across most of the world, give
    that world frame.
    """
    lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    world = (*_LON_LIMITS, *_LAT_LIMITS)
    if not ok.any():
        return world
    lat, lon = lat[ok], lon[ok]
    ratio = _FIGSIZE[0] / _FIGSIZE[1]
    lat_span = max(lat.max() - lat.min(), _MIN_SPAN_DEG / ratio)
    lon_span = max(lon.max() - lon.min(), _MIN_SPAN_DEG)
    margin = max(_MARGIN_DEG, 0.1 * max(lat_span, lon_span / ratio))
    lat_span, lon_span = lat_span + 2 * margin, lon_span + 2 * margin
    lat_span, lon_span = max(lat_span, lon_span / ratio), max(lon_span, lat_span * ratio)
    if lon_span >= _LON_LIMITS[1] - _LON_LIMITS[0] or lat_span >= _LAT_LIMITS[1] - _LAT_LIMITS[0]:
        return world
    lon_mid, lat_mid = (lon.max() + lon.min()) / 2, (lat.max() + lat.min()) / 2

    def within(mid: float, span: float, limits: tuple[float, float]) -> tuple[float, float]:
        low = min(max(mid - span / 2, limits[0]), limits[1] - span)
        return float(low), float(low + span)

    return (*within(lon_mid, lon_span, _LON_LIMITS), *within(lat_mid, lat_span, _LAT_LIMITS))


def _ticks(low: float, high: float) -> np.ndarray:
    # About six grid lines, at round degrees.
    step = next((s for s in _TICK_STEPS if (high - low) / s <= 7), _TICK_STEPS[-1])
    return np.arange(np.ceil(low / step) * step, high + 1e-9, step)


_BACKGROUND_COLOUR = "#c4c4c4"
# A pale basemap under the data: grey-blue sea, near-white land (record dots, mid grey, stay
# visible on both), coasts darker than borders so that the continents read first.
_OCEAN_COLOUR = "#dfe8ef"
_LAND_COLOUR = "#f4f5f6"
_GRID_COLOUR = "#c9d3dc"
_COAST_COLOUR, _COAST_WIDTH = "#59636d", 0.5
_BORDER_COLOUR, _BORDER_WIDTH = "#98a2ab", 0.35
_BASEMAP_RESOLUTION = "50m"
# Stacking: land, graticule, borders, coasts, then the data (zorder 1 and up).
_LAND_Z, _GRID_Z, _BORDER_Z, _COAST_Z = 0.1, 0.3, 0.5, 0.6
_NOISE_COLOUR = "#1f4fbf"
# tab20 without its blues (noise is blue) and greys (the background is grey), dark shades first
# so that the top clusters, drawn in rank order, get the most distinct colours.
_CLUSTER_COLOURS = (
    "#d62728",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#ff9896",
    "#ffbb78",
    "#98df8a",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
)
# Marker diameters (points) of the smallest and largest cluster member, in a few classes: one
# ``plot`` call per colour and class keeps Agg on its fast path for a million markers.
_MARKER_MIN, _MARKER_MAX, _MARKER_CLASSES = 0.9, 9.0, 10
_LABEL_FONTSIZE = 6.5
# Label offsets (points) tried in turn until one does not cover an earlier label.
_LABEL_OFFSETS = (
    (5, 5, "left", "bottom"),
    (5, -5, "left", "top"),
    (-5, 5, "right", "bottom"),
    (-5, -5, "right", "top"),
    (0, 12, "center", "bottom"),
    (0, -12, "center", "top"),
    (14, 16, "left", "bottom"),
    (14, -16, "left", "top"),
    (-14, 16, "right", "bottom"),
    (-14, -16, "right", "top"),
)


@lru_cache(maxsize=1)
def _land_path() -> Path:
    """All land rings as one compound path, built once per process."""
    rings = land_rings(_BASEMAP_RESOLUTION)
    vertices = np.concatenate(rings)
    codes = np.full(len(vertices), Path.LINETO, dtype=Path.code_type)
    codes[np.cumsum([0] + [len(r) for r in rings[:-1]])] = Path.MOVETO
    # Rings end on their first vertex, so no CLOSEPOLY is needed: a path of MOVETO and LINETO
    # only is one Agg simplifies. Holes wind against their exteriors: the fill spares them.
    return Path(vertices, codes, readonly=True)


def _draw_basemap(ax: Any) -> None:
    """Land, coastlines and borders under the data, clipped to the axes."""
    coast, borders = country_lines(_BASEMAP_RESOLUTION)
    # add_artist and add_collection(autolim=False) clip to the axes and, unlike add_patch,
    # do not walk 60,000 vertices to update data limits that the fixed frame ignores.
    ax.add_artist(PathPatch(_land_path(), fc=_LAND_COLOUR, ec="none", lw=0, zorder=_LAND_Z))
    for lines, colour, width, z in (
        (borders, _BORDER_COLOUR, _BORDER_WIDTH, _BORDER_Z),
        (coast, _COAST_COLOUR, _COAST_WIDTH, _COAST_Z),
    ):
        collection = LineCollection(
            lines, colors=colour, linewidths=width, capstyle="round", joinstyle="round", zorder=z
        )
        ax.add_collection(collection, autolim=False)


def _degrees(value: float, positive: str, negative: str) -> str:
    if round(value) == 0 or abs(round(value)) == 180:
        return f"{abs(value):.0f}°"
    return f"{abs(value):.0f}°{positive if value > 0 else negative}"


def _cluster_codes(cluster_ids: pd.Series, rankings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Member mask and colour index per location, colours assigned in rank order."""
    ids = cluster_ids.astype(object)
    member = (ids.notna() & (ids != "")).to_numpy(dtype=bool)
    codes, uniques = pd.factorize(ids.where(member, None).astype(object), sort=False)
    ranked = [str(c) for c in column(rankings, "cluster_id", None).tolist() if not is_missing(c)]
    order = {cid: k for k, cid in enumerate(dict.fromkeys(ranked))}
    # Clusters absent from the ranking follow the ranked ones, in id order, so colours stay
    # independent of the row order of ``locations``.
    extra = sorted(str(u) for u in uniques if str(u) not in order)
    for cid in extra:
        order[cid] = len(order)
    colour_of_unique = np.array([order[str(u)] for u in uniques], dtype=np.int64)
    colour = np.full(len(ids), -1, dtype=np.int64)
    colour[codes >= 0] = colour_of_unique[codes[codes >= 0]] % len(_CLUSTER_COLOURS)
    return member & (codes >= 0), colour


def _marker_classes(activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Size class per point and marker diameter per class, diameter ∝ sqrt(activity)."""
    activity = np.where(np.isfinite(activity) & (activity > 0), activity, 0.0)
    top = float(activity.max()) if activity.size else 0.0
    diameter = _MARKER_MAX * np.sqrt(activity / top) if top > 0 else np.zeros_like(activity)
    diameter = np.clip(diameter, _MARKER_MIN, _MARKER_MAX)
    # Geometric classes: small points differ more visibly than large ones.
    scale = math.log(_MARKER_MAX / _MARKER_MIN)
    classes = np.rint(np.log(diameter / _MARKER_MIN) / scale * (_MARKER_CLASSES - 1))
    sizes = _MARKER_MIN * np.exp(np.arange(_MARKER_CLASSES) / (_MARKER_CLASSES - 1) * scale)
    return classes.astype(np.int64), sizes


def _place_labels(ax: Any, rankings: pd.DataFrame, top_labels: int) -> None:
    """Label the top clusters, trying offsets until a label covers no earlier one.

    Label boxes are estimated from the character count instead of measured, which would need a
    draw per label; the estimate is generous enough to keep labels apart on a world map.
    """
    top = by_rank(rankings).head(max(int(top_labels), 0))
    lat, lon = floats(top, "lat"), floats(top, "lon")
    ranks, names = column(top, "rank", None).tolist(), column(top, "name", "").tolist()
    ax.apply_aspect()
    to_pixels = ax.transData.transform
    axes_box = ax.bbox
    scale = _DPI / 72.0
    placed: list[tuple[float, float, float, float]] = []
    for k in range(len(top)):
        if not (np.isfinite(lat[k]) and np.isfinite(lon[k])):
            continue
        rank = "?" if is_missing(ranks[k]) else str(int(ranks[k]))
        name = "" if is_missing(names[k]) else str(names[k])
        text = f"{rank}. {name}"
        px, py = to_pixels((lon[k], lat[k]))
        width = (len(text) * 0.58 + 0.8) * _LABEL_FONTSIZE * scale
        height = 1.5 * _LABEL_FONTSIZE * scale
        best, best_cost = _LABEL_OFFSETS[0], math.inf
        for offset in _LABEL_OFFSETS:
            dx, dy, ha, va = offset
            x0 = px + dx * scale - {"left": 0.0, "center": width / 2, "right": width}[ha]
            y0 = py + dy * scale - {"bottom": 0.0, "top": height}[va]
            box = (x0, y0, x0 + width, y0 + height)
            cost = sum(
                max(0.0, min(box[2], b[2]) - max(box[0], b[0]))
                * max(0.0, min(box[3], b[3]) - max(box[1], b[1]))
                for b in placed
            )
            if box[0] < axes_box.x0 or box[2] > axes_box.x1:
                cost += width * height
            if box[1] < axes_box.y0 or box[3] > axes_box.y1:
                cost += width * height
            if cost < best_cost:
                best, best_cost = (offset, box), cost
            if cost == 0:
                break
        (dx, dy, ha, va), box = best
        placed.append(box)
        far = abs(dx) > 6 or abs(dy) > 6
        ax.plot([lon[k]], [lat[k]], marker="o", ms=3.2, mfc="none", mec="black", mew=0.6, zorder=5)
        ax.annotate(
            mpl_text(text),
            xy=(lon[k], lat[k]),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=_LABEL_FONTSIZE,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
            arrowprops=(
                {"arrowstyle": "-", "lw": 0.5, "color": "0.25", "shrinkA": 0, "shrinkB": 1.5}
                if far
                else None
            ),
        )


def render_map_png(
    locations: pd.DataFrame | None,
    noise: pd.DataFrame | None,
    rankings: pd.DataFrame | None,
    *,
    top_labels: int = 20,
    synthetic: bool,
    title: str,
) -> bytes:
    """Draw the world map of record locations, noise and clusters as PNG bytes.

    On an equirectangular longitude/latitude frame that fits the record locations
    (:func:`map_extent`; at most −180…180 × −60…85), the data are drawn over a basemap of
    Natural Earth 1:50m land (filled), coastlines and land borders (thinner, lighter), split
    at the antimeridian and clipped to the frame (:mod:`flows.report.basemap`). The bottom
    right corner credits the gazetteer and the basemap.

    Parameters
    ----------
    locations : pandas.DataFrame or None
        Columns ``lat``, ``lon``, ``activity`` (≥ 0) and ``cluster_id`` (missing outside every
        cluster). All are drawn as tiny grey dots; cluster members again in their cluster's
        colour (a qualitative palette in rank order, cycling) with marker diameter ∝
        sqrt(activity), quantised to a few sizes.
    noise : pandas.DataFrame or None
        Columns ``lat``, ``lon``: noise locations, drawn in blue.
    rankings : pandas.DataFrame or None
        The ranking table; ``rank``, ``cluster_id``, ``name``, ``lat``, ``lon`` are used.
    top_labels : int, default 20
        How many of the best-ranked clusters get a "rank. name" label at their centroid.
    synthetic : bool
        Whether the demo world was used; adds a footer saying the data are not WIPO figures.
    title : str
        Title above the map.

    Returns
    -------
    bytes
        A 2100 × 1050 pixel PNG (14 × 7 in at 150 dpi) without time stamps or software
        version, so the same inputs give the same bytes.
    """
    rankings = rankings if rankings is not None else pd.DataFrame()
    fig = Figure(figsize=_FIGSIZE, dpi=_DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.035, 0.075, 0.955, 0.855))
    lon_min, lon_max, lat_min, lat_max = map_extent(
        floats(locations, "lat"), floats(locations, "lon")
    )
    ax.set_xlim(lon_min, lon_max)
    ax.set_ylim(lat_min, lat_max)
    ax.set_aspect("equal", adjustable="box")
    ax.set_facecolor(_OCEAN_COLOUR)
    _draw_basemap(ax)
    ax.set_xticks(_ticks(lon_min, lon_max))
    ax.set_yticks(_ticks(lat_min, lat_max))
    ax.tick_params(labelsize=7, color="0.6", labelcolor="0.35")
    ax.xaxis.set_major_formatter(lambda v, _: _degrees(v, "E", "W"))
    ax.yaxis.set_major_formatter(lambda v, _: _degrees(v, "N", "S"))
    # The graticule above the land (else it shows at sea only), below coasts and data.
    ax.xaxis.set_zorder(_GRID_Z)
    ax.yaxis.set_zorder(_GRID_Z)
    ax.grid(color=_GRID_COLOUR, lw=0.4)
    for spine in ax.spines.values():
        spine.set_color("0.7")
    ax.set_title(mpl_text(str(title)), fontsize=12)

    handles: list[Any] = []
    labels: list[str] = []

    lat, lon = floats(locations, "lat"), floats(locations, "lon")
    finite = np.isfinite(lat) & np.isfinite(lon)
    if finite.any():
        # Single-pixel markers: Agg blits one pixel per point, fast enough for millions.
        ax.plot(lon[finite], lat[finite], ",", color=_BACKGROUND_COLOUR, zorder=1)
        handles.append(Line2D([], [], ls="none", marker="o", ms=3, color=_BACKGROUND_COLOUR))
        labels.append("Record locations")

    noise_lat, noise_lon = floats(noise, "lat"), floats(noise, "lon")
    noise_ok = np.isfinite(noise_lat) & np.isfinite(noise_lon)
    if noise_ok.any():
        ax.plot(
            noise_lon[noise_ok],
            noise_lat[noise_ok],
            ls="none",
            marker="o",
            ms=1.1,
            mew=0,
            color=_NOISE_COLOUR,
            alpha=0.55,
            zorder=2,
        )
        handles.append(Line2D([], [], ls="none", marker="o", ms=4, color=_NOISE_COLOUR))
        labels.append("Noise (locations outside every cluster)")

    if locations is not None and len(locations) and "cluster_id" in locations.columns:
        member, colour = _cluster_codes(locations["cluster_id"], rankings)
        member &= finite
        if member.any():
            classes, sizes = _marker_classes(floats(locations, "activity")[member])
            m_lon, m_lat, m_colour = lon[member], lat[member], colour[member]
            # Large markers first so that small ones stay visible on top of them.
            for size_class in range(_MARKER_CLASSES - 1, -1, -1):
                in_class = classes == size_class
                if not in_class.any():
                    continue
                for c in np.unique(m_colour[in_class]).tolist():
                    pick = in_class & (m_colour == c)
                    ax.plot(
                        m_lon[pick],
                        m_lat[pick],
                        ls="none",
                        marker="o",
                        ms=float(sizes[size_class]),
                        mew=0,
                        color=_CLUSTER_COLOURS[c],
                        alpha=0.85,
                        zorder=3,
                    )
            used = np.unique(m_colour).tolist()[:5]
            handles.append(
                tuple(
                    Line2D([], [], ls="none", marker="o", ms=4, color=_CLUSTER_COLOURS[c])
                    for c in used
                )
            )
            labels.append("Cluster members (colour per cluster; size ∝ √activity)")

    _place_labels(ax, rankings, top_labels)

    if handles:
        ax.legend(
            handles,
            labels,
            loc="lower left",
            fontsize=7,
            framealpha=0.85,
            handler_map={tuple: HandlerTuple(ndivide=None, pad=0.1)},
        )
    if synthetic:
        fig.text(
            0.01,
            0.015,
            MAP_SYNTHETIC_FOOTER,
            ha="left",
            va="bottom",
            fontsize=10,
            weight="bold",
            color="#b00020",
        )
    # One line, right-aligned in the corner opposite the synthetic footer (the map's test
    # checks that the two do not meet).
    fig.text(
        0.99,
        0.015,
        f"{MAP_CREDIT} · {BASEMAP_CREDIT}",
        ha="right",
        va="bottom",
        fontsize=7,
        color="0.3",
    )

    return png_bytes(fig, dpi=_DPI)
