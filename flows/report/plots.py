"""The report's small plots (PNG): concentration per source, clusters per economy, rank moves.

Each plot is a pure function of its tables, drawn like :mod:`flows.report.map`: a ``Figure`` on
its own Agg canvas (never ``pyplot``, so no global state and safe from worker threads), saved
without time stamps or software version, so the same inputs give the same bytes. A plot with
nothing to show returns ``b""`` and the report leaves its figure out.

The data behind each plot come from small pure helpers (:func:`cumulative_shares`,
:func:`economy_counts`, :func:`biggest_movers`), tested on their own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from core.regions import WORLD_REGIONS
from core.sources import SOURCE_TABLE
from flows.report.figures import mpl_text, png_bytes
from flows.report.formatting import is_missing
from flows.report.frames import by_rank, column, floats
from flows.report.notices import MAP_SYNTHETIC_FOOTER

__all__ = [
    "PLOT_DPI",
    "PLOT_FIGSIZE",
    "biggest_movers",
    "cumulative_shares",
    "economy_counts",
    "plot_clusters_per_economy",
    "plot_rank_changes",
    "plot_top_share",
    "plot_year_over_year",
]

PLOT_FIGSIZE = (7.0, 3.6)
"""Size of every plot in inches: two fit side by side on a 1366 px page."""
PLOT_DPI = 120
"""Resolution of every plot: 840 × 432 pixels, shown at about 650 px wide."""

# Font sizes in points, chosen to stay legible when the 840 px image is shown ~650 px wide.
_TITLE_SIZE = 11.0
_LABEL_SIZE = 9.0
_TICK_SIZE = 8.5
_NOTE_SIZE = 8.0

# The map's palette: its noise blue, then its first cluster colours (red is left to the
# synthetic footer and to "moved down").
_SOURCE_COLOURS = ("#1f4fbf", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
_REGION_COLOURS = dict(zip(WORLD_REGIONS, _SOURCE_COLOURS, strict=True))
_NO_REGION_COLOUR = "#9aa0a6"
# The report's own colours of rank changes (html.py's .up, .down, .new).
_UP_COLOUR, _DOWN_COLOUR, _NEW_COLOUR, _SAME_COLOUR = "#1a7f37", "#cf222e", "#8250df", "#6e7781"
_FOOTER_COLOUR = "#b00020"
_TEXT_COLOUR = "0.2"

# Numbers of top clusters whose cumulative share is marked and labelled.
_SHARE_MARKS = (10, 25, 50, 100)
_MAX_NAME = 26
# Above this many clusters the top-share plot's N axis is logarithmic.
_LOG_FROM = 20
# The fewest bar slots of the economies plot: a few economies get bars of the usual height.
_MIN_BAR_SLOTS = 8


def _short(name: Any) -> str:
    """A cluster name cut to ``_MAX_NAME`` characters, at a "–" between places if it can be.

    Long metropolitan names ("Shenzhen–Hong Kong–Guangzhou") would cover half the plot.
    """
    text = "" if is_missing(name) else str(name)
    if len(text) <= _MAX_NAME:
        return text
    kept = ""
    for part in text.split("–"):
        joined = f"{kept}–{part}" if kept else part
        if len(joined) + 1 > _MAX_NAME:
            break
        kept = joined
    if not kept:
        kept = text[: _MAX_NAME - 1].rstrip(" ,;-")
    return kept + "…"


# ------------------------------------------------------------------------------------------
# The data behind the plots
# ------------------------------------------------------------------------------------------


def _ranked_rows(rankings: pd.DataFrame | None) -> pd.DataFrame:
    """The rows in rank order, without rows whose rank is missing (when there is a rank)."""
    ordered = by_rank(rankings)
    if "rank" in ordered.columns:
        ordered = ordered[np.isfinite(floats(ordered, "rank"))]
    return ordered


def cumulative_shares(rankings: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Per source, the share of the world total held by the top N clusters, N = 1, 2, ….

    Parameters
    ----------
    rankings : pandas.DataFrame or None
        The ranking table; ``rank`` orders the rows (table order without it; rows with a
        missing rank are left out) and each source's ``share_column`` gives its shares.

    Returns
    -------
    dict of str to numpy.ndarray
        For each source of ``SOURCE_TABLE`` whose share column exists with at least one value,
        in that order: the cumulative sum of its shares in rank order, in the unit of the
        column (a cluster's missing share counts as 0).
    """
    ordered = _ranked_rows(rankings)
    out: dict[str, np.ndarray] = {}
    for source in SOURCE_TABLE:
        shares = floats(ordered, source.share_column)
        if not np.isfinite(shares).any():
            continue
        out[source.name] = np.cumsum(np.where(np.isfinite(shares), shares, 0.0))
    return out


