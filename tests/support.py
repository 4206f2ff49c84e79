"""Helpers shared by the tests."""

from __future__ import annotations

import math
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from distributed.diagnostics.plugin import WorkerPlugin

if TYPE_CHECKING:
    import xarray as xr
    from click.testing import Result


def km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (arrays or scalars; NaN where a point is missing)."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


# ------------------------------------------------------------------------------------------
# The command line and servers
# ------------------------------------------------------------------------------------------

#: ``--scale`` of the demo data in command-line tests: a tiny world that still clusters.
SCALE = "0.02"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the ``icrank`` command in-process; exceptions propagate to the test.

    Parameters
    ----------
    *args : str
        Command-line arguments.
    env : dict, optional
        Extra environment variables for the run.

    Returns
    -------
    click.testing.Result
        Exit code and output.
    """
    # Imported here so that tests of the pure kernels need not import the CLI.
    from click.testing import CliRunner

    from flows.cli import main

    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def only_run(parent: Path) -> Path:
    """The one run folder under ``parent`` (asserts there is exactly one)."""
    runs = [p for p in parent.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


# ------------------------------------------------------------------------------------------
# Population grids
# ------------------------------------------------------------------------------------------


def brute_force_cells(lat, lon, values, f: float) -> dict[tuple[int, int], float]:
    """Per-cell sums by the written-down convention, one pixel at a time."""
    n_rows, n_cols = round(180 / f), round(360 / f)
    sums: dict[tuple[int, int], float] = {}
    for la, lo, v in zip(np.ravel(lat), np.ravel(lon), np.ravel(values), strict=True):
        if not (math.isfinite(v) and v > 0):
            continue
        i = min(math.floor((la + 90) / f), n_rows - 1)
        j = math.floor((lo + 180) / f) % n_cols
        sums[i, j] = sums.get((i, j), 0.0) + float(v)
    return sums


def assert_grid_equals_cells(grid, expected: dict[tuple[int, int], float], *, rtol=1e-9) -> None:
    """``grid`` holds exactly the non-zero cells of ``expected`` (within ``rtol``)."""
    values = grid.to_numpy()
    total = sum(expected.values())
    assert values.sum() == pytest.approx(total, rel=rtol)
    for (i, j), v in expected.items():
        assert values[i, j] == pytest.approx(v, rel=rtol), (i, j)
    assert np.count_nonzero(values) == len(expected)


def fine_raster(seed=0, *, res=0.01, lat0=12.0, lon0=-5.0, ny=160, nx=230) -> xr.DataArray:
    """Counts on a fine grid with descending latitude and NaN / negative nodata."""
    # Imported here: most tests using this module never touch a raster.
    import xarray as xr

    rng = np.random.default_rng(seed)
    lat = lat0 - (np.arange(ny) + 0.5) * res
    lon = lon0 + (np.arange(nx) + 0.5) * res
    values = rng.gamma(0.5, 40.0, size=(ny, nx))
    values[rng.random((ny, nx)) < 0.1] = np.nan
    values[rng.random((ny, nx)) < 0.05] = -9999.0
    da = xr.DataArray(values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="pop")
    return da


def expected_cells(da, f: float) -> dict[tuple[int, int], float]:
    """:func:`brute_force_cells` of a raster with 1-D ``lat`` and ``lon`` coordinates."""
    import xarray as xr

    lat2, lon2 = xr.broadcast(da["lat"], da["lon"])
    return brute_force_cells(lat2.to_numpy(), lon2.to_numpy(), da.to_numpy(), f)


# ------------------------------------------------------------------------------------------
# Rendered outputs: map, report, GeoJSON
# ------------------------------------------------------------------------------------------

#: The eight bytes every PNG file starts with.
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def ranking_table(n: int = 2) -> pd.DataFrame:
    """The first ``n`` (at most 4) rows of a ranking table with every column the outputs show.

    Names have non-ASCII dashes, populations include zero (unknown) and NaN, and intensity
    ranks, rank changes and new-entrant flags include pandas' ``NA``: the awkward cases of the
    formatters. Cluster ``c<k>`` has rank ``k + 1``.
    """
    rows = {
        "rank": np.arange(1, n + 1, dtype=np.int64),
        "cluster_id": [f"c{k}" for k in range(n)],
        "name": ["Tokyo–Yokohama", "Shenzhen–Hong Kong–Guangzhou", "Seoul", "San Jose"][:n],
        "economies": ["JP", "CN/HK", "KR", "US"][:n],
        "world_region": ["Asia", "Asia", "Asia", "Northern America"][:n],
        "patents": [123456.25, 98765.5, 5000.0, 1234.5][:n],
        "publications": [40000.0, 30000.0, 2000.0, 100.0][:n],
        "vc_deals": [300.0, 250.0, 10.0, 5.0][:n],
        "share_patents": [0.101234, 0.08, 0.004, 0.001][:n],
        "share_publications": [0.02, 0.015, 0.001, 0.0001][:n],
        "share_vc": [0.01, 0.009, 0.0004, 0.0002][:n],
        "score": [0.131234, 0.104, 0.0054, 0.0013][:n],
        "population": [37e6, 0.0, 25e6, np.nan][:n],
        "patents_per_million": [3336.6, np.nan, 200.0, np.nan][:n],
        "publications_per_million": [1081.1, np.nan, 80.0, np.nan][:n],
        "vc_per_million": [8.1, np.nan, 0.4, np.nan][:n],
        "intensity": [0.131234 / 37, np.nan, 0.0054 / 25, np.nan][:n],
        "intensity_rank": pd.array([2, pd.NA, 1, pd.NA][:n], dtype="Int64"),
        "lat": [35.6, 22.6, 37.5, 37.3][:n],
        "lon": [139.7, 114.1, 127.0, -121.9][:n],
        "previous_rank": pd.array([4, 1, pd.NA, 3][:n], dtype="Int64"),
        "rank_change": pd.array([3, -1, pd.NA, 0][:n], dtype="Int64"),
        "new_entrant": pd.array([False, False, True, False][:n], dtype="boolean"),
    }
    return pd.DataFrame(rows)


def table_records(module, folder, options: dict | None = None):
    """A table format's reader frame of a fixture folder: each published table read whole
    (by pandas), prepared and joined (the flow streams the same functions bucket by bucket)."""
    import io
    import zipfile

    import pyarrow as pa

    from core.readers.tables import order_of
    from flows.readers import source_tables

    options = options or {}
    tables = {}
    for name, urls in source_tables([str(folder)], module.FORMAT, {})[0].items():
        parts = []
        for index, url in enumerate(urls):
            path = Path(url.removeprefix("file://"))
            with zipfile.ZipFile(path) as archive:
                data = archive.read(archive.namelist()[0])
            raw = pd.read_csv(
                io.BytesIO(data), sep=module.DELIMITER, dtype=str, keep_default_na=False
            )
            rows = np.arange(len(raw))
            raw = raw.assign(row=rows, file=path.name, order=order_of(index, rows))
            table = pa.Table.from_pandas(raw, preserve_index=False)
            parts.append(module.prepare(name, table, options=options))
        tables[name] = pa.concat_tables(parts)
    return module.records(module.join(tables, options=options), options=options)


# ------------------------------------------------------------------------------------------
# Faults on real Dask workers


class KillOnceIn(WorkerPlugin):
    """A worker plugin: the first worker to start a task of ``prefix`` SIGKILLs itself.

    ``marker`` (created exclusively) makes it once per test, whichever worker gets there
    first and however often the nannies restart them. Defined here, in an importable module,
    because the workers unpickle it.
    """

    def __init__(self, prefix: str, marker: str) -> None:
        self.prefix, self.marker = prefix, marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        from dask.utils import key_split

        if finish != "executing" or self.prefix not in key_split(key):
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)
