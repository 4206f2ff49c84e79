"""World regions of economies."""

from __future__ import annotations

import pandas as pd

from core.regions import world_region


def test_world_regions_follow_the_gii_split_of_the_americas():
    codes = pd.Series(["US", "CA", "MX", "BR", "GB", "CN", "AU", "NG", "XX"])
    assert list(world_region(codes)) == [
        "Northern America",
        "Northern America",
        "Latin America and the Caribbean",
        "Latin America and the Caribbean",
        "Europe",
        "Asia",
        "Oceania",
        "Africa",
        "",
    ]
