"""core.estimator: scikit-learn API and parameters, bad input, edge cases, realistic data, a
distributed cluster, deterministic graph keys and several models fitted as one graph."""

from __future__ import annotations

import pickle
import re

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from core import GeoDBSCAN
from core.demo_world import sample_city_points
from core.estimator import fit_together
from core.gazetteer import load_cities
from tests.reference import EARTH_RADIUS_KM, brute_force_dbscan, sklearn_dbscan


@pytest.fixture(scope="module")
def city_points() -> np.ndarray:
    return sample_city_points(load_cities(), 30_000, sigma_km=5.0, seed=7)


def test_scikit_learn_estimator_protocol():
    model = GeoDBSCAN(eps_km=7.5, min_samples=3.5, max_tile_points=10)
    assert model.get_params()["eps_km"] == 7.5
    assert clone(model).get_params() == model.get_params()
    X = np.array([[0.0, 0.0], [0.0, 0.01], [0.0, 0.02], [10.0, 10.0]])
    fitted = pickle.loads(pickle.dumps(model.set_params(min_samples=2).fit(X)))
    np.testing.assert_array_equal(fitted.labels_, [0, 0, 0, -1])
    np.testing.assert_array_equal(fitted.fit_predict(X), [0, 0, 0, -1])
    assert fitted.labels_.dtype == np.int64 and fitted.n_clusters_ == 1
    with pytest.raises(TypeError):
        GeoDBSCAN(13.0, 5, 1000)  # tiling parameters are keyword-only
    with pytest.raises(TypeError):
        GeoDBSCAN(13, 5)  # so is min_samples: only eps_km may be positional


