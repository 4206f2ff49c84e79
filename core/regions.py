"""Economies and GII-style world regions, from the ``country_converter`` package's table.

The package's converter class does not construct under pandas 3 (it reads Namibia's
code "NA" as missing), so its maintained data file is read directly, with missing-value
parsing switched off.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

WORLD_REGIONS = (
    "Northern America",
    "Latin America and the Caribbean",
    "Europe",
    "Asia",
    "Oceania",
    "Africa",
)


@lru_cache(maxsize=1)
def economy_table() -> pd.DataFrame:
    """ISO 3166-1 alpha-2 codes with their name and GII-style world region.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``economy`` (ISO2), columns ``name`` and ``world_region``. Antarctica
        has no region (empty string).
    """
    path = resources.files("country_converter").joinpath("country_data.tsv")
    with path.open(encoding="utf-8") as fh:
        data = pd.read_csv(
            fh,
            sep="\t",
            dtype=str,
            keep_default_na=False,
            usecols=["name_short", "ISO2", "continent", "UNregion"],
        )
    # The GII splits the Americas at Mexico: the UN's "Northern America" versus the rest.
    region = data["continent"].where(
        data["continent"] != "America", "Latin America and the Caribbean"
    )
    region = region.mask(data["UNregion"] == "Northern America", "Northern America")
    region = region.where(region.isin(WORLD_REGIONS), "")
    # A few codes are written as patterns with aliases ("^GB$|^UK$"); the first is ISO's.
    code = data["ISO2"].str.extract(r"([A-Z]{2})", expand=False)
    table = pd.DataFrame({"economy": code, "name": data["name_short"], "world_region": region})
    return (
        table[table["economy"].str.fullmatch("[A-Z]{2}")]
        .drop_duplicates("economy")
        .set_index("economy")
    )


def world_region(economies: pd.Series) -> pd.Series:
    """The world region of each ISO2 code; empty string for codes without one."""
    regions = economy_table()["world_region"]
    return economies.map(regions).fillna("").astype(object)


def known_economies() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code the table knows (including XK for Kosovo)."""
    return frozenset(economy_table().index)
