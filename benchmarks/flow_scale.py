"""End-to-end ranking flow against the floor of reading its input, measured in the same run.

The world is the calibrated generator of ``core.demo_world`` (SYNTHETIC records around real
GeoNames cities whose per-country and per-hub totals follow public figures; never WIPO data),
written once as ``--parts`` Parquet files under ``--data-dir`` by two processes, one row group
per generator chunk (about 63k rows).

The floor is the least a ranking of those files must do, in a fresh process: read them with
pyarrow (columns source, doc_id, year, lat, lon, country) and count rows per (source, doc_id)
with one ``group_by`` (fractional counting needs that). The flow is ``icrank run --input …
--workers 2 --worker-memory …`` in a fresh process too. For each, the peak resident memory of
the whole process tree (client, scheduler, nannies, workers) is sampled every 0.1 s; the flow's
peak is also split by role, and its per-stage times come from the run's ``summary.json``.

Usage::

    python benchmarks/flow_scale.py                         # 10M and 100M records
    python benchmarks/flow_scale.py --rows 1e7 --parts 15   # one size
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

# Rows of the calibrated world per unit of scale (seed 2025).
ROWS_PER_SCALE = 707_237
# Rows per Parquet part when --parts is not given: about the 145 parts of 99.6M records the
# scale goals were set on.
ROWS_PER_PART = 690_000
WORKERS = 2
WORKER_MEMORY = "3GB"
SEED = 2025
FLOOR_COLUMNS = ["source", "doc_id", "year", "lat", "lon", "country"]

FLOOR = """
import sys
import pyarrow.parquet as pq

table = pq.read_table(sys.argv[1], columns={columns!r})
counts = table.group_by(["source", "doc_id"]).aggregate([([], "count_all")])
print(table.num_rows, counts.num_rows)
"""


# --------------------------------------------------------------------------------------
# The world, as many Parquet files
# --------------------------------------------------------------------------------------


def _schema():  # type: ignore[no-untyped-def]
    import pyarrow as pa

    from core.demo_world import DEMO_COLUMNS

    types = {"year": pa.int64(), "lat": pa.float64(), "lon": pa.float64(), "amount": pa.float64()}
    return pa.schema([(c, types.get(c, pa.string())) for c in DEMO_COLUMNS])


def _write_part(task: tuple[str, float, list[int]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.demo_world import generate_demo_chunk
    from core.gazetteer import load_cities

    path, scale, chunks = task
    cities, schema, rows = load_cities(), _schema(), 0
    with pq.ParquetWriter(path + ".tmp", schema) as writer:
        for chunk in chunks:
            frame = generate_demo_chunk(cities, chunk, scale=scale, seed=SEED)
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            rows += len(frame)
    Path(path + ".tmp").rename(path)
    return rows


def calibrated_world(rows: float, parts: int, data_dir: Path) -> Path:
    """The folder of the world's ``parts`` Parquet files, written unless already there."""
    from core.demo_world import demo_chunk_count

    scale = rows / ROWS_PER_SCALE
    folder = data_dir / f"calibrated-{scale:.4f}-{parts}"
    n_chunks = demo_chunk_count(scale=scale)
    parts = min(parts, n_chunks)
    bounds = [round(i * n_chunks / parts) for i in range(parts + 1)]
    tasks = [
        (str(folder / f"part-{i:05d}.parquet"), scale, list(range(bounds[i], bounds[i + 1])))
        for i in range(parts)
    ]
    todo = [t for t in tasks if not Path(t[0]).exists()]
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
        print(f"writing {len(todo)} of {parts} parts of the world at scale {scale:.2f} to {folder}")
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
            for done, _ in enumerate(pool.imap_unordered(_write_part, todo), 1):
                print(f"\r  {done}/{len(todo)} parts", end="", flush=True)
        print(f"\r  {len(todo)} parts in {time.perf_counter() - start:.0f} s", flush=True)
    return folder


# --------------------------------------------------------------------------------------
# Timing and memory of a process tree
# --------------------------------------------------------------------------------------


