"""flows/graph.py: tree sums and concatenations give what one pandas step would."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from flows.graph import submit, tree_concat, tree_sum


def _identity(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def parts(n_parts: int, rows: int, seed: int = 0) -> dd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame(
            {
                "key": rng.integers(0, 50, rows).astype(np.int64),
                "kind": rng.choice(["a", "b"], rows),
                "w": rng.integers(0, 1000, rows).astype(np.int64),
            }
        )
        for _ in range(n_parts)
    ]
    return dd.from_map(_identity, frames, meta=frames[0].iloc[:0])


@pytest.mark.parametrize("n_parts", [1, 3, 8, 9, 70])
@pytest.mark.parametrize("buckets", [1, 4])
def test_tree_sum_equals_one_groupby_for_any_partitioning(n_parts, buckets):
    frame = parts(n_parts, 40, seed=n_parts)
    with dask.config.set(scheduler="sync"):
        got = tree_sum(frame, by=["key", "kind"], name="t", buckets=buckets).compute()
        want = frame.compute().groupby(["key", "kind"]).sum().reset_index()
    got = got.sort_values(["key", "kind"], ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
    assert got["w"].sum() == frame.compute()["w"].sum()


def test_tree_concat_keeps_every_row_in_partition_order():
    frame = parts(5, 7)
    with dask.config.set(scheduler="sync"):
        got = tree_concat(frame, name="c").compute()
    pd.testing.assert_frame_equal(got, frame.compute().reset_index(drop=True))


def test_keys_are_deterministic_so_the_same_work_is_recognised():
    a = tree_sum(parts(4, 10), by=["key"], name="s", buckets=2)
    b = tree_sum(parts(4, 10), by=["key"], name="s", buckets=2)
    c = tree_sum(parts(4, 10, seed=1), by=["key"], name="s", buckets=2)
    assert a.key == b.key != c.key


def test_submit_without_a_client_computes_when_waited_for():
    frame = parts(3, 5)
    leaves = frame.to_delayed()
    wait = submit(tree_concat(frame, name="c"), tree_sum(frame, by=["key"], name="s"), keep=leaves)
    with dask.config.set(scheduler="sync"):
        (rows, sums), kept = wait(False)
    assert len(rows) == 15 and sums["w"].sum() == rows["w"].sum()
    assert [len(k) for k in kept] == [5, 5, 5]
    assert tree_sum(kept, by=["key"], name="s2").compute(scheduler="sync").equals(sums)
