"""End-to-end ranking flow against the floor of reading its input, measured in the same run.

The floor is the least any ranking must do: read the same Parquet input on the same local Dask
cluster (2 worker processes, 1 thread each) and group it by ``doc_id`` once (fractional counting
needs that). The flow is ``icrank run --input … --quiet`` with the same cluster. Both run as fresh
subprocesses, so both pay interpreter start, imports and cluster start-up.

Input: the SYNTHETIC demo world written by ``icrank demo-data`` (random records around real
GeoNames cities; not WIPO data), cached under ``--data-dir``.

Usage::

    python benchmarks/flow_scale.py                 # 1M and 10M records
    python benchmarks/flow_scale.py --rows 1e6      # one size
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Rows of the demo world per unit of scale (707,237 at scale 1, seed 2025).
ROWS_PER_SCALE = 707_237
WORKERS = 2

FLOOR = """
import sys
import dask.dataframe as dd
from distributed import Client, LocalCluster

if __name__ == "__main__":
    with LocalCluster(n_workers={workers}, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        records = dd.read_parquet(sys.argv[1])
        sizes = records.groupby("doc_id").size().compute()
        print(len(sizes))
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed:\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def demo_files(rows: float, data_dir: Path) -> Path:
    scale = rows / ROWS_PER_SCALE
    folder = data_dir / f"demo-{scale:.4f}"
    if not (folder / "vc.parquet").exists():
        print(f"writing the demo world at scale {scale:.3f} to {folder} …", flush=True)
        timed(["icrank", "demo-data", "--output", str(folder), "--scale", f"{scale:.4f}"])
    return folder


def measure(rows: float, data_dir: Path) -> dict[str, float]:
    folder = demo_files(rows, data_dir)
    floor_s, _ = timed([sys.executable, "-c", FLOOR.format(workers=WORKERS), str(folder)])
    with tempfile.TemporaryDirectory() as out:
        flow_s, _ = timed(
            [
                "icrank",
                "run",
                "--input",
                str(folder),
                "--output",
                out,
                "--quiet",
                "--workers",
                str(WORKERS),
            ]
        )
        summary = json.loads(next(Path(out).glob("*/summary.json")).read_text())
    return {
        "rows": summary["counts"]["rows_read"],
        "floor_s": floor_s,
        "flow_s": flow_s,
        "ratio": flow_s / floor_s,
        "stages": summary["timings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, action="append", help="records (default 1e6, 1e7)")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "icrank-bench"
    )
    args = parser.parse_args()
    print("SYNTHETIC demo records (random draws around GeoNames cities), not WIPO data.")
    print(f"{'records':>12} {'floor (s)':>10} {'flow (s)':>10} {'flow/floor':>11}")
    for rows in args.rows or [1e6, 1e7]:
        result = measure(rows, args.data_dir)
        print(
            f"{result['rows']:>12,} {result['floor_s']:>10.1f} {result['flow_s']:>10.1f} "
            f"{result['ratio']:>10.2f}×",
            flush=True,
        )
        stages = ", ".join(f"{k} {v:.1f}" for k, v in result["stages"].items() if v >= 0.1)
        print(f"{'':>12} flow stages (s): {stages}", flush=True)
    print("goal at 10M records: flow ≤ 3× the floor")


if __name__ == "__main__":
    main()
