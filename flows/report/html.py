"""The HTML report of a run: one self-contained page of tables, the map and the run summary.

A pure function of its inputs: every piece of text from the inputs is HTML-escaped, and the page
loads nothing from elsewhere (the map is embedded as a ``data:`` URI).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.sources import SOURCE_TABLE
from flows.report.formatting import (
    MISSING,
    esc,
    fmt_count,
    fmt_int,
    fmt_millions,
    fmt_percent,
    fmt_significant,
    fmt_text,
    fmt_two,
    format_value,
    is_missing,
    number,
)
from flows.report.frames import by_rank
from flows.report.notices import GAZETTEER_CREDIT, SYNTHETIC_BANNER, SYNTHETIC_DATA_KIND

__all__ = ["render_report_html"]


def _change_cell(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """Text, CSS class and tooltip of a rank change."""
    new = row.get("new_entrant")
    if not is_missing(new) and bool(new):
        return "new", "new", "new in the top ranking"
    change = number(row.get("rank_change"))
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
    ("Rank", "rank", fmt_int, True),
    ("Cluster", "name", fmt_text, False),
    ("Cluster id (geohash)", "cluster_id", fmt_text, False),
    ("Economies", "economies", fmt_text, False),
    ("World region", "world_region", fmt_text, False),
    *((s.count_label, s.count_column, fmt_count, True) for s in SOURCE_TABLE),
    *((s.share_label, s.share_column, fmt_percent, True) for s in SOURCE_TABLE),
    ("Score (sum of shares, %)", "score", fmt_percent, True),
    ("Population (millions)", "population", fmt_millions, True),
    ("Intensity (score per million inhabitants)", "intensity", fmt_significant, True),
    ("Intensity rank", "intensity_rank", fmt_int, True),
)
_INTENSITY_COLUMNS: tuple[_Column, ...] = (
    ("Intensity rank", "intensity_rank", fmt_int, True),
    ("Cluster", "name", fmt_text, False),
    ("Economies", "economies", fmt_text, False),
    ("Rank by score", "rank", fmt_int, True),
    ("Score (sum of shares, %)", "score", fmt_percent, True),
    ("Population (millions)", "population", fmt_millions, True),
    *((s.per_million_label, s.per_million_column, fmt_two, True) for s in SOURCE_TABLE),
    ("Intensity (score per million inhabitants)", "intensity", fmt_significant, True),
)
_ALL_SOURCES = " and ".join(
    [", ".join(s.plural for s in SOURCE_TABLE[:-1]), SOURCE_TABLE[-1].plural]
)
_ECONOMY_COLUMNS: tuple[_Column, ...] = (
    ("Economy (ISO 3166-1 alpha-2)", "economy", fmt_text, False),
    ("World region", "world_region", fmt_text, False),
    ("Clusters in the top ranking (number)", "clusters", fmt_int, True),
    ("Leading cluster", "leading_cluster", fmt_text, False),
    ("Rank of the leading cluster", "leading_rank", fmt_int, True),
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
        heads.append(f'<th scope="col"{css}>{esc(header)}</th>')
        if column == change_after:
            heads.append('<th scope="col">Change since the previous ranking</th>')
    rows = []
    for record in _records(frame):
        cells = []
        for _, column, formatter, numeric in columns:
            value = record.get(column)
            text = formatter(value)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{esc(text)}</td>")
            if column == change_after:
                text, css, tip = _change_cell(record)
                cells.append(f'<td class="chg {css}" title="{esc(tip)}">{esc(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        span = len(heads)
        rows.append(f'<tr><td colspan="{span}" class="empty">No rows.</td></tr>')
    return (
        '<div class="scroll"><table>'
        f"<caption>{esc(caption)}</caption>"
        f"<thead><tr>{''.join(heads)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple, np.ndarray))


def _nested(value: Any, path: tuple[str, ...], style: str) -> str:
    """Render nested dicts and lists: uniform dicts of dicts and lists of dicts as tables,
    other dicts as definition lists."""
    if _is_scalar(value):
        return esc(format_value(value, path, style))
    if isinstance(value, Mapping):
        if not value:
            return f"<em>{MISSING}</em>"
        inner = list(value.values())
        # Dicts of like records (same keys, scalar values) read best as a table.
        if all(isinstance(v, Mapping) and v and all(map(_is_scalar, v.values())) for v in inner):
            keys = list(inner[0])
            if len(inner) > 1 and all(set(v) == set(keys) for v in inner):
                return _grid([str(k) for k in value], inner, keys, path, style)
        items = "".join(
            f"<dt>{esc(k)}</dt><dd>{_nested(v, (*path, str(k)), style)}</dd>"
            for k, v in value.items()
        )
        return f"<dl>{items}</dl>"
    items_list = list(value)
    if items_list and all(isinstance(v, Mapping) for v in items_list):
        keys = list(dict.fromkeys(k for v in items_list for k in v))
        return _grid(None, items_list, keys, path, style)
    if all(map(_is_scalar, items_list)):
        return esc(", ".join(format_value(v, path, style) for v in items_list)) or MISSING
    return "<ol>" + "".join(f"<li>{_nested(v, path, style)}</li>" for v in items_list) + "</ol>"


def _grid(
    row_names: list[str] | None,
    rows: list[Mapping[str, Any]],
    keys: list[Any],
    path: tuple[str, ...],
    style: str,
) -> str:
    head = ("<th></th>" if row_names is not None else "") + "".join(
        f'<th scope="col">{esc(k)}</th>' for k in keys
    )
    body = []
    for n, row in enumerate(rows):
        name = f'<th scope="row">{esc(row_names[n])}</th>' if row_names is not None else ""
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
        f'<tr><th scope="row">{esc(stage)}</th>'
        f'<td class="num">{esc(format_value(seconds, (), "seconds"))}</td></tr>'
        for stage, seconds in timings.items()
    ]
    numbers = [number(v) for v in timings.values()]
    # A sum is only offered when the summary has no total of its own, which would be counted
    # twice; stages may overlap, so it is labelled as what it is.
    has_total = any(str(stage).strip().lower() == "total" for stage in timings)
    if rows and not has_total and all(n is not None for n in numbers):
        total = format_value(math.fsum(numbers), (), "seconds")  # type: ignore[arg-type]
        rows.append(
            '<tr class="total"><th scope="row">Sum of stages</th>'
            f'<td class="num">{esc(total)}</td></tr>'
        )
    if not rows:
        return f"<p>{MISSING}</p>"
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
    run_id = fmt_text(summary.get("run_id"))
    synthetic = bool(summary.get("synthetic", False))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Innovation cluster ranking — run {esc(run_id)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Innovation cluster ranking</h1>",
    ]
    if synthetic:
        parts.append(f'<div class="banner" role="alert">{esc(SYNTHETIC_BANNER)}</div>')
    data_kind = SYNTHETIC_DATA_KIND if synthetic else "input records"
    parts.append(
        f'<p class="meta">Run <strong>{esc(run_id)}</strong> · data: {esc(data_kind)} · '
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
        parts.append(f"<p>Map {MISSING}.</p>")
    parts.append("</section>")

    ranked = by_rank(rankings)
    shown = ranked.head(top)
    parts.append('<section id="ranking"><h2>Top clusters by score</h2>')
    parts.append(
        _table(
            shown,
            _RANKING_COLUMNS,
            caption=f"Top {len(shown)} of {len(ranked)} clusters, by score "
            f"(sum of the shares of world {_ALL_SOURCES}).",
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
        parts.append(f'<section id="{key}"><h2>{esc(heading)}</h2>')
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
        f"<p>{esc(GAZETTEER_CREDIT)}</p>"
        + (f"<p><strong>{esc(SYNTHETIC_BANNER)}.</strong></p>" if synthetic else "")
        + "</footer>"
    )
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"
