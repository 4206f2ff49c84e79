"""Renderers of a run's human-readable outputs: the world map (PNG) and the report (HTML).

Both are pure functions of their inputs: no network, no clock, no global matplotlib state (the
figure is drawn on its own Agg canvas, never through ``pyplot``), so the same inputs give the
same bytes and the renderers are safe to call from worker threads.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D

from core.gazetteer import GAZETTEER_CREDIT

__all__ = ["SYNTHETIC_BANNER", "render_map_png", "render_report_html"]

SYNTHETIC_BANNER = (
    "Demo data are synthetic — random records placed around real GeoNames cities — not WIPO figures"
)
MAP_SYNTHETIC_FOOTER = "SYNTHETIC demo data — not WIPO figures"
MAP_CREDIT = "Gazetteer: GeoNames (CC BY 4.0)"

_FIGSIZE = (14.0, 7.0)
_DPI = 150
_LON_LIMITS = (-180.0, 180.0)
_LAT_LIMITS = (-60.0, 85.0)
_BACKGROUND_COLOUR = "#c4c4c4"
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

_MISSING = "n/a"


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(missing) if np.ndim(missing) == 0 else False


def _column(frame: pd.DataFrame | None, name: str, default: Any = np.nan) -> pd.Series:
    """A column of ``frame``, or ``default`` repeated when the frame lacks it."""
    if frame is None:
        return pd.Series([], dtype=object)
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def _floats(frame: pd.DataFrame | None, name: str) -> np.ndarray:
    values = pd.to_numeric(_column(frame, name), errors="coerce")
    return np.asarray(values, dtype=np.float64)


def _by_rank(rankings: pd.DataFrame | None) -> pd.DataFrame:
    if rankings is None:
        return pd.DataFrame()
    if "rank" in rankings.columns:
        return rankings.sort_values("rank", kind="mergesort", na_position="last")
    return rankings


# --------------------------------------------------------------------------------------------
# Map
# --------------------------------------------------------------------------------------------


def _mpl_text(text: str) -> str:
    # A pair of "$" would switch matplotlib into mathtext; names are plain text.
    return text.replace("$", r"\$")


def _degrees(value: float, positive: str, negative: str) -> str:
    if round(value) == 0 or abs(round(value)) == 180:
        return f"{abs(value):.0f}°"
    return f"{abs(value):.0f}°{positive if value > 0 else negative}"


def _cluster_codes(cluster_ids: pd.Series, rankings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Member mask and colour index per location, colours assigned in rank order."""
    ids = cluster_ids.astype(object)
    member = (ids.notna() & (ids != "")).to_numpy(dtype=bool)
    codes, uniques = pd.factorize(ids.where(member, None).astype(object), sort=False)
    ranked = [str(c) for c in _column(rankings, "cluster_id", None).tolist() if not _is_missing(c)]
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
    top = _by_rank(rankings).head(max(int(top_labels), 0))
    lat, lon = _floats(top, "lat"), _floats(top, "lon")
    ranks, names = _column(top, "rank", None).tolist(), _column(top, "name", "").tolist()
    ax.apply_aspect()
    to_pixels = ax.transData.transform
    axes_box = ax.bbox
    scale = _DPI / 72.0
    placed: list[tuple[float, float, float, float]] = []
    for k in range(len(top)):
        if not (np.isfinite(lat[k]) and np.isfinite(lon[k])):
            continue
        rank = "?" if _is_missing(ranks[k]) else str(int(ranks[k]))
        name = "" if _is_missing(names[k]) else str(names[k])
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
            _mpl_text(text),
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

    There is no basemap: the record locations themselves trace the continents on an
    equirectangular longitude/latitude frame (−180…180 × −60…85).

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
    ax.set_xlim(*_LON_LIMITS)
    ax.set_ylim(*_LAT_LIMITS)
    ax.set_aspect("equal", adjustable="box")
    ax.set_facecolor("#f6f8fa")
    ax.set_xticks(np.arange(-180, 181, 30))
    ax.set_yticks(np.arange(-60, 85, 30))
    ax.tick_params(labelsize=7, color="0.6", labelcolor="0.35")
    ax.xaxis.set_major_formatter(lambda v, _: _degrees(v, "E", "W"))
    ax.yaxis.set_major_formatter(lambda v, _: _degrees(v, "N", "S"))
    ax.grid(color="0.88", lw=0.5, zorder=0)
    for spine in ax.spines.values():
        spine.set_color("0.7")
    ax.set_title(_mpl_text(str(title)), fontsize=12)

    handles: list[Any] = []
    labels: list[str] = []

    lat, lon = _floats(locations, "lat"), _floats(locations, "lon")
    finite = np.isfinite(lat) & np.isfinite(lon)
    if finite.any():
        # Single-pixel markers: Agg blits one pixel per point, fast enough for millions.
        ax.plot(lon[finite], lat[finite], ",", color=_BACKGROUND_COLOUR, zorder=1)
        handles.append(Line2D([], [], ls="none", marker="o", ms=3, color=_BACKGROUND_COLOUR))
        labels.append("Record locations")

    noise_lat, noise_lon = _floats(noise, "lat"), _floats(noise, "lon")
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
            classes, sizes = _marker_classes(_floats(locations, "activity")[member])
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
    fig.text(0.99, 0.015, MAP_CREDIT, ha="right", va="bottom", fontsize=8, color="0.3")

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Names in scripts the bundled font lacks render as boxes; that is not worth a warning.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing")
        fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> float | None:
    if _is_missing(value) or isinstance(value, (str, bytes)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt_percent(value: Any) -> str:
    number = _number(value)
    return _MISSING if number is None else f"{number * 100:,.2f}"


def _fmt_count(value: Any) -> str:
    number = _number(value)
    return _MISSING if number is None else f"{number:,.1f}"


def _fmt_two(value: Any) -> str:
    number = _number(value)
    return _MISSING if number is None else f"{number:,.2f}"


def _fmt_int(value: Any) -> str:
    number = _number(value)
    return _MISSING if number is None else f"{round(number):,}"


def _fmt_millions(value: Any) -> str:
    number = _number(value)
    # A zero population means "unknown" upstream (intensity is NaN there too).
    return _MISSING if number is None or number <= 0 else f"{number / 1e6:,.2f}"


def _fmt_significant(value: Any) -> str:
    number = _number(value)
    return _MISSING if number is None else f"{number:.4g}"


def _fmt_text(value: Any) -> str:
    return _MISSING if _is_missing(value) else str(value)


def _change_cell(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """Text, CSS class and tooltip of a rank change."""
    new = row.get("new_entrant")
    if not _is_missing(new) and bool(new):
        return "new", "new", "new in the top ranking"
    change = _number(row.get("rank_change"))
    if change is None:
        return "–", "same", "no previous rank"
    if change > 0:
        return f"▲{round(change)}", "up", f"up {round(change)} places"
    if change < 0:
        return f"▼{round(-change)}", "down", f"down {round(-change)} places"
    return "–", "same", "unchanged"


# (header, column, formatter, numeric) of the main ranking table.
_Column = tuple[str, str, Callable[[Any], str], bool]
_RANKING_COLUMNS: tuple[_Column, ...] = (
    ("Rank", "rank", _fmt_int, True),
    ("Cluster", "name", _fmt_text, False),
    ("Cluster id (geohash)", "cluster_id", _fmt_text, False),
    ("Economies", "economies", _fmt_text, False),
    ("World region", "world_region", _fmt_text, False),
    ("Patents (PCT applications, fractional count)", "patents", _fmt_count, True),
    ("Publications (scientific articles, fractional count)", "publications", _fmt_count, True),
    ("VC deals (fractional count)", "vc_deals", _fmt_count, True),
    ("Share of world patents (%)", "share_patents", _fmt_percent, True),
    ("Share of world publications (%)", "share_publications", _fmt_percent, True),
    ("Share of world VC deals (%)", "share_vc", _fmt_percent, True),
    ("Score (sum of shares, %)", "score", _fmt_percent, True),
    ("Population (millions)", "population", _fmt_millions, True),
    ("Intensity (score per million inhabitants)", "intensity", _fmt_significant, True),
    ("Intensity rank", "intensity_rank", _fmt_int, True),
)
_INTENSITY_COLUMNS: tuple[_Column, ...] = (
    ("Intensity rank", "intensity_rank", _fmt_int, True),
    ("Cluster", "name", _fmt_text, False),
    ("Economies", "economies", _fmt_text, False),
    ("Rank by score", "rank", _fmt_int, True),
    ("Score (sum of shares, %)", "score", _fmt_percent, True),
    ("Population (millions)", "population", _fmt_millions, True),
    ("Patents per million inhabitants", "patents_per_million", _fmt_two, True),
    ("Publications per million inhabitants", "publications_per_million", _fmt_two, True),
    ("VC deals per million inhabitants", "vc_per_million", _fmt_two, True),
    ("Intensity (score per million inhabitants)", "intensity", _fmt_significant, True),
)
_ECONOMY_COLUMNS: tuple[_Column, ...] = (
    ("Economy (ISO 3166-1 alpha-2)", "economy", _fmt_text, False),
    ("World region", "world_region", _fmt_text, False),
    ("Clusters in the top ranking (number)", "clusters", _fmt_int, True),
    ("Leading cluster", "leading_cluster", _fmt_text, False),
    ("Rank of the leading cluster", "leading_rank", _fmt_int, True),
)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        dict(zip(frame.columns, values, strict=True))
        for values in frame.itertuples(index=False, name=None)
    ]


def _table(
    frame: pd.DataFrame,
    columns: Sequence[_Column],
    *,
    caption: str,
    change_after: str | None = None,
) -> str:
    """An HTML table of ``frame``; ``change_after`` inserts the rank change after that column."""
    heads = []
    for header, column, _, numeric in columns:
        css = ' class="num"' if numeric else ""
        heads.append(f'<th scope="col"{css}>{_esc(header)}</th>')
        if column == change_after:
            heads.append('<th scope="col">Change since the previous ranking</th>')
    rows = []
    for record in _records(frame):
        cells = []
        for _, column, formatter, numeric in columns:
            value = record.get(column)
            text = formatter(value)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{_esc(text)}</td>")
            if column == change_after:
                text, css, tip = _change_cell(record)
                cells.append(f'<td class="chg {css}" title="{_esc(tip)}">{_esc(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        span = len(heads)
        rows.append(f'<tr><td colspan="{span}" class="empty">No rows.</td></tr>')
    return (
        '<div class="scroll"><table>'
        f"<caption>{_esc(caption)}</caption>"
        f"<thead><tr>{''.join(heads)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


_PERCENT_KEY = re.compile(r"share|rate|^top_?\d+$", re.IGNORECASE)


def _format_value(value: Any, path: tuple[str, ...], style: str) -> str:
    """Format a summary scalar; ``style`` is the section's convention for numbers."""
    if _is_missing(value):
        return _MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if style == "raw" or isinstance(value, str):
        return str(value)
    number = _number(value)
    if number is None:
        return str(value)
    if style == "seconds":
        return f"{number:,.2f} s"
    if style == "share" and any(_PERCENT_KEY.search(p) for p in path):
        return f"{number * 100:,.2f} %"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{number:,.1f}" if style == "count" else f"{number:,.4g}"


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple, np.ndarray))


def _nested(value: Any, path: tuple[str, ...], style: str) -> str:
    """Render nested dicts and lists: uniform dicts of dicts and lists of dicts as tables,
    other dicts as definition lists."""
    if _is_scalar(value):
        return _esc(_format_value(value, path, style))
    if isinstance(value, Mapping):
        if not value:
            return f"<em>{_MISSING}</em>"
        inner = list(value.values())
        # Dicts of like records (same keys, scalar values) read best as a table.
        if all(isinstance(v, Mapping) and v and all(map(_is_scalar, v.values())) for v in inner):
            keys = list(inner[0])
            if len(inner) > 1 and all(set(v) == set(keys) for v in inner):
                return _grid([str(k) for k in value], inner, keys, path, style)
        items = "".join(
            f"<dt>{_esc(k)}</dt><dd>{_nested(v, (*path, str(k)), style)}</dd>"
            for k, v in value.items()
        )
        return f"<dl>{items}</dl>"
    items_list = list(value)
    if items_list and all(isinstance(v, Mapping) for v in items_list):
        keys = list(dict.fromkeys(k for v in items_list for k in v))
        return _grid(None, items_list, keys, path, style)
    if all(map(_is_scalar, items_list)):
        return _esc(", ".join(_format_value(v, path, style) for v in items_list)) or _MISSING
    return "<ol>" + "".join(f"<li>{_nested(v, path, style)}</li>" for v in items_list) + "</ol>"


def _grid(
    row_names: list[str] | None,
    rows: list[Mapping[str, Any]],
    keys: list[Any],
    path: tuple[str, ...],
    style: str,
) -> str:
    head = ("<th></th>" if row_names is not None else "") + "".join(
        f'<th scope="col">{_esc(k)}</th>' for k in keys
    )
    body = []
    for n, row in enumerate(rows):
        name = f'<th scope="row">{_esc(row_names[n])}</th>' if row_names is not None else ""
        cells = "".join(
            f'<td class="num">{_nested(row.get(k), (*path, str(k)), style)}</td>' for k in keys
        )
        body.append(f"<tr>{name}{cells}</tr>")
    return (
        f'<div class="scroll"><table class="compact"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _timings(timings: Any) -> str:
    if not isinstance(timings, Mapping) or not all(map(_is_scalar, timings.values())):
        return _nested(timings, ("timings",), "seconds")
    rows = [
        f'<tr><th scope="row">{_esc(stage)}</th>'
        f'<td class="num">{_esc(_format_value(seconds, (), "seconds"))}</td></tr>'
        for stage, seconds in timings.items()
    ]
    numbers = [_number(v) for v in timings.values()]
    # A sum is only offered when the summary has no total of its own, which would be counted
    # twice; stages may overlap, so it is labelled as what it is.
    has_total = any(str(stage).strip().lower() == "total" for stage in timings)
    if rows and not has_total and all(n is not None for n in numbers):
        total = _format_value(math.fsum(numbers), (), "seconds")  # type: ignore[arg-type]
        rows.append(
            '<tr class="total"><th scope="row">Sum of stages</th>'
            f'<td class="num">{_esc(total)}</td></tr>'
        )
    if not rows:
        return f"<p>{_MISSING}</p>"
    return (
        '<div class="scroll"><table class="compact"><thead><tr><th scope="col">Stage</th>'
        '<th scope="col" class="num">Wall time (seconds)</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; margin: 0 auto; max-width: 1400px; padding: 0 1.2rem 2rem; color: #1b1f24; }
h1 { font-size: 1.6rem; margin: 1.2rem 0 0.3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid #d0d7de;
  padding-bottom: 0.2rem; }
.banner { background: #b00020; color: #fff; font-weight: 700; font-size: 1.1rem;
  padding: 0.8rem 1rem; border-radius: 6px; margin: 1rem 0; }
.meta { color: #57606a; margin: 0.2rem 0 1rem; }
figure { margin: 0; }
figure img { width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.85rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.4rem 0 1rem; }
caption { text-align: left; color: #57606a; padding: 0.2rem 0; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 0.25rem 0.5rem; vertical-align: top; }
thead th { background: #f3f5f7; text-align: left; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.total th, tr.total td { font-weight: 700; }
.chg { text-align: center; white-space: nowrap; }
.up { color: #1a7f37; } .down { color: #cf222e; } .new { color: #8250df; font-weight: 600; }
.empty { color: #57606a; font-style: italic; }
dl { margin: 0.2rem 0 0.6rem; display: grid; grid-template-columns: max-content auto;
  gap: 0.1rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
footer { margin-top: 2.5rem; color: #57606a; font-size: 0.85rem; border-top: 1px solid #d0d7de;
  padding-top: 0.6rem; }
"""


def render_report_html(
    rankings: pd.DataFrame,
    economies: pd.DataFrame,
    summary: Mapping[str, Any],
    map_png: bytes,
    *,
    top: int,
) -> str:
    """Render the self-contained HTML report of a run.

    Parameters
    ----------
    rankings : pandas.DataFrame
        The ranking table (see the module ``flows`` outputs); missing columns show as "n/a".
    economies : pandas.DataFrame
        Columns ``economy``, ``world_region``, ``clusters``, ``leading_cluster``,
        ``leading_rank``, shown in the given order.
    summary : Mapping
        The run summary: ``run_id``, ``synthetic``, ``parameters``, ``counts``, ``timings``,
        ``aggregates``, ``versions``; any other keys are listed at the end.
    map_png : bytes
        The map from :func:`render_map_png`, embedded as a ``data:`` URI (omitted when empty).
    top : int
        Rows of the score ranking and of the intensity ranking to show.

    Returns
    -------
    str
        One HTML5 document with inline CSS and no external resources. Every piece of text from
        the inputs is HTML-escaped. Shares are percentages with two decimals, fractional
        counts have one decimal and thousands separators, missing values read "n/a".
    """
    top = max(int(top), 0)
    rankings = rankings if rankings is not None else pd.DataFrame()
    economies = economies if economies is not None else pd.DataFrame()
    summary = summary if summary is not None else {}
    run_id = _fmt_text(summary.get("run_id"))
    synthetic = bool(summary.get("synthetic", False))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Innovation cluster ranking — run {_esc(run_id)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Innovation cluster ranking</h1>",
    ]
    if synthetic:
        parts.append(f'<div class="banner" role="alert">{_esc(SYNTHETIC_BANNER)}</div>')
    data_kind = "synthetic demo world" if synthetic else "input records"
    parts.append(
        f'<p class="meta">Run <strong>{_esc(run_id)}</strong> · data: {_esc(data_kind)} · '
        f"clusters of patent inventors, scientific authors and venture capital deals found by "
        f"DBSCAN, ranked by the sum of their shares of the world totals.</p>"
    )
    parts.append("</header>")

    parts.append('<section id="map"><h2>Map</h2>')
    if map_png:
        encoded = base64.b64encode(bytes(map_png)).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{encoded}" '
            'alt="World map of record locations, noise and clusters">'
            "<figcaption>Grey: record locations; blue: noise; colours: cluster members "
            "(marker size ∝ √activity); labels: top clusters by rank.</figcaption></figure>"
        )
    else:
        parts.append(f"<p>Map {_MISSING}.</p>")
    parts.append("</section>")

    ranked = _by_rank(rankings)
    shown = ranked.head(top)
    parts.append('<section id="ranking"><h2>Top clusters by score</h2>')
    parts.append(
        _table(
            shown,
            _RANKING_COLUMNS,
            caption=f"Top {len(shown)} of {len(ranked)} clusters, by score "
            "(sum of the shares of world patents, publications and VC deals).",
            change_after="rank",
        )
    )
    parts.append("</section>")

    parts.append('<section id="intensity"><h2>Top clusters by intensity</h2>')
    if "intensity_rank" in ranked.columns:
        order = pd.to_numeric(ranked["intensity_rank"], errors="coerce")
        by_intensity = ranked.loc[order.notna()].assign(_order=order[order.notna()])
        by_intensity = by_intensity.sort_values("_order", kind="mergesort").head(top)
    else:
        by_intensity = ranked.iloc[0:0]
    parts.append(
        _table(
            by_intensity,
            _INTENSITY_COLUMNS,
            caption="Clusters of the top ranking ordered by intensity (score per million "
            "inhabitants); clusters of unknown population have no intensity rank.",
        )
    )
    parts.append("</section>")

    parts.append('<section id="economies"><h2>Economies</h2>')
    parts.append(
        _table(
            economies,
            _ECONOMY_COLUMNS,
            caption="Economies taking part in clusters of the top ranking.",
        )
    )
    parts.append("</section>")

    sections = (
        ("aggregates", "Aggregates", "share"),
        ("counts", "Counts", "count"),
        ("geocoding", "Geocoding", "share"),
        ("parameters", "Parameters", "raw"),
    )
    for key, heading, style in sections:
        parts.append(f'<section id="{key}"><h2>{_esc(heading)}</h2>')
        parts.append(_nested(summary.get(key, {}), (key,), style))
        parts.append("</section>")

    parts.append('<section id="timings"><h2>Timings</h2>')
    parts.append(_timings(summary.get("timings", {})))
    parts.append("</section>")
    parts.append('<section id="versions"><h2>Library versions</h2>')
    parts.append(_nested(summary.get("versions", {}), ("versions",), "raw"))
    parts.append("</section>")

    known = {
        "run_id",
        "synthetic",
        "aggregates",
        "counts",
        "geocoding",
        "parameters",
        "timings",
        "versions",
    }
    others = {k: v for k, v in summary.items() if k not in known}
    if others:
        parts.append('<section id="other"><h2>Other run information</h2>')
        parts.append(_nested(others, (), "raw"))
        parts.append("</section>")

    parts.append(
        "<footer>"
        f"<p>{_esc(GAZETTEER_CREDIT)}</p>"
        + (f"<p><strong>{_esc(SYNTHETIC_BANNER)}.</strong></p>" if synthetic else "")
        + "</footer>"
    )
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"
