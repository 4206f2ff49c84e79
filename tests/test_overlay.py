"""Footprint overlay: merging clusters of all sources, matching clusters between editions."""

from __future__ import annotations

import pandas as pd

from core.overlay import match_previous, overlay_clusters, rank_changes


def test_overlay_merges_transitively_and_keeps_apart_what_shares_nothing():
    members = pd.DataFrame(
        {
            "source": ["patent", "patent", "publication", "publication", "vc", "vc"],
            "label": [0, 1, 0, 0, 0, 1],
            "cell_lat": [10, 50, 10, 11, 11, 80],
            "cell_lon": [10, 50, 10, 11, 11, 80],
        }
    )
    combined = overlay_clusters(members).set_index(["source", "label"])["combined"]
    # patent 0 ~ publication 0 (cell 10,10) ~ vc 0 (cell 11,11): one cluster.
    assert combined["patent", 0] == combined["publication", 0] == combined["vc", 0]
    assert len({combined["patent", 0], combined["patent", 1], combined["vc", 1]}) == 3


def test_previous_matching_is_one_to_one_by_largest_overlap():
    cur = pd.DataFrame(
        {"cluster_id": ["a", "a", "a", "b"], "cell_lat": [1, 2, 3, 3], "cell_lon": [1, 1, 1, 1]}
    )
    prev = pd.DataFrame(
        {"cluster_id": ["x", "x", "y"], "cell_lat": [1, 3, 2], "cell_lon": [1, 1, 1]}
    )
    matched = match_previous(cur, prev)
    # a–x share 2 cells; b shares cell 3 with x only, which is taken: b has no match.
    assert matched.to_dict("records") == [
        {"cluster_id": "a", "previous_cluster_id": "x", "overlap": 2}
    ]


def ranked(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"rank": range(1, len(ids) + 1), "cluster_id": ids})


def cells(pairs: list[tuple[str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["cluster_id", "cell_lat", "cell_lon"])


def test_rank_changes_without_an_earlier_edition_are_missing():
    out = rank_changes(ranked(["a", "b"]), cells([("a", 0, 0)]), None, None, top=1)
    assert out["previous_rank"].isna().all() and out["rank_change"].isna().all()
    assert out["new_entrant"].isna().all() and out["rank"].tolist() == [1, 2]


def test_rank_changes_match_by_footprint_and_flag_new_entrants():
    # Now: a (rank 1) overlaps old y (rank 3), b (rank 2) overlaps old x (rank 1), c is new.
    now = ranked(["a", "b", "c"])
    now_cells = cells([("a", 0, 0), ("a", 0, 1), ("b", 5, 5), ("c", 9, 9)])
    before = pd.DataFrame({"rank": [1, 3], "cluster_id": ["x", "y"]})
    before_cells = cells([("x", 5, 5), ("y", 0, 1), ("y", 0, 2)])
    out = rank_changes(now, now_cells, before, before_cells, top=2).set_index("cluster_id")
    assert out["previous_rank"].tolist() == [3, 1, pd.NA]
    assert out["rank_change"].tolist() == [2, -1, pd.NA]  # positive: moved up
    # a entered the top 2 from rank 3; b was in it; c is ranked 3, outside the top 2.
    assert out["new_entrant"].tolist() == [True, False, False]
