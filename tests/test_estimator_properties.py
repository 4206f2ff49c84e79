"""GeoDBSCAN equals the contract (brute force) and scikit-learn for any tiling and partitioning,
fitted alone or several models together."""

from __future__ import annotations

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from core import GeoDBSCAN
from core.estimator import fit_together
from tests.reference import brute_force_dbscan, near_threshold, sklearn_dbscan

# Places where spherical geometry bites: both poles, the antimeridian, the equator.
SPECIAL_CENTRES = [
    (89.9, 0.0),
    (-89.8, 45.0),
    (0.0, 180.0),
    (45.0, -179.95),
    (0.0, 0.0),
    (66.0, 179.0),
]
FRACTIONS = [0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.7, 1.0, 1.5, 2.0]


def _wrap_lon(lon: np.ndarray) -> np.ndarray:
    return np.where(lon > 180, lon - 360, np.where(lon < -180, lon + 360, lon))


@st.composite
def worlds(draw: st.DrawFn) -> dict:
    eps_km = draw(st.sampled_from([5.0, 60.0, 300.0, 1500.0]))
    spread_deg = eps_km / 111.0 * draw(st.sampled_from([0.2, 0.7, 1.5, 4.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            clat, clon = draw(st.sampled_from(SPECIAL_CENTRES))
        else:
            clat = draw(st.floats(-90, 90, allow_nan=False))
            clon = draw(st.floats(-180, 180, allow_nan=False))
        k = draw(st.integers(1, 25))
        lat = np.clip(clat + rng.normal(0, spread_deg, k), -90, 90)
        lon = _wrap_lon(clon + rng.normal(0, spread_deg, k))
        parts.append(np.c_[lat, lon])
    n_scatter = draw(st.integers(0, 10))
    parts.append(np.c_[rng.uniform(-90, 90, n_scatter), rng.uniform(-180, 180, n_scatter)])
    X = np.concatenate(parts) if parts else np.empty((0, 2))
    n_dup = draw(st.integers(0, 8))
    if n_dup and len(X):
        X = np.concatenate([X, X[rng.integers(0, len(X), n_dup)]])
    X = X[rng.permutation(len(X))]
    weighting = draw(st.sampled_from(["none", "integer", "fraction"]))
    if weighting == "none":
        weight = None
    elif weighting == "integer":
        weight = rng.integers(0, 4, len(X)).astype(float)
    else:
        weight = rng.choice(FRACTIONS, len(X))
    if draw(st.booleans()):
        min_samples = draw(st.integers(1, 8))
    else:
        min_samples = draw(st.sampled_from([0.5, 0.6, 1.0, 1.7, 2.5, 3.3]))
    return {"X": X, "eps_km": eps_km, "weight": weight, "min_samples": min_samples}


tilings = st.fixed_dictionaries(
    {
        "max_tile_points": st.sampled_from([1, 3, 10, 10**6]),
        "max_precision": st.sampled_from([None, 1, 2, 4, 6, 8]),
        "max_task_points": st.sampled_from([1, 7, None]),
    }
)
layouts = st.tuples(
    st.sampled_from(["numpy", "list", "pandas", "dask-array", "dask-dataframe"]),
    st.integers(1, 40),
)
schedulers = st.sampled_from([("sync", 1), ("threads", 1), ("threads", 4)])


def _fit(world: dict, tiling: dict, layout: tuple[str, int], scheduler: tuple[str, int]):
    X, weight = world["X"], world["weight"]
    kind, chunk = layout
    if kind == "list":
        X = X.tolist()
    elif kind == "pandas":
        X = pd.DataFrame({"lat": X[:, 0], "lon": X[:, 1]})
    elif kind == "dask-array":
        X = da.from_array(X, chunks=(chunk, 2))
        if weight is not None:
            weight = da.from_array(weight, chunks=chunk)
    elif kind == "dask-dataframe":
        frame = pd.DataFrame({"lat": X[:, 0], "lon": X[:, 1]})
        frame["w"] = 1.0 if weight is None else weight
        ddf = dd.from_pandas(frame, chunksize=chunk)
        X, weight = ddf[["lat", "lon"]], (None if weight is None else ddf["w"])
    model = GeoDBSCAN(world["eps_km"], min_samples=world["min_samples"], **tiling)
    with dask.config.set(scheduler=scheduler[0], num_workers=scheduler[1]):
        return model.fit(X, sample_weight=weight)


@given(world=worlds(), tiling=tilings, layout=layouts, scheduler=schedulers)
def test_equals_brute_force_for_any_tiling_and_partitioning(world, tiling, layout, scheduler):
    model = _fit(world, tiling, layout, scheduler)
    labels, core = brute_force_dbscan(
        world["X"], world["eps_km"], world["min_samples"], world["weight"]
    )
    np.testing.assert_array_equal(model.labels_, labels)
    np.testing.assert_array_equal(model.core_sample_indices_, core)
    assert model.n_clusters_ == (labels.max() + 1 if labels.size else 0)


@given(world=worlds(), tiling=tilings, layout=layouts)
def test_equals_scikit_learn_haversine_dbscan(world, tiling, layout):
    world["min_samples"] = int(np.ceil(world["min_samples"]))
    assume(len(world["X"]) > 0)
    # scikit-learn refuses all-zero weights; our engine simply finds no core point.
    assume(world["weight"] is None or np.any(world["weight"] > 0))
    assume(
        not near_threshold(
            world["X"], world["eps_km"], world["min_samples"], world["weight"], rel=1e-9
        )
    )
    model = _fit(world, tiling, layout, ("threads", 2))
    labels, core = sklearn_dbscan(
        world["X"], world["eps_km"], world["min_samples"], world["weight"]
    )
    np.testing.assert_array_equal(model.labels_, labels)
    np.testing.assert_array_equal(model.core_sample_indices_, core)


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[dict, dict]]:
    """2-3 (weighted) worlds with their own parameters and tiling; often one of them is empty."""
    batch = draw(st.lists(st.tuples(worlds(), tilings), min_size=2, max_size=3))
    empty = draw(st.none() | st.integers(0, len(batch) - 1))
    for i, (world, _) in enumerate(batch):
        world["min_samples"] = int(np.ceil(world["min_samples"]))  # scikit-learn needs an int
        if i == empty:
            world["X"] = np.empty((0, 2))
            world["weight"] = None if world["weight"] is None else np.empty(0)
    return batch


# Each example fits every world three times (batch, alone, scikit-learn): a third of the
# profile's examples keeps this property at the cost of the single-fit ones.
@settings(max_examples=max(10, settings().max_examples // 3))
@given(batch=batches())
def test_fit_together_equals_separate_fits_and_scikit_learn(batch):
    models = [
        GeoDBSCAN(world["eps_km"], min_samples=world["min_samples"], **tiling)
        for world, tiling in batch
    ]
    separate = [
        clone(m).fit(world["X"], sample_weight=world["weight"])
        for m, (world, _) in zip(models, batch, strict=True)
    ]
    fit_together(models, [w["X"] for w, _ in batch], [w["weight"] for w, _ in batch])
    for model, alone, (world, _) in zip(models, separate, batch, strict=True):
        np.testing.assert_array_equal(model.labels_, alone.labels_)
        np.testing.assert_array_equal(model.core_sample_indices_, alone.core_sample_indices_)
        assert (model.n_clusters_, model.n_tiles_) == (alone.n_clusters_, alone.n_tiles_)
        X, weight, eps_km, min_samples = (
            world[k] for k in ("X", "weight", "eps_km", "min_samples")
        )
        if not len(X):
            assert model.labels_.shape == model.core_sample_indices_.shape == (0,)
            assert model.n_clusters_ == model.n_tiles_ == 0
            continue
        # scikit-learn refuses all-zero weights, and may round a near-tie the other way: there
        # the contract itself (brute force) is the reference.
        positive = weight is None or np.any(weight > 0)
        if positive and not near_threshold(X, eps_km, min_samples, weight, rel=1e-9):
            labels, core = sklearn_dbscan(X, eps_km, min_samples, weight)
        else:
            labels, core = brute_force_dbscan(X, eps_km, min_samples, weight)
        np.testing.assert_array_equal(model.labels_, labels)
        np.testing.assert_array_equal(model.core_sample_indices_, core)
        assert model.n_clusters_ == labels.max() + 1
