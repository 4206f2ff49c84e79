"""The report's interactive map: Leaflet, embedded, with the clusters, noise and country outlines.

A pure function of its inputs. Leaflet's script and style sheet (vendored from its npm package,
see ``flows/report/assets/README.md``) are written into the page, the images its style sheet
names as ``data:`` URIs, so the page loads nothing at all in tile-less mode; with tiles on, the
tile images are the only thing it fetches.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from core.geojson import json_safe
from flows.report.formatting import (
    esc,
    fmt_int,
    fmt_percent,
    fmt_text,
    is_missing,
    number,
)
from flows.report.frames import floats
from flows.report.notices import (
    MAP_SYNTHETIC_FOOTER,
    TILES_CREDIT,
)

__all__ = ["RANK_CLASSES", "cluster_popup", "leaflet_assets", "map_data", "render_web_map"]

# Rank classes of the footprints' colours: (last rank of the class, colour, legend label).
RANK_CLASSES: tuple[tuple[float, str, str], ...] = (
    (10, "#7f0000", "Rank 1–10"),
    (25, "#d7301f", "Rank 11–25"),
    (50, "#fc8d59", "Rank 26–50"),
    (100, "#fdbb84", "Rank 51–100"),
    (float("inf"), "#9e9e9e", "Below the top 100"),
)
_NOISE_COLOUR = "#1f4fbf"
# Radius (pixels) of the centre circle of a cluster of no score and its growth up to the
# top cluster's, by the square root of the score so that areas compare as scores do.
_CENTRE_MIN_PX, _CENTRE_SPAN_PX = 2.5, 13.5
# Light CARTO tiles: drawn from OpenStreetMap data, quiet enough for coloured footprints.
TILE_URL = "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png"
_TILE_SUBDOMAINS = "abcd"
_TILE_ATTRIBUTION = f"{TILES_CREDIT} © CARTO"  # Leaflet shows it as HTML: no markup in it


def _asset(name: str) -> bytes:
    return resources.files("flows.report").joinpath("assets", name).read_bytes()


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's script and style sheet, the sheet's images inlined as ``data:`` URIs.

    Returns
    -------
    tuple of str
        ``(script, css)``, each safe to place inside ``<script>`` / ``<style>``.
    """
    css = _asset("leaflet.css").decode("utf-8")

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode(_asset(f"leaflet-{match.group(1)}")).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    script = _asset("leaflet.js").decode("utf-8") + "\n" + _asset("icrank-map.js").decode("utf-8")
    return _script_safe(script), css


def _script_safe(text: str) -> str:
    # Only "</script" can end a script element early.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def _colour(rank: Any) -> str:
    value = number(rank)
    if value is None:
        return RANK_CLASSES[-1][1]
    return next(colour for last, colour, _ in RANK_CLASSES if value <= last)


def _share_with(name: Any, share: Any) -> str:
    if is_missing(name) or str(name) == "":
        return "n/a"
    return f"{fmt_text(name)} ({fmt_percent(share)} %)"


def _growth(value: Any) -> str:
    rate = number(value)
    return "n/a" if rate is None else f"{rate * 100:+.1f} %"


def _amount(value: Any) -> str:
    amount = number(value)
    if amount is None:
        return "n/a"
    for size, unit in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= size:
            return f"{amount / size:,.1f} {unit}"
    return f"{amount:,.0f}"


def cluster_popup(properties: Mapping[str, Any]) -> str:
    """The HTML of a cluster's popup: rank, shares and profile, every value escaped.

    Parameters
    ----------
    properties : Mapping
        A ranking row (or a ``clusters.geojson`` feature's properties); absent keys read n/a.

    Returns
    -------
    str
        An HTML fragment.
    """
    get = properties.get
    rank = fmt_int(get("rank"))
    economies = fmt_text(get("economies"))
    lines = [
        f"<strong>{esc(rank)}. {esc(fmt_text(get('name')))}</strong> ({esc(economies)})",
        f"Score {esc(fmt_percent(get('score')))} % of the world: patents "
        f"{esc(fmt_percent(get('share_patents')))} %, publications "
        f"{esc(fmt_percent(get('share_publications')))} %, VC deals "
        f"{esc(fmt_percent(get('share_vc')))} %",
        f"Rank under the previous method: {esc(fmt_int(get('rank_previous_method')))}; "
        f"by source: patents {esc(fmt_int(get('rank_patents')))}, publications "
        f"{esc(fmt_int(get('rank_publications')))}, VC {esc(fmt_int(get('rank_vc')))}",
        f"Top applicant: {esc(_share_with(get('top_applicant'), get('top_applicant_share')))}",
        "Top science organisation: "
        f"{esc(_share_with(get('top_science_org'), get('top_science_org_share')))}",
        "Top technology field: "
        f"{esc(_share_with(get('top_tech_field'), get('top_tech_field_share')))}",
        "Top science field: "
        f"{esc(_share_with(get('top_science_field'), get('top_science_field_share')))}",
        f"Growth per year: patents {esc(_growth(get('growth_patents')))}, publications "
        f"{esc(_growth(get('growth_publications')))}, VC {esc(_growth(get('growth_vc')))}",
        f"International co-operation: {esc(fmt_percent(get('international_share')))} % · "
        f"VC amount: {esc(_amount(get('vc_amount')))}",
        f'<span class="muted">Cluster id {esc(fmt_text(get("cluster_id")))}</span>',
    ]
    return '<div class="icrank-popup">' + "<br>".join(lines) + "</div>"


