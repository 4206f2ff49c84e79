"""core/profiles.py kernels on plain frames (the flow's profiles are tested in test_rank.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.hashing import name_keys
from core.profiles import (
    ITEM_SUM_KEYS,
    cluster_item_sums,
    growth_rates,
    member_sites,
    profile_names,
    profile_sums,
)
from core.records import YEAR_RANGE, YEAR_SPAN, validate_records
from core.regions import known_economies
from core.sources import SOURCES


def weighted_rows(**columns):
    n = len(columns["loc"])
    base = {"year": np.full(n, 2024), "w": np.full(n, 10), "valid": np.ones(n, bool)}
    base.update({"org": np.zeros(n, np.int64), "fld": np.zeros(n, np.int64)})
    return pd.DataFrame({**base, **columns})


def test_profile_sums_add_weights_per_location_year_and_item():
    rows = weighted_rows(
        loc=np.array([7, 7, 7, 8, 8]),
        org=np.array([5, 5, 6, 5, 0]),
        fld=np.array([3, 0, 3, 3, 3]),
        valid=np.array([True, True, True, True, False]),
    )
    out = profile_sums(rows).sort_values(["kind", "key", "item"], ignore_index=True)
    key = lambda loc: loc * YEAR_SPAN + 2024 - YEAR_RANGE[0]  # noqa: E731
    assert out[["key", "kind", "item", "w"]].values.tolist() == [
        [key(7), 0, 5, 20],
        [key(7), 0, 6, 10],
        [key(8), 0, 5, 10],
        [key(7), 1, 3, 20],
        [key(8), 1, 3, 10],
    ]


def test_profile_names_keep_the_smallest_spelling_of_usable_rows():
    raw = pd.DataFrame(
        {
            "source": ["publication", "publication", "publication", "patent"],
            "doc_id": ["a", "b", "c", "d"],
            "year": [2024, 2024, 2024, 2024],
            "lat": [1.0, 1.0, None, 1.0],
            "lon": [1.0, 1.0, None, 1.0],
            "country": ["FR", "FR", "FR", "FR"],
            "organization": ["univ paris ", "Univ Paris", "AAA", "Acme"],
            "field": ["Physics", "physics", "Zoology", "H01L 21/00"],
        }
    )
    checked = validate_records(raw, rounding_deg=0.01, known_countries=known_economies())
    names = profile_names(checked)
    by_key = names.set_index(["kind", "item"])["name"]
    # Row c has no coordinates: rejected, so "AAA" and "Zoology" are not named.
    assert by_key[(0, name_keys(pd.Series(["Univ Paris"]))[0])] == "Univ Paris"
    assert by_key[(1, name_keys(pd.Series(["Physics"]))[0])] == "Physics"
    assert sorted(names["name"]) == ["Acme", "Physics", "Univ Paris"]


def test_growth_is_the_compound_rate_between_the_window_edges():
    def key(site, year):
        return (site * 677 + 0) * YEAR_SPAN + year - YEAR_RANGE[0]

    locations = pd.DataFrame(
        {
            "key": [key(1, 2020), key(1, 2022), key(1, 2024), key(2, 2024)],
            "w": [100, 999, 400, 50],
        }
    )
    members = pd.DataFrame(
        {"site": [1, 2], "source": ["patent", "patent"], "combined": [0, 1], "w": [1, 1]}
    )
    out = growth_rates(locations, member_sites(members), start_year=2020, end_year=2024)
    assert out.loc[0, "growth_patents"] == pytest.approx(4 ** (1 / 4) - 1)
    assert np.isnan(out.loc[1, "growth_patents"])
    assert np.isnan(out.loc[0, "growth_publications"])


def test_cluster_item_sums_keep_cluster_members_in_the_window_only():
    def key(site, year):
        return (site * 677 + 5) * YEAR_SPAN + year - YEAR_RANGE[0]

    sums = pd.DataFrame(
        {
            # site 1 and 3 are members of cluster 0, site 2 is noise, 2019 is outside.
            "key": [key(1, 2024), key(3, 2024), key(3, 2024), key(2, 2024), key(1, 2019)],
            "kind": np.array([0, 0, 1, 0, 0], np.int8),
            "item": [7, 7, 7, 7, 7],
            "w": [10, 5, 3, 100, 1000],
        }
    )
    members = pd.DataFrame(
        {"site": [3, 1, 3], "source": ["vc", "patent", "vc"], "combined": [0, 0, 0], "w": [1] * 3}
    )
    sites = member_sites(members)
    assert sites["site"].tolist() == [1, 3]
    out = cluster_item_sums(sums, sites, start_year=2020, end_year=2024)
    rows = out.sort_values(ITEM_SUM_KEYS)[[*ITEM_SUM_KEYS, "w"]].values.tolist()
    patent, vc = SOURCES.index("patent"), SOURCES.index("vc")
    assert rows == sorted([[0, patent, 0, 7, 10], [0, vc, 0, 7, 5], [0, vc, 1, 7, 3]])
    empty = member_sites(members.iloc[:0])
    assert len(cluster_item_sums(sums, empty, start_year=2020, end_year=2024)) == 0