def economy_counts(economies: pd.DataFrame | None, *, top: int = 15) -> pd.DataFrame:
    """The economies taking part in most top-ranking clusters, most first.

    Parameters
    ----------
    economies : pandas.DataFrame or None
        The economies table: ``economy``, ``clusters`` and, optionally, ``world_region``.
    top : int, default 15
        How many economies to keep.

    Returns
    -------
    pandas.DataFrame
        ``economy`` (str), ``clusters`` (int) and ``world_region`` (str, empty when unknown),
        sorted by ``clusters`` descending and ties by ``economy``; economies without a code or
        without a positive count are left out.
    """
    codes = column(economies, "economy", None)
    frame = pd.DataFrame(
        {
            "economy": ["" if is_missing(c) else str(c) for c in codes.tolist()],
            "clusters": floats(economies, "clusters"),
            "world_region": [
                "" if is_missing(r) else str(r)
                for r in column(economies, "world_region", "").tolist()
            ],
        }
    )
    frame = frame[(frame["economy"] != "") & (frame["clusters"] > 0)]
    frame = frame.sort_values(["clusters", "economy"], ascending=[False, True], kind="mergesort")
    frame = frame.head(max(int(top), 0)).reset_index(drop=True)
    return frame.astype({"clusters": np.int64})


def _rank_pairs(rankings: pd.DataFrame | None, previous: str, top: int) -> pd.DataFrame:
    """``rank``, ``previous`` (NaN: no match) and ``name`` of the clusters ranked 1…top."""
    ordered = _ranked_rows(rankings)
    frame = pd.DataFrame(
        {
            "rank": floats(ordered, "rank"),
            "previous": floats(ordered, previous),
            "name": [_short(n) for n in column(ordered, "name", "").tolist()],
        }
    )
    return frame[frame["rank"] <= top].reset_index(drop=True)


def biggest_movers(
    rankings: pd.DataFrame | None,
    *,
    previous: str = "rank_previous_method",
    top: int = 30,
    count: int = 8,
) -> pd.DataFrame:
    """The clusters ranked 1…top whose rank differs most from their earlier rank.

    Parameters
    ----------
    rankings : pandas.DataFrame or None
        The ranking table with ``rank``, ``name`` and the ``previous`` column.
    previous : str, default "rank_previous_method"
        The column of earlier ranks (``previous_rank`` for the previous run).
    top : int, default 30
        Only clusters with ``rank <= top`` are considered.
    count : int, default 8
        How many movers to return, at most.

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``previous`` (both int), ``move`` (``previous - rank``: positive moved up)
        and ``name``, sorted by ``|move|`` descending and ties by ``rank``; clusters without
        an earlier rank or whose rank did not change are left out.
    """
    pairs = _rank_pairs(rankings, previous, top)
    pairs = pairs[np.isfinite(pairs["previous"]) & (pairs["previous"] != pairs["rank"])]
    pairs = pairs.assign(move=pairs["previous"] - pairs["rank"])
    pairs = pairs.assign(size=pairs["move"].abs())
    pairs = pairs.sort_values(["size", "rank"], ascending=[False, True], kind="mergesort")
    out = pairs.head(max(int(count), 0))[["rank", "previous", "move", "name"]]
    return out.astype({"rank": np.int64, "previous": np.int64, "move": np.int64}).reset_index(
        drop=True
    )


# ------------------------------------------------------------------------------------------
# Drawing
# ------------------------------------------------------------------------------------------


