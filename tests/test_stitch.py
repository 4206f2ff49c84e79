"""core.stitch.stitch_clusters on hand-built tile summaries: joins through exported cores,
numbering by lowest core row, the border rule and labels per tile, all expected by hand."""

from __future__ import annotations

import numpy as np
import pytest

from core.stitch import StitchResult, TileSummary, stitch_clusters


def _summary(tile, min_rows, exported=(), candidates=()) -> TileSummary:
    """``exported``: pairs (row, component); ``candidates``: triples (row, owner, component)."""
    exp = np.array(exported, dtype=np.int64).reshape(-1, 2)
    cand = np.array(candidates, dtype=np.int64).reshape(-1, 3)
    return TileSummary(
        tile=tile,
        component_min_row=np.array(min_rows, dtype=np.int64),
        exported_row=exp[:, 0],
        exported_component=exp[:, 1],
        candidate_row=cand[:, 0],
        candidate_owner=cand[:, 1],
        candidate_component=cand[:, 2],
    )


def _labels(res: StitchResult, tile: int, rows, components) -> list[int]:
    out = res.labels_for_tile(
        tile, np.array(rows, dtype=np.int64), np.array(components, dtype=np.int64)
    )
    assert out.dtype == np.int64
    return out.tolist()


def _border(res: StitchResult) -> dict[int, tuple[list[int], list[int]]]:
    return {t: (r.tolist(), lab.tolist()) for t, (r, lab) in res.border.items()}


def test_two_tiles_join_through_an_exported_core():
    # Tile 0: core rows 10, 11 (11 lies in tile 1's halo). Tile 1: core row 20 within ε of 11,
    # so tile 1 reports halo row 11 next to its component: the two components are one cluster.
    t0 = _summary(0, [10], exported=[(11, 0)])
    t1 = _summary(1, [20], candidates=[(11, 0, 0)])
    res = stitch_clusters([t0, t1])
    assert res.n_clusters == 1 and res.node_offset == {0: 0, 1: 1}
    assert res.node_label.tolist() == [0, 0]
    assert res.border == {}  # row 11 is core: no border label
    assert _labels(res, 0, [10, 11, 12], [0, 0, -1]) == [0, 0, -1]
    assert _labels(res, 1, [20, 21], [0, -1]) == [0, -1]


def test_an_export_nobody_reports_joins_nothing():
    # Row 11 is in tile 1's halo but not within ε of any core of tile 1.
    res = stitch_clusters([_summary(0, [10], exported=[(11, 0)]), _summary(1, [20])])
    assert res.n_clusters == 2 and res.node_label.tolist() == [0, 1]


def test_chain_over_three_tiles_merges_transitively():
    # 0 -- 1 through row 6 (core of tile 0), 1 -- 2 through row 31 (core of tile 1); tiles 0
    # and 2 never see each other. Tile 2 has a second, unrelated component. Order is free.
    t0 = _summary(0, [5], exported=[(6, 0)])
    t1 = _summary(1, [30], exported=[(31, 0)], candidates=[(6, 0, 0)])
    t2 = _summary(2, [50, 60], candidates=[(31, 1, 0)])
    res = stitch_clusters([t2, t0, t1])
    assert res.node_offset == {0: 0, 1: 1, 2: 2}
    assert res.n_clusters == 2
    assert res.node_label.tolist() == [0, 0, 0, 1]
    assert _labels(res, 2, [50, 55, 60], [0, -1, 1]) == [0, -1, 1]


def test_clusters_are_numbered_by_their_lowest_core_row_across_tiles():
    t0 = _summary(0, [40, 7])
    t1 = _summary(1, [3, 90])
    t2 = _summary(2, [15])
    res = stitch_clusters([t0, t1, t2])
    # Lowest rows 3 (t1 c0), 7 (t0 c1), 15 (t2 c0), 40 (t0 c0), 90 (t1 c1).
    assert res.node_offset == {0: 0, 1: 2, 2: 4}
    assert res.node_label.tolist() == [3, 1, 0, 4, 2]
    # Join t1 c1 (lowest row 90) with t0 c1 (lowest row 7): that cluster now ranks second.
    t0 = _summary(0, [40, 7], exported=[(8, 1)])
    t1 = _summary(1, [3, 90], candidates=[(8, 0, 1)])
    res = stitch_clusters([t0, t1, t2])
    assert res.n_clusters == 4
    assert res.node_label.tolist() == [3, 1, 0, 1, 2]


