"""Cost of the geocoder's gazetteer index at the shipped threshold (places of >= 500
inhabitants) against the previous one (>= 1,000), measured in the same run.

Each measurement runs in a fresh process: *build* is ``core.geocoding.build_index`` with every
per-country fuzzy table (what ``flows.gazetteer_cache`` caches), *load* is unpickling that
cache, which each worker process does once. Goal: both within 2x of the 1,000 threshold.

    python benchmarks/gazetteer_build.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(__file__), "..")
CHILD = """
import json, pickle, sys, time
sys.path.insert(0, {root!r})
from core.geocoding import build_index
t0 = time.perf_counter()
index = build_index({threshold})
for country in index.country_codes:
    index.fuzzy_table(country)
build = time.perf_counter() - t0
with open({path!r}, "wb") as fh:
    pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
print(json.dumps({{"build": build, "places": len(index.places), "names": len(index.names)}}))
"""
LOAD = """
import json, pickle, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
with open({path!r}, "rb") as fh:
    pickle.load(fh)
print(json.dumps({{"load": time.perf_counter() - t0}}))
"""


def run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    best: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for threshold in (1000, 500):
                path = os.path.join(tmp, f"index-{threshold}.pickle")
                built = run(CHILD.format(root=ROOT, threshold=threshold, path=path))
                loaded = run(LOAD.format(root=ROOT, path=path))
                size = os.path.getsize(path)
                prev = best.get(threshold)
                row = {**built, **loaded, "bytes": size}
                best[threshold] = (
                    row
                    if prev is None
                    else {
                        k: min(v, prev[k]) if k in ("build", "load") else v for k, v in row.items()
                    }
                )
    for threshold, row in sorted(best.items(), reverse=True):
        print(
            f">= {threshold:>5,} inhabitants: {row['places']:>7,} places, "
            f"{row['names']:>9,} names, build {row['build']:5.1f} s, "
            f"load {row['load']:4.2f} s, cache {row['bytes'] / 1e6:5.0f} MB"
        )
    for key in ("build", "load"):
        ratio = best[500][key] / best[1000][key]
        verdict = "met" if ratio <= 2 else "NOT met"
        print(f"{key}: {ratio:.2f}x the 1,000 threshold (goal <= 2x): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
