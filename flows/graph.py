"""Graph helpers of the flow: sums and concatenations of partitions in trees of small tasks,
and computing on the active Dask client while the caller works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
from dask.base import tokenize
from dask.delayed import Delayed, delayed


def _sum_frames(parts: list[pd.DataFrame], *, by: list[str], how: str = "sum") -> pd.DataFrame:
    frame = pd.concat(parts, ignore_index=True)
    return frame.groupby(by, sort=False, observed=True).agg(how).reset_index()


def _concat_frames(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


def tree_concat(frame: dd.DataFrame, *, name: str) -> Delayed:
    """All partitions of ``frame`` as one pandas frame, in one task."""
    parts = frame.to_delayed(optimize_graph=False)
    return delayed(_concat_frames)(parts, dask_key_name=f"{name}-{tokenize(parts)}")


def _split_by_key(frame: pd.DataFrame, *, column: str, buckets: int) -> list[pd.DataFrame]:
    bucket = frame[column].to_numpy() % buckets
    return [frame[bucket == b] for b in range(buckets)]


def tree_sum(
    frame: dd.DataFrame | list[Delayed],
    *,
    by: list[str],
    name: str,
    split_every: int = 8,
    buckets: int = 1,
    how: str = "sum",
) -> Delayed:
    """Sum already-aggregated partitions (of a collection, or delayed frames) by key in
    trees of small tasks.

    A plain ``groupby().sum()`` would group each partition once more before combining.
    With ``buckets > 1`` the integer key ``by[0]`` is split into that many independent
    trees, so the last, largest sums run in parallel. ``how`` names another associative
    reduction (``"min"``) to use instead of the sum.
    """
    # Unoptimised, so that partitions shared with other outputs keep their keys and are
    # computed once per run, not fused into each output separately.
    leaves = frame.to_delayed(optimize_graph=False) if isinstance(frame, dd.DataFrame) else frame
    if buckets > 1:
        split = [
            delayed(_split_by_key, nout=buckets)(
                leaf,
                column=by[0],
                buckets=buckets,
                dask_key_name=f"{name}-split-{tokenize(leaf, by[0], buckets)}",
            )
            for leaf in leaves
        ]
        trees = [[parts[b] for parts in split] for b in range(buckets)]
    else:
        trees = [leaves]
    roots = []
    for b, parts in enumerate(trees):
        level = 0
        while len(parts) > 1 or level == 0:
            parts = [
                delayed(_sum_frames)(
                    parts[i : i + split_every],
                    by=by,
                    how=how,
                    dask_key_name=f"{name}-{b}-{level}-{i}-{tokenize(parts[i : i + split_every])}",
                )
                for i in range(0, len(parts), split_every)
            ]
            level += 1
        roots.append(parts[0])
    if len(roots) == 1:
        return roots[0]
    return delayed(_concat_frames)(roots, dask_key_name=f"{name}-{tokenize(roots)}")


def submit(
    *collections: Any, keep: list[Delayed] | None = None
) -> Callable[[bool], tuple[tuple[Any, ...], list[Any]]]:
    """Start computing on the active Dask client; returns a function that waits for results.

    The client's workers compute while the caller does other work (loading the gazetteer);
    without a client the computation runs when the returned function is called. The
    function returns the collections' results and, for each of ``keep``, a future that
    leaves the result on its worker for later graphs (without a client: the result).
    """
    keep = keep or []
    try:
        from distributed import default_client
        from distributed import progress as show_progress

        client = default_client()
    except ValueError:

        def compute(progress: bool = False) -> tuple[tuple[Any, ...], list[Any]]:
            results = dask.compute(*collections, *keep)
            return results[: len(collections)], list(results[len(collections) :])

        return compute
    # One submission: what `keep` shares with the collections is computed once.
    futures = client.compute([*collections, *keep])
    gathered, kept = futures[: len(collections)], futures[len(collections) :]

    def wait(progress: bool = False) -> tuple[tuple[Any, ...], list[Any]]:
        if progress:
            show_progress(futures)
        return tuple(client.gather(gathered)), kept

    return wait
