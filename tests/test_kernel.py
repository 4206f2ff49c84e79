"""core.kernel.cluster_tile on plain arrays: one tile's own points plus halo, checked against
answers worked out by hand or by the brute-force contract in tests/reference.py."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel import TileResult, cluster_tile
from tests.reference import (
    EARTH_RADIUS_KM,
    brute_force_dbscan,
    near_threshold,
    reduced_haversine_row,
)

# One degree of arc on the model sphere, in km (about 111.195).
KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180.0


def _run(points, weight=None, own=None, *, eps_km=50.0, eps_rad=None, min_samples=1.0):
    X = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = X.shape[0]
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    is_own = np.ones(n, bool) if own is None else np.asarray(own, dtype=bool)
    return cluster_tile(
        np.ascontiguousarray(X[:, 0]),
        np.ascontiguousarray(X[:, 1]),
        w,
        is_own,
        eps_rad=eps_km / EARTH_RADIUS_KM if eps_rad is None else eps_rad,
        min_samples=min_samples,
    )


def _pairs(res: TileResult) -> set[tuple[int, int]]:
    return set(zip(res.candidate_row.tolist(), res.candidate_component.tolist(), strict=True))


def _check_shape(res: TileResult, n: int) -> None:
    assert res.is_core.dtype == bool and res.is_core.shape == (n,)
    assert res.component.dtype == np.int64 and res.component.shape == (n,)
    assert res.candidate_row.dtype == np.int64 and res.candidate_component.dtype == np.int64
    assert res.candidate_row.size == res.candidate_component.size
    # Components are numbered 0..n-1, only core rows have one, each pair is reported once.
    np.testing.assert_array_equal(res.component[~res.is_core], -1)
    assert set(res.component[res.is_core].tolist()) == set(range(res.n_components))
    assert len(_pairs(res)) == res.candidate_row.size


def _match_partition(component: np.ndarray, labels: np.ndarray, core: np.ndarray) -> dict:
    """Assert that kernel components and reference labels split the core rows alike; return
    the map from reference label to kernel component."""
    pairs = set(zip(labels[core].tolist(), component[core].tolist(), strict=True))
    mapping = dict(pairs)
    assert len(mapping) == len(pairs), "a reference cluster is split into several components"
    assert len(set(mapping.values())) == len(pairs), "a component merges reference clusters"
    return mapping


def _tile_reference(X, weight, own, eps_km, min_samples):
    """Brute force of what one tile must report: own core rows (their ε-ball counts halo rows
    too), local clusters of own core rows linked through own core rows only, and the pairs
    (non-core row, local cluster) for every non-core row with an own core row within ε."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    n = X.shape[0]
    lat, lon = np.radians(X[:, 0]), np.radians(X[:, 1])
    thr = math.sin(0.5 * (eps_km / EARTH_RADIUS_KM)) ** 2
    nb = [np.flatnonzero(reduced_haversine_row(lat, lon, i) <= thr) for i in range(n)]
    core = np.array(
        [bool(own[i]) and math.fsum(weight[nb[i]]) >= min_samples for i in range(n)], dtype=bool
    )
    label = np.full(n, -1, np.int64)
    k = 0
    for i in np.flatnonzero(core):
        if label[i] >= 0:
            continue
        label[i] = k
        queue = deque([i])
        while queue:
            p = queue.popleft()
            for q in nb[p]:
                if core[q] and label[q] < 0:
                    label[q] = k
                    queue.append(q)
        k += 1
    pairs = {(i, int(label[q])) for i in range(n) if not core[i] for q in nb[i] if core[q]}
    return core, label, pairs


def _check_against_reference(X, weight, own, eps_km, min_samples) -> TileResult:
    res = _run(X, weight, own, eps_km=eps_km, min_samples=min_samples)
    _check_shape(res, len(X))
    core, label, pairs = _tile_reference(X, weight, own, eps_km, min_samples)
    np.testing.assert_array_equal(res.is_core, core)
    mapping = _match_partition(res.component, label, core)
    assert res.n_components == len(mapping)
    assert _pairs(res) == {(i, mapping[c]) for i, c in pairs}
    return res