def _figure(synthetic: bool, *, left: float = 0.085, right: float = 0.975) -> tuple[Figure, Axes]:
    """A white figure on its own Agg canvas with one styled axes.

    The axes get a fixed position (not a layout engine) so that pixel positions are known
    before drawing, which the label placement needs; a demo run's axes sit higher, above the
    footer.
    """
    fig = Figure(figsize=PLOT_FIGSIZE, dpi=PLOT_DPI, facecolor="white")
    FigureCanvasAgg(fig)
    bottom = 0.2 if synthetic else 0.14
    ax = fig.add_axes((left, bottom, right - left, 0.86 - bottom))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("0.65")
    ax.tick_params(labelsize=_TICK_SIZE, color="0.65", labelcolor="0.3")
    ax.grid(color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    if synthetic:
        fig.text(
            0.01,
            0.015,
            MAP_SYNTHETIC_FOOTER,
            ha="left",
            va="bottom",
            fontsize=_NOTE_SIZE,
            weight="bold",
            color=_FOOTER_COLOUR,
        )
    return fig, ax


def _title(fig: Figure, text: str) -> None:
    # Left-aligned with the figure edge rather than centred on the axes: it reads as a heading.
    fig.text(
        0.01,
        0.975,
        mpl_text(text),
        ha="left",
        va="top",
        fontsize=_TITLE_SIZE,
        weight="bold",
        color=_TEXT_COLOUR,
    )


def _spread(pixels: list[float], gap: float) -> list[float]:
    """Positions near ``pixels`` (sorted as given) at least ``gap`` apart, centred on them."""
    out = list(pixels)
    for k in range(1, len(out)):
        out[k] = max(out[k], out[k - 1] + gap)
    # Pushing up only would drift the group; shift it back so it stays centred on the data.
    shift = (sum(out) - sum(pixels)) / len(out) if out else 0.0
    return [p - shift for p in out]


def plot_top_share(rankings: pd.DataFrame | None, *, synthetic: bool) -> bytes:
    """Draw, per source, the share of the world total held by the top N clusters.

    Parameters
    ----------
    rankings : pandas.DataFrame or None
        The ranking table: ``rank`` and each source's share column (fractions of the world
        total, see :func:`cumulative_shares`).
    synthetic : bool
        Whether the demo world was used; adds a footer saying the data are not WIPO figures.

    Returns
    -------
    bytes
        A PNG of ``PLOT_FIGSIZE`` at ``PLOT_DPI`` (840 × 432 pixels): one line per source, y in
        percent of the world total, N = 1…len(rankings), values labelled at N = 10, 25, 50,
        100 and at the last N; the N axis is logarithmic beyond 20 clusters (the tail of a
        full ranking would otherwise squeeze the top ten into a corner). ``b""`` when no source
        has a share.
    """
    curves = cumulative_shares(rankings)
    if not curves:
        return b""
    n = len(next(iter(curves.values())))
    fig, ax = _figure(synthetic)
    _title(fig, "Share of the world held by the top N clusters")
    x = np.arange(1, n + 1)
    marks = [m for m in _SHARE_MARKS if m <= n]
    if n not in marks:
        marks.append(n)
    top_value = max(float(c.max()) for c in curves.values()) * 100
    if n > _LOG_FROM:
        # A log axis: the full ranking runs to hundreds of clusters, yet the top ten hold most.
        ax.set_xscale("log")
        ax.set_xlim(0.9, n * 1.45 + 0.5)
    else:
        ax.set_xlim(0.5, n * 1.12 + 0.5)
    ax.set_ylim(0, max(top_value * 1.1, 1e-9))
    labels = {s.name: s.title for s in SOURCE_TABLE}
    colours = {s.name: _SOURCE_COLOURS[k] for k, s in enumerate(SOURCE_TABLE)}
    for mark in marks:
        ax.axvline(mark, color="0.85", lw=0.7, ls=(0, (3, 3)), zorder=1)
    for name, cumulative in curves.items():
        percent = cumulative * 100
        ax.plot(x, percent, color=colours[name], lw=1.8, label=labels[name], zorder=3)
        at = np.array(marks) - 1
        ax.plot(x[at], percent[at], ls="none", marker="o", ms=4, color=colours[name], zorder=4)
    # Value labels right of each mark, spread vertically so the sources' labels never overlap,
    # on a white ground so that the lines running through them do not hide the digits.
    to_pixels = ax.transData.transform
    gap = 1.3 * _NOTE_SIZE * PLOT_DPI / 72.0
    for mark in marks:
        values = sorted((float(c[mark - 1]) * 100, name) for name, c in curves.items())
        pixels = [float(to_pixels((mark, v))[1]) for v, _ in values]
        for (value, name), px, target in zip(values, pixels, _spread(pixels, gap), strict=True):
            ax.annotate(
                f"{value:.1f}%",
                xy=(mark, value),
                xytext=(4, (target - px) * 72.0 / PLOT_DPI),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=_NOTE_SIZE,
                color=colours[name],
                weight="bold",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
            )
    ticks = sorted({1, *marks}) if n > _LOG_FROM else _rank_ticks(n)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    ax.set_xlabel(
        "Top N clusters (by overall rank; log scale)"
        if n > _LOG_FROM
        else "Top N clusters (by overall rank)",
        fontsize=_LABEL_SIZE,
        color=_TEXT_COLOUR,
    )
    ax.set_ylabel("Share of world total", fontsize=_LABEL_SIZE, color=_TEXT_COLOUR)
    ax.legend(loc="upper left", fontsize=_LABEL_SIZE, frameon=False)
    return png_bytes(fig, dpi=PLOT_DPI)


def plot_clusters_per_economy(
    economies: pd.DataFrame | None, *, top: int = 15, synthetic: bool
) -> bytes:
    """Draw the economies taking part in most top-ranking clusters as horizontal bars.

    Parameters
    ----------
    economies : pandas.DataFrame or None
        The economies table: ``economy``, ``clusters`` and, optionally, ``world_region``
        (the bars' colour).
    top : int, default 15
        How many economies to show (see :func:`economy_counts`), the most at the top.
    synthetic : bool
        Whether the demo world was used; adds a footer saying the data are not WIPO figures.

    Returns
    -------
    bytes
        A PNG of ``PLOT_FIGSIZE`` at ``PLOT_DPI`` (840 × 432 pixels), each bar labelled with
        its count; ``b""`` when no economy has a cluster.
    """
    counts = economy_counts(economies, top=top)
    if counts.empty:
        return b""
    fig, ax = _figure(synthetic, left=0.07)
    _title(fig, "Top-ranking clusters per economy")
    ax.grid(axis="y", visible=False)
    colours = [_REGION_COLOURS.get(r, _NO_REGION_COLOUR) for r in counts["world_region"]]
    y = np.arange(len(counts))
    bars = ax.barh(y, counts["clusters"], height=0.72, color=colours, zorder=3)
    ax.bar_label(
        bars,
        labels=[str(c) for c in counts["clusters"]],
        padding=3,
        fontsize=_NOTE_SIZE,
        color=_TEXT_COLOUR,
    )
    ax.set_yticks(y, [mpl_text(e) for e in counts["economy"]])
    ax.set_ylim(max(len(counts), _MIN_BAR_SLOTS) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, float(counts["clusters"].max()) * 1.08 + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(
        "Clusters in the ranking (a cross-border cluster counts for each economy)",
        fontsize=_LABEL_SIZE,
        color=_TEXT_COLOUR,
    )
    present = [r for r in WORLD_REGIONS if r in set(counts["world_region"])]
    if present:
        handles = [Patch(color=_REGION_COLOURS[r], label=r) for r in present]
        ax.legend(handles=handles, loc="lower right", fontsize=_NOTE_SIZE, frameon=False)
    return png_bytes(fig, dpi=PLOT_DPI)


# Label offsets (points) tried in turn until one does not cover an earlier label or a point.
_LABEL_OFFSETS = (
    (6, 0, "left", "center"),
    (-6, 0, "right", "center"),
    (0, 7, "center", "bottom"),
    (0, -7, "center", "top"),
    (8, 9, "left", "bottom"),
    (-8, 9, "right", "bottom"),
    (8, -9, "left", "top"),
    (-8, -9, "right", "top"),
    (18, 16, "left", "bottom"),
    (-18, 16, "right", "bottom"),
    (18, -16, "left", "top"),
    (-18, -16, "right", "top"),
)


def _place_labels(
    ax: Axes,
    labels: list[tuple[float, float, str, str]],
    points: list[tuple[float, float]],
) -> None:
    """Annotate points, trying offsets until a label covers no point, no earlier label, and
    stays inside the axes.

    Label boxes are estimated from the character count rather than measured (a measure needs a
    draw per label); the estimate errs on the wide side.
    """
    to_pixels = ax.transData.transform
    box_of_axes = ax.bbox
    scale = PLOT_DPI / 72.0
    height = 1.35 * _NOTE_SIZE * scale
    dot = 3.0 * scale
    placed: list[tuple[float, float, float, float]] = []
    for x, y in points:
        px, py = (float(v) for v in to_pixels((x, y)))
        placed.append((px - dot, py - dot, px + dot, py + dot))
    for x, y, text, colour in labels:
        px, py = (float(v) for v in to_pixels((x, y)))
        width = (len(text) * 0.56 + 0.6) * _NOTE_SIZE * scale
        best: tuple[tuple[int, int, str, str], tuple[float, float, float, float]] | None = None
        best_cost = math.inf
        for offset in _LABEL_OFFSETS:
            dx, dy, ha, va = offset
            x0 = px + dx * scale - {"left": 0.0, "center": width / 2, "right": width}[ha]
            y0 = py + dy * scale - {"bottom": 0.0, "center": height / 2, "top": height}[va]
            box = (x0, y0, x0 + width, y0 + height)
            cost = sum(
                max(0.0, min(box[2], b[2]) - max(box[0], b[0]))
                * max(0.0, min(box[3], b[3]) - max(box[1], b[1]))
                for b in placed
            )
            outside = (
                max(0.0, box_of_axes.x0 - box[0])
                + max(0.0, box[2] - box_of_axes.x1)
                + max(0.0, box_of_axes.y0 - box[1])
                + max(0.0, box[3] - box_of_axes.y1)
            )
            cost += outside * height * 4
            if cost < best_cost:
                best, best_cost = (offset, box), cost
            if cost == 0:
                break
        assert best is not None
        (dx, dy, ha, va), box = best
        placed.append(box)
        far = abs(dx) > 10 or abs(dy) > 10
        ax.annotate(
            mpl_text(text),
            xy=(x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=_NOTE_SIZE,
            color=colour,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.8},
            arrowprops=(
                {"arrowstyle": "-", "lw": 0.5, "color": "0.4", "shrinkA": 0, "shrinkB": 3}
                if far
                else None
            ),
        )


def _rank_ticks(high: float) -> list[int]:
    """Rank 1 and round ranks up to ``high``: rank 1 matters more than a tick at 0 would."""
    steps = MaxNLocator(nbins=6, steps=[1, 2, 5, 10], integer=True).tick_values(1, high)
    step = max(1, int(round(steps[1] - steps[0]))) if len(steps) > 1 else 1
    return [1, *range(step, int(high) + 1, step)] if step > 1 else list(range(1, int(high) + 1))


def _rank_scatter(
    rankings: pd.DataFrame | None,
    *,
    previous: str,
    top: int,
    synthetic: bool,
    title: str,
    previous_label: str,
    unmatched_label: str,
    unmatched_tick: str,
) -> bytes:
    """Rank now (y, 1 at the top) against an earlier rank (x), the biggest movers named.

    Clusters above the diagonal rank better now. Earlier ranks beyond twice the shown ranks
    would squeeze the shown ones into a corner, so they share a column at the right (their
    labels give the true rank); clusters without an earlier rank get a column of their own.
    """
    pairs = _rank_pairs(rankings, previous, top)
    matched = np.isfinite(pairs["previous"].to_numpy())
    if pairs.empty or not matched.any():
        return b""
    fig, ax = _figure(synthetic, left=0.075, right=0.985)
    _title(fig, title)
    rank = pairs["rank"].to_numpy()
    before = pairs["previous"].to_numpy()
    shown_top = float(rank.max())
    cap = 2.0 * max(shown_top, 5.0)
    highest = float(before[matched].max())
    x_high = min(max(shown_top, highest), cap)
    step = max(2.0, 0.08 * x_high)
    beyond = matched & (before > cap)
    x_beyond = x_high + step if beyond.any() else x_high
    x_none = x_beyond + step
    x = np.where(beyond, x_beyond, np.where(matched, before, x_none))
    right = x_none if (~matched).any() else x_beyond
    ax.set_xlim(0, right + max(1.5, 0.05 * x_high))
    ax.set_ylim(shown_top + max(1.0, 0.04 * shown_top), 0)
    line = np.array([0.0, x_high])
    ax.plot(line, line, color=_SAME_COLOUR, lw=0.9, ls=(0, (4, 3)), zorder=2)
    handles: list[Any] = []
    groups = (
        (matched & ~beyond & (before > rank), _UP_COLOUR, "o", "ranked higher now"),
        (beyond, _UP_COLOUR, ">", None),
        (matched & (before < rank), _DOWN_COLOUR, "o", "ranked lower now"),
    )
    for pick, colour, marker, label in groups:
        if pick.any():
            ax.plot(x[pick], rank[pick], ls="none", marker=marker, ms=5, color=colour, zorder=4)
        if label is not None and pick.any():
            handles.append(Line2D([], [], ls="none", marker="o", ms=5, color=colour, label=label))
    same = matched & (before == rank)
    if same.any():
        ax.plot(x[same], rank[same], ls="none", marker="o", ms=5, color=_SAME_COLOUR, zorder=4)
    handles.append(
        Line2D(
            [], [], ls=(0, (4, 3)), lw=0.9, marker="o", ms=5, color=_SAME_COLOUR, label="unchanged"
        )
    )
    new_marker = {"marker": "D", "ms": 4.5, "mfc": "white", "mec": _NEW_COLOUR, "mew": 1.3}
    if (~matched).any():
        ax.plot(x[~matched], rank[~matched], ls="none", zorder=4, **new_marker)
        handles.append(Line2D([], [], ls="none", label=unmatched_label, **new_marker))
    ticks = _rank_ticks(x_high)
    tick_labels = [str(t) for t in ticks]
    if beyond.any():
        ticks.append(x_beyond)
        tick_labels.append(f"> {cap:.0f}")
    if (~matched).any():
        ticks.append(x_none)
        tick_labels.append(unmatched_tick)
        ax.axvline(x_none, color="0.88", lw=0.8, zorder=1)
    ax.set_xticks(ticks, tick_labels)
    ax.set_yticks(_rank_ticks(shown_top))
    ax.set_xlabel(mpl_text(previous_label), fontsize=_LABEL_SIZE, color=_TEXT_COLOUR)
    ax.set_ylabel("Rank now", fontsize=_LABEL_SIZE, color=_TEXT_COLOUR)
    movers = biggest_movers(rankings, previous=previous, top=top)
    _place_labels(
        ax,
        [
            (
                x_beyond if m.previous > cap else float(m.previous),
                float(m.rank),
                f"{m.name} {m.previous} → {m.rank}",
                _UP_COLOUR if m.move > 0 else _DOWN_COLOUR,
            )
            for m in movers.itertuples(index=False)
        ],
        list(zip(x.tolist(), rank.tolist(), strict=True)),
    )
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=len(handles),
        fontsize=_NOTE_SIZE,
        frameon=False,
        handletextpad=0.3,
        columnspacing=1.2,
        borderaxespad=0.2,
    )
    return png_bytes(fig, dpi=PLOT_DPI)


def plot_rank_changes(
    rankings: pd.DataFrame | None,
    *,
    top: int = 30,
    synthetic: bool,
    method_label: str = "previous method",
) -> bytes:
    """Draw each top cluster's rank against its rank under the previous method.

    Parameters
    ----------
    rankings : pandas.DataFrame or None
        The ranking table: ``rank``, ``name`` and ``rank_previous_method`` (missing where no
        cluster of the previous method overlaps).
    top : int, default 30
        Clusters ranked 1…top are drawn.
    synthetic : bool
        Whether the demo world was used; adds a footer saying the data are not WIPO figures.
    method_label : str, default "previous method"
        What the previous method is, for the axis label.

    Returns
    -------
    bytes
        A PNG of ``PLOT_FIGSIZE`` at ``PLOT_DPI`` (840 × 432 pixels): rank now (y, 1 at the
        top) against rank under the previous method (x), the diagonal marking no change and
        clusters without a match in a column of their own; the eight biggest movers
        (:func:`biggest_movers`) are named with their move ("London 21 → 8"). ``b""`` when
        no cluster ranked 1…top has a previous-method rank.
    """
    label = "Rank under the previous method"
    if method_label.strip() and method_label.strip() != "previous method":
        label = f"{label}: {method_label.strip()}"
    return _rank_scatter(
        rankings,
        previous="rank_previous_method",
        top=top,
        synthetic=synthetic,
        title="Rank now against rank under the previous method",
        previous_label=label,
        unmatched_label="new under this method",
        unmatched_tick="none",
    )


def plot_year_over_year(rankings: pd.DataFrame | None, *, top: int = 30, synthetic: bool) -> bytes:
    """Draw each top cluster's rank against its rank in the previous run.

    Parameters
    ----------
    rankings : pandas.DataFrame or None
        The ranking table: ``rank``, ``name`` and ``previous_rank`` (missing without an
        earlier run, or for a cluster that did not exist in it).
    top : int, default 30
        Clusters ranked 1…top are drawn.
    synthetic : bool
        Whether the demo world was used; adds a footer saying the data are not WIPO figures.

    Returns
    -------
    bytes
        The chart of :func:`plot_rank_changes` with the previous run's ranks;
        ``b""`` when no cluster ranked 1…top has one.
    """
    return _rank_scatter(
        rankings,
        previous="previous_rank",
        top=top,
        synthetic=synthetic,
        title="Rank now against rank in the previous run",
        previous_label="Rank in the previous run",
        unmatched_label="not in the previous run",
        unmatched_tick="new",
    )
