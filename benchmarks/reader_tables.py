"""Rows/s of the table readers (patentsview, patstat) against the plain parser of their files.

Tables are generated in their published layouts (every column) as in
``benchmarks/reader_memory.py`` and held unzipped in memory. The floor is the plain parse:
pyarrow's CSV reader with its defaults (every column, types inferred) over every table's
bytes, nothing more. The reader parses the same bytes (the columns it uses, as text), then
prepares each table, joins them and makes the record rows (``core.readers.<format>``: the
functions the flow runs per piece and per bucket), on Arrow tables. A second, stricter floor
parses only the reader's columns, as text: the reader's own parse, so that ratio says what
the rest of the reader costs. Rows are the record rows made (one per inventor). Best of
three each; goal: a ratio of at least 0.5 against the plain parse.

    python benchmarks/reader_tables.py [--mb 40]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from reader_memory import patentsview_input, patstat_input
from timing import best_of

from core.readers import patentsview, patstat

INPUTS = {"patentsview": (patentsview, patentsview_input), "patstat": (patstat, patstat_input)}


def table_bytes(folder: Path, module) -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.glob("*.zip")):
        table = next(t for t in module.TABLES if t.holds(path.name))
        with zipfile.ZipFile(path) as archive:
            out[table.name] = archive.read(archive.namelist()[0])
    return out


def parse(module, name: str, data: bytes) -> pa.Table:
    columns = next(t for t in module.TABLES if t.name == name).columns
    return pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(delimiter=module.DELIMITER, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            include_columns=list(columns), column_types={c: pa.string() for c in columns}
        ),
    )


def parse_used(module, tables: dict[str, bytes]) -> list[pa.Table]:
    return [parse(module, name, data) for name, data in tables.items()]


def parse_plain(module, tables: dict[str, bytes]) -> list[pa.Table]:
    options = pacsv.ParseOptions(delimiter=module.DELIMITER, newlines_in_values=True)
    return [pacsv.read_csv(io.BytesIO(data), parse_options=options) for data in tables.values()]


def read(module, tables: dict[str, bytes]):
    prepared = {}
    for name, data in tables.items():
        chunk = parse(module, name, data)
        rows = pa.array(np.arange(len(chunk)))
        chunk = (
            chunk.append_column("row", rows)
            .append_column("file", pa.repeat(name, len(chunk)))
            .append_column("order", rows)
        )
        prepared[name] = module.prepare(name, chunk, options={})
    return module.records(module.join(prepared, options={}), options={})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=40.0)
    args = parser.parse_args()
    for fmt, (module, generate) in INPUTS.items():
        with tempfile.TemporaryDirectory() as folder:
            generate(Path(folder), int(args.mb * 2**20))
            tables = table_bytes(Path(folder), module)
        rows = len(read(module, tables))
        t_plain, _ = best_of(3, partial(parse_plain, module, tables))
        t_used, _ = best_of(3, partial(parse_used, module, tables))
        t_reader, _ = best_of(3, partial(read, module, tables))
        size = sum(map(len, tables.values())) / 2**20
        print(
            f"{fmt:12} {size:6.1f} MB, {rows:,} rows: plain parse {rows / t_plain:,.0f} rows/s, "
            f"reader {rows / t_reader:,.0f} rows/s, ratio {t_plain / t_reader:.2f} (goal >= 0.5); "
            f"vs parsing only the reader's columns {t_used / t_reader:.2f}"
        )


if __name__ == "__main__":
    main()