# -- a tile of own points only equals the contract ------------------------------------------------
@pytest.mark.parametrize(
    ("seed", "eps_km", "min_samples"), [(0, 50.0, 4), (1, 20.0, 3), (2, 120.0, 6.5)]
)
def test_own_only_tile_equals_brute_force(seed, eps_km, min_samples):
    rng = np.random.default_rng(seed)
    centres = [(48.85, 2.35), (52.52, 13.40), (40.42, -3.70)]
    spread = eps_km / KM_PER_DEG
    parts = [np.c_[rng.normal(a, spread, 40), rng.normal(b, spread, 40)] for a, b in centres]
    parts.append(np.c_[rng.uniform(35, 60, 30), rng.uniform(-10, 25, 30)])
    X = np.concatenate(parts)[rng.permutation(150)]
    weight = rng.choice([0.0, 0.5, 1.0, 2.0], X.shape[0]) if seed == 2 else None
    res = _run(X, weight, eps_km=eps_km, min_samples=min_samples)
    _check_shape(res, X.shape[0])
    labels, core_idx = brute_force_dbscan(X, eps_km, min_samples, weight)
    core = np.zeros(X.shape[0], bool)
    core[core_idx] = True
    np.testing.assert_array_equal(res.is_core, core)
    mapping = _match_partition(res.component, labels, core)
    assert res.n_components == len(mapping) == labels.max() + 1
    # Border points of the reference (labelled, not core) all ask, noise points never do.
    border = np.flatnonzero((labels >= 0) & ~core)
    noise = np.flatnonzero(labels < 0)
    assert border.size and noise.size  # the data set exercises both
    assert set(border.tolist()) == set(res.candidate_row.tolist())
    # The border rule applied to the kernel's pairs gives the reference label.
    inverse = {c: lab for lab, c in mapping.items()}
    for i in border:
        near = [inverse[c] for r, c in _pairs(res) if r == i]
        assert min(near) == labels[i]


# -- weights --------------------------------------------------------------------------------------
def test_fractional_weights_are_summed_exactly():
    # Ten points of weight 0.1 within a few hundred metres: a float loop sums them to
    # 0.9999999999999999, the correctly rounded sum is 1.0 = min_samples, so all are core.
    assert sum([0.1] * 10) < 1.0 and math.fsum([0.1] * 10) == 1.0
    X = np.c_[np.full(10, 30.0), 30.0 + 0.001 * np.arange(10)]
    res = _run(X, np.full(10, 0.1), min_samples=1.0)
    _check_shape(res, 10)
    assert res.is_core.all() and res.n_components == 1
    assert res.candidate_row.size == 0
    # Nine of them weigh 0.9 (0.8999999999999999 in a loop): nobody is core.
    res = _run(X[:9], np.full(9, 0.1), min_samples=0.9000000000000001)
    assert not res.is_core.any() and res.n_components == 0


def test_zero_weights_and_a_point_heavy_enough_to_be_core_alone():
    X = [
        (10.0, 10.0),  # 0: weight 3 = min_samples: core on its own
        (10.0, 10.1),  # 1: weight 0, 11 km from 0: its ball weighs 3, so it is core too
        *[(-30.0, 60.0)] * 5,  # 2-6: a pile of zero weights is no cluster
        (-60.0, 120.0),  # 7: weight 1, alone: noise
        (40.0, -100.0),  # 8: weight 2.5 = min_samples: core alone
    ]
    weight = [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.5]
    res = _run(X, weight, min_samples=2.5)
    _check_shape(res, 9)
    np.testing.assert_array_equal(res.is_core, [1, 1, 0, 0, 0, 0, 0, 0, 1])
    assert res.n_components == 2
    assert res.component[0] == res.component[1] != res.component[8]
    assert res.candidate_row.size == 0


def test_weight_just_below_min_samples_is_not_core():
    X = [(0.0, 0.0), (0.0, 0.1)]
    res = _run(X, [1.25, 1.25], min_samples=2.5)
    np.testing.assert_array_equal(res.is_core, [True, True])
    # One ulp less: the exact sum lies half an ulp of 2.5 below it and rounds (to even) to 2.5;
    # two ulps less: it is the float below 2.5.
    one_less = np.nextafter(1.25, 0.0)
    two_less = np.nextafter(one_less, 0.0)
    assert math.fsum([1.25, one_less]) == 2.5 > math.fsum([1.25, two_less])
    res = _run(X, [1.25, one_less], min_samples=2.5)
    np.testing.assert_array_equal(res.is_core, [True, True])
    res = _run(X, [1.25, two_less], min_samples=2.5)
    np.testing.assert_array_equal(res.is_core, [False, False])
    assert res.n_components == 0 and res.candidate_row.size == 0


