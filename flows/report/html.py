"""The HTML report of a run: one self-contained page of the maps, plots, tables and run summary.

A pure function of its inputs: every piece of text from the inputs is HTML-escaped, and the page
embeds everything it shows (Leaflet and the country outlines, the PNG figures as ``data:``
URIs); the interactive map's tiles, when switched on, are all it fetches.
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
    fmt_growth,
    fmt_int,
    fmt_millions,
    fmt_percent,
    fmt_signed,
    fmt_significant,
    fmt_text,
    fmt_two,
    format_value,
    is_missing,
    number,
)
from flows.report.frames import by_rank
from flows.report.notices import (
    BASEMAP_CREDIT,
    GAZETTEER_CREDIT,
    LEAFLET_CREDIT,
    SYNTHETIC_BANNER,
    SYNTHETIC_DATA_KIND,
    TILES_CREDIT,
)

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
    ("Economies", "economies", fmt_text, False),
    *((s.count_label, s.count_column, fmt_count, True) for s in SOURCE_TABLE),
    *((s.share_label, s.share_column, fmt_percent, True) for s in SOURCE_TABLE),
    ("Score (sum of shares, %)", "score", fmt_percent, True),
)
_COMPARISON_COLUMNS: tuple[_Column, ...] = (
    ("Rank", "rank", fmt_int, True),
    ("Cluster", "name", fmt_text, False),
    ("Economies", "economies", fmt_text, False),
    ("Rank under the previous method", "rank_previous_method", fmt_int, True),
    ("Places gained by the new method", "method_move", fmt_signed, True),
    *((f"Rank by {s.plural} alone", s.rank_column, fmt_int, True) for s in SOURCE_TABLE),
)
_PROFILE_COLUMNS: tuple[_Column, ...] = (
    ("Rank", "rank", fmt_int, True),
    ("Cluster", "name", fmt_text, False),
    ("Top patent applicant (share of its patents)", "top_applicant", fmt_text, False),
    ("Top scientific organisation (share)", "top_science_org", fmt_text, False),
    ("Top technology field (share)", "top_tech_field", fmt_text, False),
    ("Top science field (share)", "top_science_field", fmt_text, False),
    *(
        (f"Growth of {s.plural} (% a year)", s.growth_column, fmt_growth, True)
        for s in SOURCE_TABLE
    ),
    ("International co-operation (%)", "international_share", fmt_percent, True),
)
# Profile columns shown with their share in brackets.
_WITH_SHARE = {
    "top_applicant": "top_applicant_share",
    "top_science_org": "top_science_org_share",
    "top_tech_field": "top_tech_field_share",
    "top_science_field": "top_science_field_share",
}
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


def _cell(
    record: Mapping[str, Any], column: str, formatter: Callable[[Any], str], numeric: bool
) -> str:
    """A table cell: cluster names link to the map, profile items carry their share."""
    text = esc(formatter(record.get(column)))
    cluster_id = record.get("cluster_id")
    if column == "name" and not is_missing(cluster_id) and text != MISSING:
        text = f'<a href="#map" data-cluster="{esc(cluster_id)}">{text}</a>'
    elif column in _WITH_SHARE and text != MISSING:
        share = fmt_percent(record.get(_WITH_SHARE[column]))
        text += f' <span class="muted">({esc(share)} %)</span>'
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{text}</td>"


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
            cells.append(_cell(record, column, formatter, numeric))
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
*, *::before, *::after { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; margin: 0 auto; max-width: 1366px; padding: 0 1.2rem 2rem; color: #1b1f24; }
h1 { font-size: 1.6rem; margin: 1.2rem 0 0.3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid #d0d7de;
  padding-bottom: 0.2rem; }
a { color: #0a58ca; text-decoration: none; } a:hover { text-decoration: underline; }
nav { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; font-size: 0.9rem; margin: 0.4rem 0; }
.banner { background: #b00020; color: #fff; font-weight: 700; font-size: 1.1rem;
  padding: 0.8rem 1rem; border-radius: 6px; margin: 1rem 0; }
.meta, .muted { color: #57606a; }
.meta { margin: 0.2rem 0 1rem; }
figure { margin: 0; min-width: 0; }
figure img { width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.85rem; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr));
  gap: 1rem; }
#icrank-map { height: 600px; width: 100%; border: 1px solid #d0d7de; border-radius: 4px; }
#icrank-map.tileless { background: #dfe8ef; }
.icrank-legend { background: rgba(255, 255, 255, 0.9); padding: 0.3rem 0.5rem;
  border-radius: 4px; font-size: 0.8rem; line-height: 1.5; }
.icrank-legend .swatch { display: inline-block; width: 0.8rem; height: 0.8rem;
  margin-right: 0.4rem; vertical-align: -0.1rem; border-radius: 2px; }
.icrank-popup { font-size: 0.82rem; line-height: 1.45; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.82rem; margin: 0.4rem 0 1rem; width: 100%; }
table.compact { width: auto; }
caption { text-align: left; color: #57606a; padding: 0.2rem 0; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 0.25rem 0.45rem; vertical-align: top;
  overflow-wrap: break-word; }
td .muted { white-space: nowrap; }
thead th { background: #f3f5f7; text-align: left; font-weight: 600; vertical-align: bottom; }
.num { text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.total th, tr.total td { font-weight: 700; }
.chg { text-align: center; white-space: nowrap; }
.up { color: #1a7f37; } .down { color: #cf222e; } .new { color: #8250df; font-weight: 600; }
.empty { color: #57606a; font-style: italic; }
dl { margin: 0.2rem 0 0.6rem; display: grid; grid-template-columns: max-content auto;
  gap: 0.1rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
details > summary { cursor: pointer; font-weight: 600; margin: 0.6rem 0; }
footer { margin-top: 2.5rem; color: #57606a; font-size: 0.85rem; border-top: 1px solid #d0d7de;
  padding-top: 0.6rem; }
"""

