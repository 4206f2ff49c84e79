"""Throughput of ``core.readers.deals.parse`` against a plain CSV read of the same bytes.

The table is tests/data/deals/funding_rounds.csv (a Crunchbase bulk-export layout) repeated
to ``--records`` rows, each copy with fresh round ids, read through
deploy/deals-mapping-example.yaml. The plain parser is ``pandas.read_csv`` of the same
bytes with default settings (types inferred, all columns): the least any reader of the
file does. A second table, tests/data/deals/investor_hq.csv repeated the same way, times
the multi-valued split (several investor cities per row).

    python benchmarks/reader_deals.py [--records 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import uuid
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from timing import best_of  # noqa: E402

from core.readers.deals import parse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "deals"
INVESTOR_HQ = {
    "id": "deal_id",
    "date": "announced",
    "city": "investor_cities",
    "state": "investor_states",
    "country": "investor_countries",
    "organization": "company",
    "amount": "money_raised",
    "multi_valued": {c: "; " for c in ("investor_cities", "investor_states", "investor_countries")},
}


def repeated(name: str, records: int, id_column: int) -> bytes:
    """The fixture's data lines repeated to ``records`` rows, column ``id_column`` (a
    round uuid) replaced by a fresh uuid in every copy."""
    text = (DATA / name).read_bytes().decode("utf-8-sig")
    header, *lines = [line for line in text.splitlines() if line]
    out = [header]
    for i in range(records):
        cells = lines[i % len(lines)].split(",", id_column + 1)
        cells[id_column] = str(uuid.UUID(int=i))
        out.append(",".join(cells))
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    example = yaml.safe_load((ROOT / "deploy" / "deals-mapping-example.yaml").read_text("utf-8"))
    cases = [
        ("funding_rounds.csv", repeated("funding_rounds.csv", args.records, 0), example),
        (
            "investor_hq.csv (multi-valued)",
            repeated("investor_hq.csv", args.records, 0),
            INVESTOR_HQ,
        ),
    ]
    for label, data, mapping in cases:
        plain, table = best_of(args.repeat, lambda d=data: pd.read_csv(io.BytesIO(d)))
        n_plain = len(table)
        reader, frame = best_of(
            args.repeat,
            lambda d=data, m=mapping: parse(d, file="deals.csv", options={"mapping": m}),
        )
        n_rows = len(frame)
        print(
            f"{label}: {len(data) / 1e6:.1f} MB, {n_plain:,} records → {n_rows:,} rows; "
            f"read_csv {n_plain / plain:,.0f} records/s, deals.parse {n_plain / reader:,.0f} "
            f"records/s; ratio {plain / reader:.2f}×"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
