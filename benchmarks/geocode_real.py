"""Accuracy of ``core.geocoding.geocode`` on real address strings with known places.

``benchmarks/data/real_addresses.csv`` (see ``benchmarks/data/README.md`` for the sources and
the rules that chose the rows) holds real strings in the exact form their sources publish:

``affiliation``  affiliation strings of publications (Springer Nature, American Physical
                 Society, Crossref publisher metadata) with the ROR id the publisher gave;
                 the truth is ROR's coordinates of the organisation;
``wos``          Web of Science C1 addresses from public exports; the truth is ROR's
                 coordinates of the city the address names;
``patent``       USPTO inventor city/state/country with PatentsView's coordinates;
``deal``         city/state/country fields of Crunchbase exports; truth as for ``wos``.

A row is *within 10 km* when the returned point lies within 10 km of the truth, and
*confidently wrong* when it lies more than 100 km away with a method other than
``ambiguous``, ``state`` or ``country`` (or ``unmatched``, which has no point).

    python benchmarks/geocode_real.py [--examples 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from benchmarks.geocode_accuracy import haversine_km  # noqa: E402
from core.geocoding import build_index, geocode  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data", "real_addresses.csv")
GOALS = {"within_10km": 0.97, "confidently_wrong": 0.005, "ambiguous": 0.02}
UNSURE = ("ambiguous", "state", "country", "unmatched")


def score(frame: pd.DataFrame) -> dict[str, float]:
    method = frame["method"]
    return {
        "rows": len(frame),
        "within_10km": float((frame["km"] <= 10).mean()),
        "confidently_wrong": float(((frame["km"] > 100) & ~method.isin(UNSURE)).mean()),
        "ambiguous": float((method == "ambiguous").mean()),
        "state_or_country": float(method.isin(["state", "country"]).mean()),
        "unmatched": float((method == "unmatched").mean()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=30)
    args = ap.parse_args(argv)

    table = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    t0 = time.perf_counter()
    index = build_index()
    print(f"index build: {time.perf_counter() - t0:.1f} s")
    fields = table[["city", "state", "country", "address"]].replace("", None)
    t0 = time.perf_counter()
    out = geocode(fields, index=index)
    print(f"geocode {len(table):,} rows: {time.perf_counter() - t0:.2f} s")
    result = table.assign(
        method=out["geocode_method"],
        km=haversine_km(
            table["true_lat"].astype(float), table["true_lon"].astype(float), out["lat"], out["lon"]
        ),
    )
    rows = [("all", score(result))] + [(g, score(p)) for g, p in result.groupby("group")]
    report = pd.DataFrame({name: s for name, s in rows}).T
    with pd.option_context("display.float_format", "{:.2%}".format):
        print(report.assign(rows=report["rows"].astype(int)).to_string())
    overall = dict(rows)["all"]
    for key, goal in GOALS.items():
        met = overall[key] >= goal if key == "within_10km" else overall[key] <= goal
        print(
            f"{key}: {overall[key]:.2%} (goal {'>=' if key == 'within_10km' else '<='} "
            f"{goal:.1%}): {'met' if met else 'NOT met'}"
        )
    print("methods:", result["method"].value_counts().to_dict())
    misses = result[~(result["km"] <= 10)].sort_values("km", ascending=False)
    if len(misses) and args.examples:
        print(f"\n{len(misses)} rows not within 10 km, the farthest:")
        text = misses["address"].where(
            misses["address"] != "", misses["city"] + ", " + misses["state"]
        )
        with pd.option_context("display.width", 200, "display.max_colwidth", 90):
            print(
                misses.assign(text=text)[["group", "text", "method", "km"]]
                .head(args.examples)
                .to_string()
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