# -- the threshold itself -------------------------------------------------------------------------
@pytest.mark.parametrize("along", ["meridian", "equator"])
def test_neighbour_at_exactly_eps_is_a_neighbour(along):
    # On a meridian (or the equator, where cos φ = 1 exactly) h is sin²(Δ/2) with Δ the radian
    # difference, so ε = radians(d) puts a point d degrees away at h == sin²(ε/2) exactly.
    d = 0.4
    eps_rad = float(np.radians(d))
    thr = math.sin(0.5 * eps_rad) ** 2

    def pair(x: float) -> np.ndarray:
        return np.array([[0.0, 0.0], [x, 0.0] if along == "meridian" else [0.0, x]])

    def h(X: np.ndarray) -> float:
        return float(reduced_haversine_row(np.radians(X[:, 0]), np.radians(X[:, 1]), 0)[1])

    assert h(pair(d)) == thr
    res = _run(pair(d), eps_rad=eps_rad, min_samples=2)
    np.testing.assert_array_equal(res.is_core, [True, True])
    assert res.n_components == 1 and res.component[0] == res.component[1]
    # The next representable position with h > thr is not a neighbour.
    x = np.nextafter(d, 1.0)
    while h(pair(x)) <= thr:
        x = np.nextafter(x, 1.0)
    res = _run(pair(x), eps_rad=eps_rad, min_samples=2)
    np.testing.assert_array_equal(res.is_core, [False, False])
    assert res.n_components == 0


def test_last_float_inside_eps_at_a_generic_latitude():
    # Bisect over floats for the longitude at which the contract's h crosses the threshold on a
    # slanted pair at 37°: the kernel's cheap chord test cannot decide it, the formula must.
    eps_km = 40.0
    thr = math.sin(0.5 * (eps_km / EARTH_RADIUS_KM)) ** 2

    def pair(x: float) -> np.ndarray:
        return np.array([[37.3, 12.0], [37.5, 12.0 + x]])

    def h(x: float) -> float:
        X = pair(x)
        return float(reduced_haversine_row(np.radians(X[:, 0]), np.radians(X[:, 1]), 0)[1])

    lo, hi = 0.0, 1.0
    assert h(lo) <= thr < h(hi)
    while np.nextafter(lo, hi) < hi:
        mid = 0.5 * (lo + hi)
        mid = mid if lo < mid < hi else np.nextafter(lo, hi)
        lo, hi = (mid, hi) if h(mid) <= thr else (lo, mid)
    assert near_threshold(pair(lo), eps_km, 2, None, rel=1e-12)
    for x, inside in [(lo, True), (hi, False)]:
        res = _run(pair(x), eps_km=eps_km, min_samples=2)
        np.testing.assert_array_equal(res.is_core, [inside, inside])
        np.testing.assert_array_equal(brute_force_dbscan(pair(x), eps_km, 2)[0] >= 0, inside)


# -- halo points ----------------------------------------------------------------------------------
def test_halo_points_count_toward_density_but_get_no_labels():
    X = [
        (45.0, 7.0),  # 0 own
        (45.05, 7.0),  # 1 halo, 5.6 km from 0
        (45.0, 7.05),  # 2 halo, 3.9 km from 0
        *[(46.0, 9.0)] * 5,  # 3-7 halo pile far from 0: dense, but never core here
    ]
    own = [True] + [False] * 7
    res = _run(X, own=own, min_samples=3)
    _check_shape(res, 8)
    np.testing.assert_array_equal(res.is_core, [True] + [False] * 7)
    np.testing.assert_array_equal(res.component, [0] + [-1] * 7)
    assert res.n_components == 1
    # Halo rows next to an own core are reported with its component; the pile is not.
    assert _pairs(res) == {(1, 0), (2, 0)}
    # Without its halo the own point is alone, hence noise.
    res = _run(X[:1], min_samples=3)
    assert not res.is_core.any() and res.n_components == 0


def test_halo_weight_counts_for_the_core_test():
    X = [(0.0, 0.0), (0.0, 0.2)]
    res = _run(X, [1.0, 2.0], [True, False], min_samples=3)
    np.testing.assert_array_equal(res.is_core, [True, False])
    assert _pairs(res) == {(1, 0)}
    res = _run(X, [1.0, 1.5], [True, False], min_samples=3)
    assert not res.is_core.any() and res.candidate_row.size == 0


# Two clusters on the equator with a point B between them (eps 50 km, min_samples 6): five
# duplicates at 0° and an edge point at 0.3° (33 km); B at 0.6°; mirrored at 0.9° and 1.2°.
# B's ball holds both edge points and itself only (3 < 6): a border point of both clusters.
C1 = [(0.0, 0.0)] * 5 + [(0.0, 0.3)]
B = [(0.0, 0.6)]
C2 = [(0.0, 0.9)] + [(0.0, 1.2)] * 5