@pytest.mark.parametrize(
    ("X", "weight", "message"),
    [
        ([[0.0, np.nan]], None, "NaN or infinite"),
        ([[np.inf, 0.0]], None, "NaN or infinite"),
        ([[90.5, 0.0]], None, "latitude outside"),
        ([[0.0, -180.01]], None, "longitude outside"),
        ([[0.0, 0.0, 0.0]], None, "shape"),
        ([0.0, 1.0], None, "shape"),
        ([["a", "b"]], None, "latitude, longitude"),
        ([[0.0, 0.0]], [1.0, 2.0], "one value per point"),
        ([[0.0, 0.0]], [-1.0], ">= 0 and not NaN"),
        ([[0.0, 0.0]], [np.nan], ">= 0 and not NaN"),
        ([[0.0, 0.0]], [np.inf], "finite"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(X, weight, message):
    with pytest.raises(ValueError, match=message):
        GeoDBSCAN().fit(X, sample_weight=weight)


BAD_PARAMETERS = {
    "eps_km": [0, -3, float("nan"), float("inf"), 20_015.2, 1e6, True, "13", None],
    "min_samples": [0, -1.5, float("nan"), float("inf"), True, "5", None],
    "max_tile_points": [0, -1, 1.5, 10.0, True, "10", None],
    "max_precision": [0, 13, -1, 2.0, True, "4"],
    "max_task_points": [0, -5, 2.5, True, "7"],
}


@pytest.mark.parametrize(
    ("name", "value"),
    [(name, value) for name, values in BAD_PARAMETERS.items() for value in values],
)
def test_bad_parameters_raise_value_error_naming_parameter_and_value(name, value):
    # scikit-learn's message: "The 'eps_km' parameter of GeoDBSCAN must be ... Got 0 instead."
    message = rf"'{name}' parameter of GeoDBSCAN must be .*Got {re.escape(repr(value))} instead"
    with pytest.raises(ValueError, match=message) as raised:
        GeoDBSCAN(**{name: value}).fit([[0.0, 0.0]])
    assert isinstance(raised.value, InvalidParameterError)
    with pytest.raises(ValueError, match=message):
        fit_together([GeoDBSCAN(), GeoDBSCAN(**{name: value})], [[[0.0, 0.0]]] * 2)


def test_boundary_parameters_are_valid():
    X = [[0.0, 0.0], [0.0, 0.001]]
    for params in (
        {"eps_km": 20_015.0, "min_samples": 1e-9},
        {"eps_km": np.float64(1.0), "min_samples": np.int64(2), "max_tile_points": np.int64(1)},
        {"max_precision": 1, "max_task_points": 1},
        {"max_precision": 12, "max_tile_points": 1},
    ):
        assert GeoDBSCAN(**params).fit(X).labels_.shape == (2,)


def test_parameters_of_every_model_are_checked_before_any_model_fits():
    good = GeoDBSCAN(eps_km=1.0, min_samples=1)
    with pytest.raises(ValueError, match="'min_samples' parameter"):
        fit_together([good, GeoDBSCAN(min_samples=0)], [[[0.0, 0.0]], [[0.0, 0.0]]])
    assert not hasattr(good, "labels_")


def test_bad_dataframe_columns_and_lazy_inputs():
    with pytest.raises(ValueError, match=r"missing column.*'lon'"):
        GeoDBSCAN().fit(pd.DataFrame({"lat": [1.0], "lng": [2.0]}))
    ddf = dd.from_pandas(pd.DataFrame({"lat": [1.0, 2.0], "lon": [200.0, 0.0]}), npartitions=1)
    with pytest.raises(ValueError, match="longitude outside"):
        GeoDBSCAN().fit(ddf)
    X = da.from_array(np.zeros((4, 2)), chunks=(2, 2))
    with pytest.raises(ValueError, match="same row chunks"):
        GeoDBSCAN().fit(X, sample_weight=da.ones(4, chunks=3))
    w = dd.from_pandas(pd.Series([1.0, -1.0]), npartitions=1)
    ddf = dd.from_pandas(pd.DataFrame({"lat": [1.0, 2.0], "lon": [0.0, 0.0]}), npartitions=1)
    with pytest.raises(ValueError, match=">= 0"):
        GeoDBSCAN().fit(ddf, sample_weight=w)


@pytest.mark.parametrize("X", [np.empty((0, 2)), [], pd.DataFrame({"lat": [], "lon": []})])
def test_empty_input_gives_empty_result(X):
    model = GeoDBSCAN().fit(X)
    assert model.labels_.shape == (0,) and model.core_sample_indices_.shape == (0,)
    assert model.n_clusters_ == 0


def test_empty_dask_partitions_are_fine():
    frame = pd.DataFrame({"lat": [0.0, 0.0, 0.0], "lon": [0.0, 0.001, 0.002]})
    ddf = dd.concat([dd.from_pandas(frame.iloc[:0], npartitions=1), dd.from_pandas(frame, 1)])
    np.testing.assert_array_equal(GeoDBSCAN(1, min_samples=2).fit(ddf).labels_, [0, 0, 0])


def test_one_point_and_all_noise():
    np.testing.assert_array_equal(GeoDBSCAN(10, min_samples=1).fit([[12.0, 34.0]]).labels_, [0])
    np.testing.assert_array_equal(GeoDBSCAN(10, min_samples=2).fit([[12.0, 34.0]]).labels_, [-1])
    X = np.c_[np.linspace(-80, 80, 50), np.linspace(-170, 170, 50)]
    model = GeoDBSCAN(10, min_samples=2).fit(X)
    assert (model.labels_ == -1).all() and model.core_sample_indices_.size == 0


def test_pile_of_duplicates_stops_splitting_at_max_precision():
    X = np.concatenate([np.tile([[35.0, 139.0]], (500, 1)), [[35.0, 139.0001], [-10, 20]]])
    model = GeoDBSCAN(0.5, min_samples=400, max_tile_points=10, max_precision=5).fit(X)
    assert model.n_tiles_ == 2  # the pile's tile cannot split beyond precision 5
    np.testing.assert_array_equal(model.labels_, [0] * 501 + [-1])


def test_cluster_chain_across_many_tiny_tiles_and_the_antimeridian():
    # A chain of points 5 km apart along the equator from 178°E to 178°W, through ±180°.
    lon = np.arange(178.0, 182.0, 0.045)
    X = np.c_[np.zeros(lon.size), (lon + 180) % 360 - 180]
    model = GeoDBSCAN(6, min_samples=3, max_tile_points=2, max_precision=7, max_task_points=5).fit(
        X
    )
    assert model.n_tiles_ > 20
    labels, core = brute_force_dbscan(X, 6, 3)
    np.testing.assert_array_equal(model.labels_, labels)
    np.testing.assert_array_equal(model.core_sample_indices_, core)
    assert model.n_clusters_ == 1


def test_border_point_takes_smallest_cluster_number_across_tiles():
    # Two clusters at the equator west/east of lon 0; a non-core point in between reaches a core of
    # each, one on each side of the tile border.
    west = np.c_[np.zeros(4), -0.03 - 0.001 * np.arange(4)]
    east = np.c_[np.zeros(4), 0.03 + 0.001 * np.arange(4)]
    X = np.concatenate([east, [[0.0, 0.0]], west])
    for tiles in (10**6, 1):
        model = GeoDBSCAN(3.4, min_samples=4, max_tile_points=tiles, max_precision=8).fit(X)
        np.testing.assert_array_equal(model.labels_, brute_force_dbscan(X, 3.4, 4)[0])
        assert model.labels_[4] == 0  # east cluster has the lower core row, so it is cluster 0


@pytest.mark.parametrize("weighted", [False, True])
def test_realistic_city_points_equal_scikit_learn_for_several_tilings(city_points, weighted):
    rng = np.random.default_rng(3)
    weight = rng.integers(1, 4, len(city_points)).astype(float) if weighted else None
    eps_km, min_samples = 13.0, 30
    labels, core = sklearn_dbscan(city_points, eps_km, min_samples, weight)
    assert labels.max() > 20  # the fixture does produce many clusters
    for tiling in (
        {},
        {"max_tile_points": 2000, "max_task_points": 5000},
        {"max_tile_points": 50, "max_precision": 4},
    ):
        model = GeoDBSCAN(eps_km, min_samples=min_samples, **tiling).fit(
            city_points, sample_weight=weight
        )
        np.testing.assert_array_equal(model.labels_, labels)
        np.testing.assert_array_equal(model.core_sample_indices_, core)


def test_fractional_weights_exact_sums_independent_of_order():
    # Thirds in a pile: float sums in different orders straddle 1.0; the contract's exact sum is 1.
    X = np.zeros((3, 2))
    w = np.array([1 / 3, 1 / 3, 1 / 3])
    for perm in ([0, 1, 2], [2, 1, 0]):
        np.testing.assert_array_equal(
            GeoDBSCAN(1, min_samples=1.0).fit(X[perm], sample_weight=w).labels_, 0
        )
    # 0.1 + 0.2 + 0.3 is 0.6000000000000001 in one float order and 0.6 in another.
    w = np.array([0.1, 0.2, 0.3])
    assert GeoDBSCAN(1, min_samples=0.6).fit(X, sample_weight=w).core_sample_indices_.size == 3
    assert GeoDBSCAN(1, min_samples=0.6000000000000002).fit(X, sample_weight=w).n_clusters_ == 0


def test_distributed_local_cluster_gives_identical_labels(city_points):
    distributed = pytest.importorskip("distributed")
    X = city_points[:12_000]
    expected = GeoDBSCAN(13.0, min_samples=20).fit(X)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        Xd = da.from_array(X, chunks=(3000, 2))
        model = GeoDBSCAN(13.0, min_samples=20, max_tile_points=1500, max_task_points=3000).fit(Xd)
    np.testing.assert_array_equal(model.labels_, expected.labels_)
    np.testing.assert_array_equal(model.core_sample_indices_, expected.core_sample_indices_)


def test_threaded_scheduler_with_many_workers_gives_identical_labels(city_points):
    X = city_points[:8000]
    results = []
    for workers in (1, 2, 8):
        with dask.config.set(scheduler="threads", num_workers=workers):
            model = GeoDBSCAN(13.0, min_samples=10, max_tile_points=500, max_task_points=800).fit(X)
        results.append(model.labels_)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_pairs_at_exactly_eps_follow_the_contract_formula():
    # Pairs ε apart (to within a few ulps) along parallels and meridians at many latitudes: the
    # engine's fast chord test must defer to the contract's formula on every near-tie.
    eps_km = 13.0
    eps_deg = np.degrees(eps_km / EARTH_RADIUS_KM)
    rows = []
    for lat in np.linspace(-80, 80, 33):
        for k, nudge in enumerate((-3e-13, -1e-13, 0.0, 1e-13, 3e-13)):
            d = eps_deg * (1 + nudge)
            rows += [[lat, 7.0 * k], [lat + d, 7.0 * k]]  # along a meridian
            d_lon = np.degrees(
                2 * np.arcsin(np.sin(eps_km / EARTH_RADIUS_KM / 2) / np.cos(np.radians(lat)))
            )
            rows += [[lat, -90.0 + 7 * k], [lat, -90.0 + 7 * k + d_lon * (1 + nudge)]]  # parallel
    X = np.array(rows)
    labels, core = brute_force_dbscan(X, eps_km, 2)
    assert 0 < core.size < len(X)  # the nudges do straddle the threshold
    for tiling in ({}, {"max_tile_points": 3, "max_precision": 6}):
        model = GeoDBSCAN(eps_km, min_samples=2, **tiling).fit(X)
        np.testing.assert_array_equal(model.labels_, labels)
        np.testing.assert_array_equal(model.core_sample_indices_, core)


# -- graph keys and several models in one graph ---------------------------------------------------
@pytest.fixture
def compute_calls(monkeypatch) -> list[set[str]]:
    """Record the graph keys of every ``dask.compute`` call, one set per call."""
    calls: list[set[str]] = []
    real = dask.compute

    def spy(*args, **kwargs):
        calls.append({str(k) for a in args for k in a.__dask_graph__()})
        return real(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", spy)
    return calls


def _keys_of(calls: list[set[str]], stage: str) -> set[str]:
    return {k for keys in calls for k in keys if k.startswith(f"geodbscan-{stage}-")}


def _tokens(keys: set[str]) -> set[str]:
    """The fit tokens in keys such as ``geodbscan-<stage>-<token>-<block or group>``."""
    return {m[1] for k in keys if (m := re.search(r"geodbscan-[a-z-]+-([0-9a-f]{32})", k))}


def test_same_data_and_parameters_give_the_same_graph_keys(city_points, compute_calls):
    X = city_points[:3000]
    w = np.arange(len(X)) % 3 + 1.0
    params = {"min_samples": 10, "max_tile_points": 200, "max_task_points": 600}
    GeoDBSCAN(13.0, **params).fit(X, sample_weight=w)
    first = set().union(*compute_calls)
    compute_calls.clear()
    GeoDBSCAN(13.0, **params).fit(X.copy(), sample_weight=w.copy())  # equal content, new arrays
    assert set().union(*compute_calls) == first
    assert len(_keys_of([first], "kernel")) > 1 and len(_tokens(first)) == 1
    compute_calls.clear()
    GeoDBSCAN(13.5, **params).fit(X, sample_weight=w)
    assert _keys_of(compute_calls, "kernel").isdisjoint(_keys_of([first], "kernel"))
    compute_calls.clear()
    GeoDBSCAN(13.0, **params).fit(X, sample_weight=w[::-1].copy())  # other weights, other keys
    assert _keys_of(compute_calls, "kernel").isdisjoint(_keys_of([first], "kernel"))


def test_same_dask_collection_gives_the_same_graph_keys(city_points, compute_calls):
    X = city_points[:2000]
    fits = []
    for _ in range(2):
        Xd = da.from_array(X, chunks=(500, 2))
        compute_calls.clear()
        model = GeoDBSCAN(13.0, min_samples=5, max_tile_points=300).fit(Xd)
        fits.append((set().union(*compute_calls), model.labels_))
    assert fits[0][0] == fits[1][0]
    np.testing.assert_array_equal(fits[0][1], fits[1][1])


def _batch_inputs(city_points: np.ndarray) -> tuple[list, list, list]:
    rng = np.random.default_rng(5)
    X1, X2, X3 = city_points[:4000], city_points[4000:9000], city_points[9000:10500]
    models = [
        GeoDBSCAN(13.0, min_samples=12, max_tile_points=400, max_task_points=900),
        GeoDBSCAN(8.0, min_samples=7, max_tile_points=150),
        GeoDBSCAN(20.0, min_samples=4),
        GeoDBSCAN(5.0, min_samples=2, max_tile_points=1),
    ]
    Xs = [X1, X2, X3, np.empty((0, 2))]
    weights = [
        rng.integers(1, 4, len(X1)).astype(float),
        rng.choice([0.5, 1.5], len(X2)),
        None,
        None,
    ]
    return models, Xs, weights


def test_fit_together_equals_separate_fits_and_scikit_learn(city_points):
    models, Xs, weights = _batch_inputs(city_points)
    separate = [
        clone(m).fit(X, sample_weight=w) for m, X, w in zip(models, Xs, weights, strict=True)
    ]
    fitted = fit_together(models, Xs, weights)
    assert len(fitted) == len(models) and all(f is m for f, m in zip(fitted, models, strict=True))
    for model, alone, X, w in zip(models, separate, Xs, weights, strict=True):
        np.testing.assert_array_equal(model.labels_, alone.labels_)
        np.testing.assert_array_equal(model.core_sample_indices_, alone.core_sample_indices_)
        assert model.labels_.dtype == alone.labels_.dtype == np.int64
        assert (model.n_clusters_, model.n_tiles_) == (alone.n_clusters_, alone.n_tiles_)
        if len(X):
            labels, core = sklearn_dbscan(X, model.eps_km, model.min_samples, w)
            np.testing.assert_array_equal(model.labels_, labels)
            np.testing.assert_array_equal(model.core_sample_indices_, core)
    assert models[0].n_clusters_ > 5 and models[0].n_tiles_ > 3  # the batch is not trivial
    assert models[3].labels_.shape == (0,) and models[3].n_clusters_ == models[3].n_tiles_ == 0


def test_fit_together_runs_all_kernels_in_one_compute(city_points, compute_calls):
    models, Xs, weights = _batch_inputs(city_points)
    kernels, plan_calls = [], []
    for m, X, w in zip(models, Xs, weights, strict=True):
        compute_calls.clear()
        clone(m).fit(X, sample_weight=w)
        kernels.append(_keys_of(compute_calls, "kernel"))
        plan_calls.append(sum(bool(_keys_of([c], "plan-merge")) for c in compute_calls))
    assert all(kernels[:3]) and not kernels[3]  # the empty input has no tiles, hence no kernel
    compute_calls.clear()
    fit_together(models, Xs, weights)
    with_kernels = [c for c in compute_calls if _keys_of([c], "kernel")]
    assert len(with_kernels) == 1
    assert _keys_of(with_kernels, "kernel") == set().union(*kernels)
    assert len(_tokens(with_kernels[0])) == 3
    # One compute per planning level, each with every model still planning: as many as the
    # deepest model needs alone, plus the final one.
    assert max(plan_calls) > 1
    assert len(compute_calls) == max(plan_calls) + 1


def test_fit_together_with_dask_and_pandas_inputs_and_only_empty_inputs(city_points):
    X = city_points[:3000]
    w = np.arange(len(X)) % 4 * 0.5
    frame = pd.DataFrame({"lat": X[:, 0], "lon": X[:, 1], "w": w})
    ddf = dd.from_pandas(frame, npartitions=3)
    Xs = [da.from_array(X, chunks=(700, 2)), frame, ddf[["lat", "lon"]], X]
    weights = [da.from_array(w, chunks=700), w, ddf["w"], None]
    models = fit_together([GeoDBSCAN(10.0, min_samples=6) for _ in Xs], Xs, weights)
    expected = GeoDBSCAN(10.0, min_samples=6).fit(X, sample_weight=w)
    for model in models[:3]:
        np.testing.assert_array_equal(model.labels_, expected.labels_)
        np.testing.assert_array_equal(model.core_sample_indices_, expected.core_sample_indices_)
    np.testing.assert_array_equal(models[3].labels_, GeoDBSCAN(10.0, min_samples=6).fit(X).labels_)
    empties = fit_together(
        [GeoDBSCAN(), GeoDBSCAN(1.0)], [[], pd.DataFrame({"lat": [], "lon": []})]
    )
    for model in empties:
        assert model.labels_.shape == model.core_sample_indices_.shape == (0,)
        assert model.n_clusters_ == model.n_tiles_ == 0
    assert fit_together([], []) == []


def test_fit_together_of_identical_fits_shares_their_keys(city_points, compute_calls):
    X = city_points[:2000]
    expected = GeoDBSCAN(10.0, min_samples=5, max_tile_points=300).fit(X)
    compute_calls.clear()
    models = [GeoDBSCAN(10.0, min_samples=5, max_tile_points=300) for _ in range(2)]
    fit_together(models, [X, X.copy()])
    assert len(_tokens(set().union(*compute_calls))) == 1  # one set of tasks serves both
    for model in models:
        np.testing.assert_array_equal(model.labels_, expected.labels_)
        np.testing.assert_array_equal(model.core_sample_indices_, expected.core_sample_indices_)


def test_fit_together_checks_its_arguments():
    with pytest.raises(ValueError, match="one X and one sample_weight per model"):
        fit_together([GeoDBSCAN(), GeoDBSCAN()], [[[0.0, 0.0]]])
    with pytest.raises(ValueError, match="one X and one sample_weight per model"):
        fit_together([GeoDBSCAN()], [[[0.0, 0.0]]], [None, None])
    with pytest.raises(ValueError, match="latitude outside"):
        fit_together([GeoDBSCAN(), GeoDBSCAN()], [[[0.0, 0.0]], [[91.0, 0.0]]])
