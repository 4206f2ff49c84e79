"""Throughput of ``core.readers.wos.parse`` against the plain parsers of its two forms.

The input is ~100k records built by repeating the records of the test fixtures
(tests/data/wos/) with fresh ``UT`` accession numbers, in each export form:

- plain text: the floor is a tagged-text line loop (split the lines; a two-letter tag starts
  a field, three spaces continue it, ``ER`` closes the record) that only collects each
  record's fields, without reading C1, weights or a frame;
- tab-delimited: the floor is ``pandas.read_csv(sep="\\t")`` of the whole file, every column
  as text.

Both are timed on the same bytes in the same run; the ratio is the reader's records/s over
the floor's (the goal is ≥ 0.5). The reader does more: it checks every line, splits the
C1 addresses and their author brackets, and computes the fractional weights.

    python benchmarks/reader_wos.py [--records 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from timing import best_of  # noqa: E402

from core.readers import wos  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "wos"
_UT = re.compile(r"WOS:\d{15}")


def _fresh_ids(template: str, copies: int) -> str:
    """``copies`` of ``template`` with each accession number replaced by a fresh one."""
    parts = []
    serial = 0
    for _ in range(copies):

        def fresh(_match: re.Match[str]) -> str:
            nonlocal serial
            serial += 1
            return f"WOS:{900000000000000 + serial:015d}"

        parts.append(_UT.sub(fresh, template))
    return "".join(parts)


def plain_file(n_records: int) -> bytes:
    """A plain-text export of about ``n_records`` records (UTF-8 with mark, ``\\n``)."""
    bodies = []
    for name in ("savedrecs_2024.txt", "savedrecs_2013_crlf.txt"):
        text = (DATA / name).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        start = text.index("\nPT ") + 1
        bodies.append(text[start : text.rindex("\nEF")] + "\n")
    template = "".join(bodies)
    per_copy = template.count("\nER\n")
    body = _fresh_ids(template, max(1, n_records // per_copy))
    header = "FN Clarivate Analytics Web of Science\nVR 1.0\n"
    return ("\ufeff" + header + body + "EF\n").encode("utf-8")


def tab_file(n_records: int) -> bytes:
    """A tab-delimited export of about ``n_records`` records (mark, ``\\r\\n``)."""
    text = (DATA / "savedrecs_tab.txt").read_bytes().decode("utf-8-sig")
    header, rest = text.split("\r\n", 1)
    per_copy = rest.count("\r\n")
    return ("\ufeff" + header + "\r\n" + _fresh_ids(rest, max(1, n_records // per_copy))).encode()


def plain_floor(data: bytes) -> int:
    """The tagged-text line loop: each record's fields as lists of lines."""
    records = []
    record: dict[str, list[str]] = {}
    tag = ""
    for line in data.decode("utf-8-sig").splitlines():
        if line.startswith("   "):
            record[tag].append(line[3:])
        elif line.startswith("ER"):
            records.append(record)
            record = {}
        elif line[:2] not in ("", "FN", "VR", "EF"):
            tag = line[:2]
            record[tag] = [line[3:]]
    return len(records)


def tab_floor(data: bytes) -> int:
    # index_col=False drops the empty field after each record's trailing tab (with a
    # warning that it does so).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        frame = pd.read_csv(
            io.BytesIO(data),
            sep="\t",
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_NONE,
            index_col=False,
            encoding="utf-8-sig",
        )
    return len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for form, data, floor in (
        ("plain text", plain_file(args.records), plain_floor),
        ("tab-delimited", tab_file(args.records), tab_floor),
    ):
        n_records = floor(data)
        frame = wos.parse(data, file="bench.txt")
        assert frame["doc_id"].nunique() == n_records, (frame["doc_id"].nunique(), n_records)
        t_floor, _ = best_of(args.repeat, lambda data=data, floor=floor: floor(data))
        t_reader, _ = best_of(args.repeat, lambda data=data: wos.parse(data, file="bench.txt"))
        print(
            f"{form:>13}: {n_records:,} records ({len(data) / 1e6:.1f} MB) → {len(frame):,} rows; "
            f"floor {n_records / t_floor:,.0f} records/s, reader {n_records / t_reader:,.0f} "
            f"records/s ({len(frame) / t_reader:,.0f} rows/s); ratio {t_floor / t_reader:.2f}"
        )


if __name__ == "__main__":
    main()
