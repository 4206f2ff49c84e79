"""The Scopus reader against a plain CSV read of the same file.

A file of about 100k records is built by repeating the records of
``tests/data/scopus/export_2023.csv`` with fresh EIDs; the plain parser is ``pandas.read_csv``
of every column as text (what any Scopus script does first). Prints records/s of both and
their ratio (goal: the reader at ≥ 0.5× the plain read).

    python benchmarks/reader_scopus.py [--records 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pandas as pd
from timing import best_of

from core.readers import scopus

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "scopus" / "export_2023.csv"


def build(records: int) -> bytes:
    """``records`` records of the fixture, cycled, each with its own EID."""
    rows = list(csv.reader(io.StringIO(FIXTURE.read_text("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    eid = header.index("EID")
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    for i in range(records):
        row = list(body[i % len(body)])
        row[eid] = f"2-s2.0-{90000000000 + i}"
        writer.writerow(row)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def main() -> None:
    """Build the file, time both parsers, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = build(args.records)
    rows = len(scopus.parse(data, file="bench.csv"))

    def plain() -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")

    base, _ = best_of(args.repeat, plain)
    ours, _ = best_of(args.repeat, lambda: scopus.parse(data, file="bench.csv"))
    print(f"file: {len(data) / 1e6:.1f} MB, {args.records:,} records, {rows:,} reader rows")
    print(f"pandas.read_csv (all columns as text): {args.records / base:,.0f} records/s")
    print(f"core.readers.scopus.parse:             {args.records / ours:,.0f} records/s")
    print(f"ratio: {base / ours:.2f}x (goal >= 0.5x)")


if __name__ == "__main__":
    main()