def test_border_point_between_two_clusters_takes_the_smaller_number():
    # Row 100, non-core, owned by tile 0, is within ε of tile 0's component (lowest row 50,
    # cluster 1) and of tile 1's component (lowest row 20, cluster 0), which reports it as halo.
    t0 = _summary(0, [50], candidates=[(100, 0, 0)])
    t1 = _summary(1, [20], candidates=[(100, 0, 0)])
    res = stitch_clusters([t0, t1])
    assert res.node_label.tolist() == [1, 0]
    assert _border(res) == {0: ([100], [0])}
    assert _labels(res, 0, [50, 100], [0, -1]) == [1, 0]
    # Within one tile too: row 7 touches both components, the one of row 20 ranks first.
    res = stitch_clusters([_summary(0, [50, 20], candidates=[(7, 0, 0), (7, 0, 1)])])
    assert res.node_label.tolist() == [1, 0]
    assert _border(res) == {0: ([7], [0])}


def test_border_point_reported_twice_for_one_cluster_gets_one_entry():
    # Both components are one cluster (joined through row 21); row 30 (owned by tile 2) is
    # reported next to each of them.
    t0 = _summary(0, [10], candidates=[(21, 1, 0), (30, 2, 0)])
    t1 = _summary(1, [20], exported=[(21, 0)], candidates=[(30, 2, 0)])
    res = stitch_clusters([t0, t1, _summary(2, [])])
    assert res.n_clusters == 1 and res.node_label.tolist() == [0, 0]
    assert _border(res) == {2: ([30], [0])}
    assert _labels(res, 2, [30, 31], [-1, -1]) == [0, -1]


def test_component_with_no_exports_stays_alone():
    # Row 9 of tile 0 is reported by tile 1 but is non-core (not exported): a border point,
    # no join. Tile 0's second component neither exports nor is reported.
    t0 = _summary(0, [1, 2])
    t1 = _summary(1, [0], candidates=[(9, 0, 0)])
    res = stitch_clusters([t0, t1])
    assert res.n_clusters == 3
    assert res.node_label.tolist() == [1, 2, 0]
    assert _border(res) == {0: ([9], [0])}
    assert _labels(res, 0, [1, 2, 9], [0, 1, -1]) == [1, 2, 0]


def test_tiles_with_no_components():
    # Tile 0 is all noise except row 4, which tile 1's only component reports.
    t0 = _summary(0, [])
    t1 = _summary(1, [8], candidates=[(4, 0, 0)])
    res = stitch_clusters([t0, t1])
    assert res.node_offset == {0: 0, 1: 0} and res.n_clusters == 1
    assert res.node_label.tolist() == [0]
    assert _labels(res, 0, [3, 4], [-1, -1]) == [-1, 0]
    assert _labels(res, 1, [8], [0]) == [0]
    # No component anywhere: nothing to number, every row is noise.
    res = stitch_clusters([_summary(0, []), _summary(1, [])])
    assert res.n_clusters == 0 and res.node_label.size == 0 and res.border == {}
    assert _labels(res, 1, [0, 5], [-1, -1]) == [-1, -1]
    res = stitch_clusters([])
    assert res.n_clusters == 0 and res.node_offset == {} and res.node_label.size == 0


def test_labels_for_tile_of_own_rows_with_noise():
    # Tile 0: component 0 (rows 10, 14), component 1 (row 30); border rows 12 and 40; rows
    # 5, 13 and 50 are noise (below, between and above every border row). Rows come unsorted.
    t0 = _summary(0, [10, 30], candidates=[(12, 0, 0), (40, 0, 1), (40, 0, 0)])
    res = stitch_clusters([t0])
    assert _border(res) == {0: ([12, 40], [0, 0])}
    rows = [50, 12, 30, 5, 14, 40, 10, 13]
    comp = [-1, -1, 1, -1, 0, -1, 0, -1]
    assert _labels(res, 0, rows, comp) == [-1, 0, 1, -1, 0, 0, 0, -1]
    assert _labels(res, 0, [], []) == []


def test_a_core_row_exported_by_two_tiles_is_refused():
    t0 = _summary(0, [1], exported=[(1, 0)])
    t1 = _summary(1, [2], exported=[(1, 0)])
    with pytest.raises(RuntimeError, match="exported by two tiles"):
        stitch_clusters([t0, t1])
