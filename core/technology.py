"""WIPO's 35 technology fields of IPC codes (WIPO's IPC–Technology Concordance).

The table is WIPO's, transcribed in ``core/data/wipo_ipc_technology.csv`` (see the README
beside it); it is read once per process, on first use.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

# Subclass (4 characters), then an optional main group number: "H01L 21/00", "H01L21/00",
# "G01N  33/53", "A61K0008020000" (fixed width: four digits of main group).
_SYMBOL = re.compile(r"^\s*([A-HY]\d\d[A-Z])\s*(\d*)")


@cache
def _table() -> tuple[dict[str, int], dict[int, str]]:
    text = resources.files("core").joinpath("data/wipo_ipc_technology.csv").read_text("utf-8")
    prefixes: dict[str, int] = {}
    names: dict[int, str] = {}
    for row in csv.DictReader(text.splitlines()):
        prefixes[row["ipc"]] = int(row["field_nr"])
        names[int(row["field_nr"])] = row["field"]
    return prefixes, names


def __getattr__(name: str) -> dict[int, str]:
    # TECHNOLOGY_FIELDS reads the table, so it is built on first use, not at import.
    if name == "TECHNOLOGY_FIELDS":
        return dict(_table()[1])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _field_of(symbol: object) -> int:
    if not isinstance(symbol, str):
        return 0
    match = _SYMBOL.match(symbol.upper())
    if match is None:
        return 0
    prefixes, _ = _table()
    subclass, group = match.groups()
    if len(group) > 4 and len(symbol.strip()) >= 12:
        group = group[:4]  # fixed width: main group then subgroup digits
    if group:
        field = prefixes.get(subclass + str(int(group)))
        if field is not None:
            return field
    return prefixes.get(subclass, 0)


def technology_fields(codes: np.ndarray | pd.Series) -> np.ndarray:
    """The WIPO technology field (1–35) of each IPC symbol; 0 where none applies.

    Symbols may be written as PATSTAT, PatentsView or DOCDB write them ("H01L  21/02",
    "H01L21/02", "A61K0008020000"); CPC-only codes (``Y02E``) and blanks give 0. The
    longest prefix of the table wins (G01N 33 → 11, other G01N → 10).
    """
    values = pd.Series(np.asarray(codes, dtype=object))
    codes_, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([_field_of(u) for u in uniques] + [0], dtype=np.int8)
    return table[codes_]