# (key in ``plots``, alternative text, caption) of the figures, in page order.
_PLOTS = (
    (
        "top_share",
        "Share of the world totals held by the top N clusters, per source",
        "How concentrated each source is: the share of the world's patents, publications "
        "and VC deals held by the top N clusters.",
    ),
    (
        "clusters_per_economy",
        "Clusters in the top ranking per economy",
        "Economies by the number of top-ranking clusters they take part in (a cross-border "
        "cluster counts for each of its economies).",
    ),
    (
        "rank_changes",
        "Rank under this method against rank under the previous method",
        "Each cluster's rank under this run's method against its rank under the previous "
        "method; the biggest movers are named.",
    ),
    (
        "year_over_year",
        "Rank now against rank in the previous ranking",
        "Each cluster's rank now against its rank in the ranking of --previous; the biggest "
        "movers are named.",
    ),
)


def _image(png: bytes, alt: str, caption: str) -> str:
    encoded = base64.b64encode(bytes(png)).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" alt="{esc(alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _method_comparison(ranked: pd.DataFrame, summary: Mapping[str, Any], top: int) -> str:
    """The ranks under the previous method and per source, beside this run's."""
    method = summary.get("previous_method")
    if not isinstance(method, Mapping):
        note = "This run was not compared with a previous method (previous-method: null)."
    else:
        sources = ", ".join(str(s) for s in method.get("sources") or []) or MISSING
        note = (
            f"Previous method: {fmt_text(method.get('label'))} (sources: {sources}); "
            f"{fmt_int(method.get('matched'))} of its {fmt_int(method.get('clusters'))} "
            "clusters matched to this run's by footprint overlap."
        )
    shown = ranked.head(top)
    if "rank_previous_method" in shown.columns and "rank" in shown.columns:
        previous = pd.to_numeric(shown["rank_previous_method"], errors="coerce")
        shown = shown.assign(method_move=previous - pd.to_numeric(shown["rank"], errors="coerce"))
    return f'<p class="meta">{esc(note)}</p>' + _table(
        shown,
        _COMPARISON_COLUMNS,
        caption="Places gained by the new method: rank under the previous method minus rank "
        "now (n/a: the cluster has no match under the previous method). Ranks by one source "
        "alone order the clusters by that source's share.",
    )


def render_report_html(
    rankings: pd.DataFrame,
    economies: pd.DataFrame,
    summary: Mapping[str, Any],
    map_png: bytes,
    *,
    top: int,
    clusters: Mapping[str, Any] | None = None,
    noise: pd.DataFrame | None = None,
    plots: Mapping[str, bytes] | None = None,
    tiles: bool | str = False,
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
        ``aggregates``, ``versions``, ``previous_method``; any other keys are listed at the
        end.
    map_png : bytes
        The map from :func:`render_map_png`, embedded as a ``data:`` URI (omitted when empty).
    top : int
        Rows of the ranking tables to show.
    clusters : Mapping, optional
        The ``clusters.geojson`` FeatureCollection: the interactive map draws its footprints
        (no interactive map without it).
    noise : pandas.DataFrame, optional
        Noise locations (``lat``, ``lon``, ``records``) drawn on the interactive map.
    plots : Mapping of str to bytes, optional
        PNG figures by key (``top_share``, ``clusters_per_economy``, ``rank_changes``,
        ``year_over_year``); an absent or empty figure is left out.
    tiles : bool or str, default False
        The interactive map's tiles (see :func:`flows.report.webmap.map_data`). Without them
        the page loads nothing at all: Leaflet and the country outlines are embedded.

    Returns
    -------
    str
        One HTML5 document with inline scripts and styles. Every piece of text from the
        inputs is HTML-escaped. Shares are percentages with two decimals, fractional counts
        have one decimal and thousands separators, missing values read "n/a".
    """
    top = max(int(top), 0)
    rankings = rankings if rankings is not None else pd.DataFrame()
    economies = economies if economies is not None else pd.DataFrame()
    summary = summary if summary is not None else {}
    plots = plots or {}
    run_id = fmt_text(summary.get("run_id"))
    synthetic = bool(summary.get("synthetic", False))
    interactive = clusters is not None
    head_css = _CSS
    if interactive:
        from flows.report.webmap import leaflet_assets

        head_css = leaflet_assets()[1] + _CSS

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Innovation cluster ranking — run {esc(run_id)}</title>",
        f"<style>{head_css}</style>",
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
    links = [
        ("map", "Map"),
        ("plots", "At a glance"),
        ("ranking", "Ranking"),
        ("comparison", "Method comparison"),
        ("profiles", "Profiles"),
        ("intensity", "Intensity"),
        ("economies", "Economies"),
        ("static-map", "Static map"),
        ("parameters", "Run details"),
    ]
    parts.append(
        "<nav>" + "".join(f'<a href="#{key}">{esc(label)}</a>' for key, label in links) + "</nav>"
    )
    parts.append("</header>")

    parts.append('<section id="map"><h2>Map</h2>')
    if interactive:
        from flows.report.webmap import map_data, render_web_map

        parts.append(
            render_web_map(map_data(rankings, clusters, noise, tiles=tiles, synthetic=synthetic))
        )
        parts.append(
            '<p class="meta">Cluster footprints coloured by rank and noise locations (blue). '
            "Click a footprint, or a cluster's name in the tables, for its profile."
            + ("" if tiles else " Country outlines only: this page loads nothing.")
            + "</p>"
        )
    else:
        parts.append(f"<p>Interactive map {MISSING}.</p>")
    parts.append("</section>")

    figures = [_image(plots[key], alt, caption) for key, alt, caption in _PLOTS if plots.get(key)]
    parts.append('<section id="plots"><h2>At a glance</h2>')
    parts.append(f'<div class="plots">{"".join(figures)}</div>' if figures else f"<p>{MISSING}</p>")
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

    parts.append('<section id="comparison"><h2>Method comparison and ranks by source</h2>')
    parts.append(_method_comparison(ranked, summary, top))
    parts.append("</section>")

    parts.append('<section id="profiles"><h2>Cluster profiles</h2>')
    parts.append(
        _table(
            shown,
            _PROFILE_COLUMNS,
            caption="Leading organisations and fields with their shares of the cluster's "
            "activity in that source, compound annual growth over the window, and the share of "
            "documents with rows in another economy as well. All items per cluster: "
            "profiles.csv.",
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

    parts.append('<section id="static-map"><h2>Static map</h2>')
    if map_png:
        parts.append(
            _image(
                map_png,
                "World map of record locations, noise and clusters",
                "Grey: record locations; blue: noise; colours: cluster members (marker size ∝ "
                "√activity); labels: top clusters by rank. Also saved as map.png.",
            )
        )
    else:
        parts.append(f"<p>Map {MISSING}.</p>")
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
        "previous_method",
        "timings",
        "versions",
    }
    others = {k: v for k, v in summary.items() if k not in known}
    if others:
        parts.append('<section id="other"><h2>Other run information</h2>')
        parts.append(_nested(others, (), "raw"))
        parts.append("</section>")

    credits = [GAZETTEER_CREDIT, BASEMAP_CREDIT]
    if interactive:
        tile_credit = f"; map tiles {TILES_CREDIT}, CARTO" if tiles is True else ""
        credits.append(LEAFLET_CREDIT + tile_credit)
    parts.append(
        "<footer>"
        + "".join(f"<p>{esc(credit)}</p>" for credit in credits)
        + (f"<p><strong>{esc(SYNTHETIC_BANNER)}.</strong></p>" if synthetic else "")
        + "</footer>"
    )
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"