def test_non_core_own_point_reports_every_own_component_within_eps():
    X = C1 + B + C2  # rows 0-5, 6, 7-12
    res = _run(X, min_samples=6)
    _check_shape(res, 13)
    np.testing.assert_array_equal(res.is_core, [True] * 6 + [False] + [True] * 6)
    c1, c2 = res.component[5], res.component[7]
    assert res.n_components == 2 and c1 != c2
    np.testing.assert_array_equal(res.component[:6], c1)
    np.testing.assert_array_equal(res.component[7:], c2)
    assert _pairs(res) == {(6, c1), (6, c2)}


def test_border_point_next_to_halo_cores_is_reported_by_their_owner():
    # Tile 1 owns C1 and B, C2 is its halo: C2 is never core here, so B is reported with C1
    # only. Tile 2 owns C2 and has B in its halo: it reports B with C2. The stitcher gets both.
    X = C1 + B + C2
    own = [True] * 7 + [False] * 6
    res = _run(X, own=own, min_samples=6)
    _check_shape(res, 13)
    np.testing.assert_array_equal(res.is_core, [True] * 6 + [False] * 7)
    assert res.n_components == 1 and _pairs(res) == {(6, 0)}
    res = _run(B + C2, own=[False] + [True] * 6, min_samples=6)
    np.testing.assert_array_equal(res.is_core, [False] + [True] * 6)
    assert res.n_components == 1 and _pairs(res) == {(0, 0)}
    # An own point whose only core neighbours are halo points gets no pair from its own tile.
    res = _run(B + C2, own=[True] + [False] * 6, min_samples=6)
    _check_shape(res, 7)
    assert not res.is_core.any() and res.n_components == 0 and res.candidate_row.size == 0


# -- degenerate tiles -----------------------------------------------------------------------------
def test_empty_tile():
    res = _run(np.empty((0, 2)), min_samples=1)
    _check_shape(res, 0)
    assert res.n_components == 0 and res.candidate_row.size == 0


def test_tile_of_halo_points_only():
    X = [(20.0, 20.0)] * 6 + [(20.0, 20.1), (20.1, 20.0)]
    res = _run(X, own=np.zeros(8, bool), min_samples=2)
    _check_shape(res, 8)
    assert not res.is_core.any() and res.n_components == 0 and res.candidate_row.size == 0


# -- spherical geometry ---------------------------------------------------------------------------
def test_cluster_linked_only_across_the_antimeridian():
    # At 10° N, 0.1° of longitude is 10.95 km; eps 15 km links consecutive points only.
    lons = [179.85, 179.95, -179.95, -179.85, 0.0]
    X = [(10.0, lon) for lon in lons]
    res = _run(X, eps_km=15.0, min_samples=3)
    _check_shape(res, 5)
    # 179.95 and -179.95 have three points each in their ball, the ends two.
    np.testing.assert_array_equal(res.is_core, [False, True, True, False, False])
    assert res.n_components == 1 and res.component[1] == res.component[2] == 0
    assert _pairs(res) == {(0, 0), (3, 0)}
    _check_against_reference(X, np.ones(5), np.ones(5, bool), 15.0, 3)


def test_plus_and_minus_180_are_the_same_place():
    X = [(-33.0, 180.0), (-33.0, -180.0), (-33.0, 179.99), (-33.0, -179.99)]
    # 0.01° of longitude at 33° S is 0.93 km: beyond eps 0.5 km, within 2 km.
    res = _run(X, eps_km=0.5, min_samples=2)
    np.testing.assert_array_equal(res.is_core, [True, True, False, False])
    assert res.n_components == 1
    res = _run(X, eps_km=2.0, min_samples=4)
    assert res.is_core.all() and res.n_components == 1


def test_points_around_the_north_pole_and_on_it():
    # Four points at 89.9° N, 90° of longitude apart: neighbours 15.7 km apart, opposite ones
    # 22.2 km (through the pole), the pole itself 11.1 km from each.
    ring = [(89.9, lon) for lon in (0.0, 90.0, 180.0, -90.0)]
    res = _run(ring, eps_km=20.0, min_samples=3)
    assert res.is_core.all() and res.n_components == 1
    res = _run(ring, eps_km=20.0, min_samples=4)
    assert not res.is_core.any()
    X = [*ring, (90.0, 37.0)]
    res = _run(X, eps_km=20.0, min_samples=4)
    assert res.is_core.all() and res.n_components == 1
    # The pole as a halo point: it still tips the ring points over min_samples.
    res = _run(X, own=[True] * 4 + [False], eps_km=20.0, min_samples=4)
    np.testing.assert_array_equal(res.is_core, [True] * 4 + [False])
    assert _pairs(res) == {(4, 0)}
    _check_against_reference(X, np.ones(5), np.ones(5, bool), 20.0, 4)