@dataclass
class TreeRun:
    seconds: float
    stdout: str
    peak_bytes: int  # of the sum over the tree, at one instant
    peak_by_role: dict[str, int] = field(default_factory=dict)  # each role's own peak


def _role(proc: psutil.Process, root: int) -> str:
    if proc.pid == root:
        return "client+scheduler"
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "other"
    if "spawn_main" in cmd or "multiprocessing" in cmd:
        return "worker"
    return "nanny" if "nanny" in cmd.lower() else "other"


def run_tree(cmd: list[str], *, interval_s: float = 0.1) -> TreeRun:
    """Run ``cmd`` to its end, sampling the resident memory of it and all its descendants."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak, by_role = 0, {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total, roles = 0, {}
            for p in tree:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                role = _role(p, root.pid)
                key = role if role != "worker" else f"worker {p.pid}"
                roles[key] = max(roles.get(key, 0), rss)
            peak = max(peak, total)
            for key, rss in roles.items():
                by_role[key] = max(by_role.get(key, 0), rss)
            stop.wait(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    workers = sorted(v for k, v in by_role.items() if k.startswith("worker "))
    roles = {k: v for k, v in by_role.items() if not k.startswith("worker ")}
    roles.update({f"worker {i + 1}": v for i, v in enumerate(reversed(workers))})
    return TreeRun(seconds, stdout, peak, roles)


# --------------------------------------------------------------------------------------
# One size
# --------------------------------------------------------------------------------------


def measure(folder: Path, worker_memory: str) -> tuple[TreeRun, TreeRun, dict]:
    floor = run_tree([sys.executable, "-c", FLOOR.format(columns=FLOOR_COLUMNS), str(folder)])
    with tempfile.TemporaryDirectory() as out:
        flow = run_tree(
            [
                str(Path(sys.executable).with_name("icrank")),
                "run",
                "--input",
                str(folder),
                "--output",
                out,
                "--quiet",
                "--workers",
                str(WORKERS),
                "--worker-memory",
                worker_memory,
            ]
        )
        summary = json.loads(next(Path(out).glob("*/summary.json")).read_text())
    return floor, flow, summary


def gb(n: int) -> str:
    return f"{n / 1e9:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, action="append", help="records (default 1e7, 1e8)")
    parser.add_argument(
        "--parts", type=int, help=f"Parquet files (default: one per {ROWS_PER_PART:,} records)"
    )
    parser.add_argument("--worker-memory", default=WORKER_MEMORY, help="per local worker")
    parser.add_argument("--repeat", type=int, default=1, help="measurements per size")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "icrank-bench"
    )
    args = parser.parse_args()
    print("SYNTHETIC calibrated world (random draws around GeoNames cities), not WIPO data.")
    print(f"{WORKERS} local workers of {args.worker_memory}, 1 thread each")
    for rows in args.rows or [1e7, 1e8]:
        parts = args.parts or max(1, math.ceil(rows / ROWS_PER_PART))
        folder = calibrated_world(rows, parts, args.data_dir)
        for _ in range(args.repeat):
            floor, flow, summary = measure(folder, args.worker_memory)
            n = summary["counts"]["rows_read"]
            print(
                f"{n:>12,} records in {parts} files: floor {floor.seconds:.1f} s "
                f"(peak {gb(floor.peak_bytes)} GB), icrank run {flow.seconds:.1f} s "
                f"(peak {gb(flow.peak_bytes)} GB): {flow.seconds / floor.seconds:.2f}× the floor",
                flush=True,
            )
            roles = ", ".join(f"{k} {gb(v)}" for k, v in flow.peak_by_role.items())
            print(f"{'':>12} peak RSS per process (GB): {roles}")
            stages = ", ".join(f"{k} {v:.1f}" for k, v in summary["timings"].items() if v >= 0.1)
            print(f"{'':>12} flow stages (s): {stages}", flush=True)
    print("goals: peak ≤ 8 GB at 100M; flow ≤ 1.5× the floor at 100M, ≤ 2.5× at 10M")


if __name__ == "__main__":
    main()
