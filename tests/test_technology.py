"""core/technology.py: IPC symbols in their written forms → WIPO's 35 technology fields."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import technology
from core.technology import technology_fields


def test_known_assignments_of_the_concordance():
    codes = {
        "H04L  29/06": 4,
        "G06Q  10/00": 7,
        "H01L21/02": 8,
        "G01N  33/53": 11,
        "G01N  21/64": 10,
        "A61K   8/02": 14,
        "A61K  31/00": 16,
        "B01D  53/86": 24,
        "B01D   1/00": 23,
        "H04N   1/00": 3,
        "H04N   5/232": 2,
        "C12N  15/10": 15,
        "B60W  30/00": 32,
        "E04B   1/00": 35,
        "h04w 4/00": 4,
        "A61K0008020000": 14,
        "H04B7/0617": 3,
    }
    assert technology_fields(np.array(list(codes), dtype=object)).tolist() == list(codes.values())


def test_unknown_codes_give_zero():
    out = technology_fields(pd.Series(["Y02E 10/50", "", None, np.nan, "nonsense"]))
    assert out.tolist() == [0, 0, 0, 0, 0]


def test_every_field_has_its_name():
    names = technology.TECHNOLOGY_FIELDS
    assert sorted(names) == list(range(1, 36))
    assert names[6] == "Computer technology" and names[11] == "Analysis of biological materials"