def test_ring_near_the_south_pole():
    # Three points at 89.95° S, 120° of longitude apart: 9.6 km from each other.
    X = [(-89.95, lon) for lon in (10.0, 130.0, -110.0)] + [(-89.0, 10.0)]
    res = _run(X, eps_km=12.0, min_samples=3)
    np.testing.assert_array_equal(res.is_core, [True, True, True, False])
    assert res.n_components == 1 and res.candidate_row.size == 0
    res = _run(X, eps_km=9.0, min_samples=2)
    assert not res.is_core.any()


# -- duplicates -----------------------------------------------------------------------------------
def test_duplicated_points():
    X = [(51.5, -0.1)] * 4
    res = _run(X, min_samples=4)
    assert res.is_core.all() and res.n_components == 1
    res = _run(X, min_samples=5)
    assert not res.is_core.any() and res.candidate_row.size == 0
    # A halo copy counts, but is only reported.
    res = _run(X, own=[True, True, True, False], min_samples=4)
    np.testing.assert_array_equal(res.is_core, [True, True, True, False])
    assert _pairs(res) == {(3, 0)}


@pytest.mark.parametrize("n", [200, 301])
def test_large_pile_of_duplicates_with_fractional_weights(n):
    # More duplicates than a k-d tree leaf holds (identical points never split), with weights
    # whose float sum differs from the correctly rounded one: the ball weighs exactly fsum.
    X = [(-12.0, 45.0)] * n
    w = np.full(n, 0.1)
    total = math.fsum(w)
    assert sum(w.tolist()) != total
    res = _run(X, w, min_samples=total)
    assert res.is_core.all() and res.n_components == 1
    res = _run(X, w, min_samples=np.nextafter(total, np.inf))
    assert not res.is_core.any() and res.n_components == 0


# -- property: random weighted tiles against the brute-force tile reference ------------------------
SPECIAL_CENTRES = [(89.9, 0.0), (-89.8, 45.0), (0.0, 180.0), (45.0, -179.95), (0.0, 0.0)]
FRACTIONS = [0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.7, 1.0, 1.5, 2.0]


@st.composite
def tiles(draw: st.DrawFn) -> dict:
    eps_km = draw(st.sampled_from([5.0, 60.0, 300.0]))
    spread = eps_km / KM_PER_DEG * draw(st.sampled_from([0.3, 1.0, 3.0]))
    if draw(st.booleans()):
        clat, clon = draw(st.sampled_from(SPECIAL_CENTRES))
    else:
        clat = draw(st.floats(-90, 90, allow_nan=False))
        clon = draw(st.floats(-180, 180, allow_nan=False))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(0, 40))
    lat = np.clip(clat + rng.normal(0, spread, n), -90, 90)
    lon = clon + rng.normal(0, spread, n)
    lon = np.where(lon > 180, lon - 360, np.where(lon < -180, lon + 360, lon))
    X = np.c_[lat, lon]
    n_dup = draw(st.integers(0, 6))
    if n_dup and n:
        X = np.concatenate([X, X[rng.integers(0, n, n_dup)]])
    n = X.shape[0]
    weighting = draw(st.sampled_from(["unit", "integer", "fraction"]))
    if weighting == "unit":
        weight = np.ones(n)
    elif weighting == "integer":
        weight = rng.integers(0, 4, n).astype(float)
    else:
        weight = rng.choice(FRACTIONS, n)
    own = rng.random(n) < draw(st.sampled_from([1.0, 0.7, 0.3]))
    min_samples = draw(st.sampled_from([1, 2, 3, 5, 8, 0.5, 1.0, 1.7, 2.5, 3.3]))
    return {"X": X, "weight": weight, "own": own, "eps_km": eps_km, "min_samples": min_samples}


@given(tile=tiles())
def test_random_tiles_equal_the_brute_force_tile_reference(tile):
    _check_against_reference(
        tile["X"], tile["weight"], tile["own"], tile["eps_km"], tile["min_samples"]
    )
    if tile["own"].all():
        # With no halo the tile is the whole data set: core rows are the contract's.
        _, core_idx = brute_force_dbscan(
            tile["X"], tile["eps_km"], tile["min_samples"], tile["weight"]
        )
        res = _run(
            tile["X"], tile["weight"], eps_km=tile["eps_km"], min_samples=tile["min_samples"]
        )
        np.testing.assert_array_equal(np.flatnonzero(res.is_core), core_idx)