def _tile_layer(tiles: bool | str) -> dict[str, str] | None:
    if tiles is True:
        return {"url": TILE_URL, "subdomains": _TILE_SUBDOMAINS, "attribution": _TILE_ATTRIBUTION}
    if not tiles:
        return None
    host = urlsplit(str(tiles)).netloc
    return {"url": str(tiles), "subdomains": "abc", "attribution": esc(f"Map tiles: {host}")}


def map_data(
    rankings: pd.DataFrame | None,
    clusters: Mapping[str, Any] | None,
    noise: pd.DataFrame | None,
    *,
    tiles: bool | str,
    synthetic: bool,
) -> dict[str, Any]:
    """What the page's map script draws, as plain JSON types.

    Parameters
    ----------
    rankings : pandas.DataFrame or None
        The ranking table: each footprint's popup and colour come from its row (by
        ``cluster_id``), falling back to the feature's own properties.
    clusters : Mapping or None
        The ``clusters.geojson`` FeatureCollection.
    noise : pandas.DataFrame or None
        Columns ``lat``, ``lon``, ``records``.
    tiles : bool or str
        True: the map loads CARTO's light tiles when online; a ``{z}/{x}/{y}`` URL template:
        tiles from that server; False: country outlines only, and the page fetches nothing.
    synthetic : bool
        Whether the data are the demo world's (said in the map's attribution).

    Returns
    -------
    dict
        ``clusters`` (a FeatureCollection whose features carry ``cluster_id``, ``colour``,
        ``label`` and ``popup`` only), ``centres`` (per ranked footprint its centroid, circle
        radius in pixels, colour and label), ``noise`` (``[lat, lon, records]`` rows),
        ``outlines``,
        ``tiles`` (None or the tile layer), ``legend``, ``colours`` and ``credits``.
    """
    from flows.report.basemap import lines_geojson

    rows: dict[str, Mapping[str, Any]] = {}
    if rankings is not None and "cluster_id" in rankings.columns:
        for record in rankings.to_dict(orient="records"):
            if not is_missing(record.get("cluster_id")):
                rows[str(record["cluster_id"])] = record
    features, centres = [], []
    top_score = max((number(r.get("score")) or 0.0 for r in rows.values()), default=0.0)
    for feature in (clusters or {}).get("features", []):
        own = feature.get("properties") or {}
        cluster_id = fmt_text(own.get("cluster_id"))
        row = {**own, **rows.get(cluster_id, {})}
        label = f"{fmt_int(row.get('rank'))}. {fmt_text(row.get('name'))}"
        features.append(
            {
                "type": "Feature",
                "geometry": feature.get("geometry"),
                "properties": {
                    "cluster_id": cluster_id,
                    "colour": _colour(row.get("rank")),
                    "label": label,
                    "popup": cluster_popup(row),
                },
            }
        )
        lat, lon, score = number(row.get("lat")), number(row.get("lon")), number(row.get("score"))
        if lat is not None and lon is not None:
            share = (score or 0.0) / top_score if top_score > 0 else 0.0
            centres.append(
                {
                    "cluster_id": cluster_id,
                    "lat": round(lat, 4),
                    "lon": round(lon, 4),
                    "radius": round(_CENTRE_MIN_PX + _CENTRE_SPAN_PX * share**0.5, 2),
                    "colour": _colour(row.get("rank")),
                    "label": label,
                }
            )
    noise_lat, noise_lon = floats(noise, "lat"), floats(noise, "lon")
    records = floats(noise, "records")
    ok = np.isfinite(noise_lat) & np.isfinite(noise_lon)
    noise_rows = [
        [round(float(a), 4), round(float(b), 4), None if not np.isfinite(c) else float(c)]
        for a, b, c in zip(noise_lat[ok], noise_lon[ok], records[ok], strict=True)
    ]
    data_credit = "Places: GeoNames (CC BY 4.0)"
    if synthetic:
        data_credit = f"{MAP_SYNTHETIC_FOOTER} · {data_credit}"
    return json_safe(
        {
            "clusters": {"type": "FeatureCollection", "features": features},
            "centres": centres,
            "noise": noise_rows,
            "outlines": lines_geojson("110m"),
            "tiles": _tile_layer(tiles),
            "legend": [{"colour": c, "label": label} for _, c, label in RANK_CLASSES]
            + [{"colour": _NOISE_COLOUR, "label": "Noise"}],
            "colours": {"noise": _NOISE_COLOUR},
            "credits": {
                "outlines": "Outlines: Natural Earth · Leaflet",
                "data": esc(data_credit),
            },
        }
    )


def render_web_map(data: Mapping[str, Any]) -> str:
    """The map's HTML: its element, its data and its script (Leaflet's style sheet apart).

    Parameters
    ----------
    data : Mapping
        :func:`map_data` output.

    Returns
    -------
    str
        An HTML fragment; the page must also hold ``leaflet_assets()[1]`` in a ``<style>``.
    """
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "<" escaped as JSON allows: no text in the data can close the script element, and
    # U+2028/U+2029 are escaped for older script parsers.
    payload = payload.replace("<", "\\u003c").replace("\u2028", "\\u2028")
    payload = payload.replace("\u2029", "\\u2029")
    script, _ = leaflet_assets()
    return (
        '<div id="icrank-map" role="application" '
        'aria-label="Interactive map of the clusters"></div>'
        f'<script type="application/json" id="icrank-map-data">{payload}</script>'
        f"<script>{script}</script>"
    )
