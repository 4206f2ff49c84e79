"""The ranking flow: checked records in, ranked clusters out. Reads as its list of stages."""

from __future__ import annotations

import importlib
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.base import tokenize
from dask.delayed import Delayed, delayed

from core.measures import (
    SHARE_COLUMNS,
    add_intensity,
    cluster_members,
    concentration,
    economies_of,
    economy_aggregates,
    measure_clusters,
    noise_locations,
    rank_clusters,
    score_contributions,
    source_points,
    window_bounds,
    world_totals,
)
from core.naming import name_clusters
from core.overlay import match_previous
from core.population import footprint_population
from core.records import (
    SOURCES,
    STAT_KEYS,
    UNPLACED_METHODS,
    WEIGHT_SCALE,
    NoUsableRecords,
    aggregate_locations,
    document_stats,
    fractional_weights,
    geocode_counts,
    keyed_rows,
    leading_reasons,
    location_years,
    place_strings,
    rejected_rows,
    window_locations,
)
from core.regions import world_region
from flows.config import Config

log = logging.getLogger("icrank")

RANKING_COLUMNS = [
    "rank",
    "cluster_id",
    "name",
    "economies",
    "world_region",
    "patents",
    "publications",
    "vc_deals",
    "share_patents",
    "share_publications",
    "share_vc",
    "score",
    "population",
    "patents_per_million",
    "publications_per_million",
    "vc_per_million",
    "intensity",
    "intensity_rank",
    "lat",
    "lon",
    "previous_rank",
    "rank_change",
    "new_entrant",
]


@dataclass
class StageLog:
    """Logs one line per stage with its wall time, and keeps the timings for the summary."""

    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 3)
        log.info("stage %-22s %7.2f s", name, elapsed)


@dataclass(frozen=True)
class PreviousRun:
    """What year-over-year matching needs of an earlier run."""

    run_id: str
    footprint_deg: float
    rankings: pd.DataFrame
    footprints: pd.DataFrame


@dataclass
class Ranking:
    """Every table a run publishes."""

    rankings: pd.DataFrame
    footprints: pd.DataFrame
    locations: pd.DataFrame
    noise: pd.DataFrame
    economies: pd.DataFrame
    rejects: pd.DataFrame
    summary: dict[str, Any]


def aggregate_records(
    checked: dd.DataFrame, *, rounding_deg: float
) -> tuple[Delayed, Delayed, Delayed, Delayed, Delayed]:
    """Stages *fractional weights* and *rounding*: lazy rejects, locations, statistics,
    geocoding counts and the place strings the geocoder could not settle.

    Rows are shuffled by document so that each partition holds whole documents; weights
    are then split per document and summed per (source, year, location, country). Only
    numeric columns travel: documents as 128-bit hashes, locations as packed integers.
    """
    rejects = _tree_concat(
        checked.map_partitions(rejected_rows, meta=rejected_rows(checked._meta)),
        name="icrank-rejects",
    )
    keyed = checked.map_partitions(
        keyed_rows, rounding_deg=rounding_deg, meta=keyed_rows(checked._meta, rounding_deg=1.0)
    )
    by_document = keyed.shuffle(on="doc_a")
    weighted = by_document.map_partitions(fractional_weights, meta=fractional_weights(keyed._meta))
    locations = _tree_sum(
        weighted.map_partitions(aggregate_locations, meta=aggregate_locations(weighted._meta)),
        by=["key"],
        name="icrank-sum-locations",
        buckets=4,
    )
    stats_meta = document_stats(weighted._meta, rounding_deg=1.0)
    stats = _tree_sum(
        weighted.map_partitions(document_stats, rounding_deg=rounding_deg, meta=stats_meta),
        by=STAT_KEYS,
        name="icrank-sum-stats",
    )
    geocoded = _tree_sum(
        checked.map_partitions(geocode_counts, meta=geocode_counts(checked._meta)),
        by=["source", "method"],
        name="icrank-sum-geocoding",
    )
    strings = _tree_sum(
        checked.map_partitions(place_strings, meta=place_strings(checked._meta)),
        by=["method", "text"],
        name="icrank-sum-place-strings",
    )
    return rejects, locations, stats, geocoded, strings


def _sum_frames(parts: list[pd.DataFrame], *, by: list[str]) -> pd.DataFrame:
    frame = pd.concat(parts, ignore_index=True)
    return frame.groupby(by, sort=False, observed=True).sum().reset_index()


def _concat_frames(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


def _tree_concat(frame: dd.DataFrame, *, name: str) -> Delayed:
    parts = frame.to_delayed(optimize_graph=False)
    return delayed(_concat_frames)(parts, dask_key_name=f"{name}-{tokenize(parts)}")


def _split_by_key(frame: pd.DataFrame, *, column: str, buckets: int) -> list[pd.DataFrame]:
    bucket = frame[column].to_numpy() % buckets
    return [frame[bucket == b] for b in range(buckets)]


def _tree_sum(
    frame: dd.DataFrame, *, by: list[str], name: str, split_every: int = 8, buckets: int = 1
) -> Delayed:
    """Sum already-aggregated partitions by key in trees of small tasks.

    A plain ``groupby().sum()`` would group each partition once more before combining.
    With ``buckets > 1`` the integer key ``by[0]`` is split into that many independent
    trees, so the last, largest sums run in parallel.
    """
    # Unoptimised, so that partitions shared with other outputs keep their keys and are
    # computed once per run, not fused into each output separately.
    leaves = frame.to_delayed(optimize_graph=False)
    if buckets > 1:
        split = [
            delayed(_split_by_key, nout=buckets)(leaf, column=by[0], buckets=buckets)
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
                    dask_key_name=f"{name}-{b}-{level}-{i}-{tokenize(parts[i : i + split_every])}",
                )
                for i in range(0, len(parts), split_every)
            ]
            level += 1
        roots.append(parts[0])
    if len(roots) == 1:
        return roots[0]
    return delayed(_concat_frames)(roots, dask_key_name=f"{name}-{tokenize(roots)}")


def submit(*collections: Any) -> Callable[[bool], tuple[Any, ...]]:
    """Start computing on the active Dask client; returns a function that waits for results.

    The client's workers compute while the caller does other work (loading the gazetteer);
    without a client the computation runs when the returned function is called.
    """
    try:
        from distributed import default_client
        from distributed import progress as show_progress

        client = default_client()
    except ValueError:
        return lambda progress=False: dask.compute(*collections)
    futures = client.compute(list(collections))

    def wait(progress: bool = False) -> tuple[Any, ...]:
        if progress:
            show_progress(futures)
        return tuple(client.gather(futures))

    return wait


def _cluster_source(
    located: pd.DataFrame, totals: pd.Series, config: Config, source: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    from core.estimator import GeoDBSCAN

    params = config.sources[source]
    points = source_points(located, source)
    min_weight = params.min_weight_for(float(totals[source]) / WEIGHT_SCALE)
    labels = np.zeros(0, np.int64)
    n_clusters = 0
    if len(points):
        X = np.c_[points["ilat"] * config.rounding_deg, points["ilon"] * config.rounding_deg]
        weight = points["w"].to_numpy(np.float64)
        model = GeoDBSCAN(eps_km=params.eps_km, min_samples=min_weight * WEIGHT_SCALE)
        with warnings.catch_warnings():
            # The points travel inside the graph on purpose: scattered data would be lost
            # with the worker holding it, while graph data can be recomputed anywhere.
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            model.fit(X, sample_weight=weight)
        labels, n_clusters = model.labels_, model.n_clusters_
    info = {
        "eps_km": params.eps_km,
        "min_weight": min_weight,
        "locations": len(points),
        "clusters": n_clusters,
    }
    return pd.DataFrame({"site": points["site"].to_numpy(np.int64), "label": labels}), info


def cluster_sources(
    located: pd.DataFrame, totals: pd.Series, config: Config
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Stage *clustering per source*: ``GeoDBSCAN`` on each source's rounded locations.

    The three sources' graphs run at the same time, so small sources fill the workers
    while the largest one finishes.
    """
    with ThreadPoolExecutor(len(SOURCES)) as pool:
        results = list(
            pool.map(lambda source: _cluster_source(located, totals, config, source), SOURCES)
        )
    labels = pd.concat([frame for frame, _ in results], ignore_index=True)
    return labels.astype({"label": np.int64}), dict(
        zip(SOURCES, [i for _, i in results], strict=True)
    )


def attach_previous(
    ranked: pd.DataFrame, footprints: pd.DataFrame, previous: PreviousRun | None, *, top: int
) -> pd.DataFrame:
    """Stage *year over year*: previous rank, rank change and new entrants."""
    out = ranked.copy()
    out["previous_rank"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["rank_change"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["new_entrant"] = pd.array([pd.NA] * len(out), dtype="boolean")
    if previous is None:
        return out
    matched = match_previous(footprints, previous.footprints)
    prev_rank = previous.rankings.set_index("cluster_id")["rank"]
    matched["previous_rank"] = prev_rank.reindex(matched["previous_cluster_id"]).to_numpy()
    by_id = matched.set_index("cluster_id")["previous_rank"]
    previous_rank = pd.array(by_id.reindex(out["cluster_id"]).to_numpy(), dtype="Int64")
    out["previous_rank"] = previous_rank
    out["rank_change"] = out["previous_rank"] - out["rank"]
    was_top = (out["previous_rank"] <= top).fillna(False).to_numpy(bool)
    out["new_entrant"] = pd.array((out["rank"] <= top).to_numpy() & ~was_top, dtype="boolean")
    return out


def rank_records(
    checked: dd.DataFrame,
    config: Config,
    *,
    cities: pd.DataFrame | Callable[[], pd.DataFrame],
    population: Any,
    previous: PreviousRun | None = None,
    stages: StageLog | None = None,
    progress: bool = False,
) -> Ranking:
    """Run every stage after *read + validate* and return the tables to publish.

    Parameters
    ----------
    checked : dask.dataframe.DataFrame
        Output of the *read + validate* stage (``flows.inputs.read_records`` or
        ``flows.inputs.demo_records``).
    config : Config
        Run parameters.
    cities : pandas.DataFrame or callable
        Gazetteer (``core.gazetteer.load_cities()``) for names, or a function loading it
        (called while the workers aggregate the records).
    population : xarray.DataArray or callable
        Population grid on ``footprint-deg`` cells, or a function loading it.
    previous : PreviousRun, optional
        An earlier run for year-over-year changes.
    stages : StageLog, optional
        Collects stage timings.
    progress : bool
        Show a progress bar while the records are aggregated.
    """
    stages = stages or StageLog()
    f, r = config.footprint_deg, config.rounding_deg
    share_weights = {s: config.sources[s].share_weight for s in SOURCES}

    with stages("read+weights+rounding"):
        wait = submit(*aggregate_records(checked, rounding_deg=r))
        # Whatever the gazetteer, population grid and clustering engine (scikit-learn) still
        # need loads while the workers work.
        cities = cities() if callable(cities) else cities
        population = population() if callable(population) else population
        importlib.import_module("core.estimator")
        rejects, locations, stats, geocoded, strings = wait(progress)
        stats = _sorted_frame(stats, STAT_KEYS)
        rejects = rejects.sort_values(["file", "row"], kind="stable", ignore_index=True)
        warnings_ = check_rejects(rejects, stats, warn_share=config.warn_rejected_share)

    with stages("window"):
        start, end = window_bounds(
            location_years(locations), start_year=config.start_year, end_year=config.end_year
        )
        located = window_locations(locations, start_year=start, end_year=end, rounding_deg=r)
        totals = world_totals(located)

    with stages("clustering"):
        labels, cluster_info = cluster_sources(located, totals, config)

    with stages("overlay"):
        members = cluster_members(located, labels, rounding_deg=r, footprint_deg=f)

    with stages("measures"):
        clusters = measure_clusters(
            members, totals, share_weights=share_weights, rounding_deg=r, footprint_deg=f
        )
        ids = clusters["cluster_id"]
        members = members.assign(cluster_id=ids.reindex(members["combined"]).to_numpy())
        footprints = (
            members[["cluster_id", "cell_lat", "cell_lon"]]
            .drop_duplicates()
            .sort_values(["cluster_id", "cell_lat", "cell_lon"], ignore_index=True)
        )
        ranked = rank_clusters(clusters)

    with stages("population+intensity"):
        cluster_population = footprint_population(population, footprints)
        ranked = add_intensity(ranked, cluster_population, top=config.top)

    with stages("names+economies"):
        mass = score_contributions(members, totals, share_weights)
        named = members.assign(lat=members["ilat"] * r, lon=members["ilon"] * r, mass=mass)
        names = name_clusters(named, clusters[["lat", "lon"]], cities, footprint_deg=f)
        economies = economies_of(
            members, totals, share_weights=share_weights, min_share=config.economy_min_share
        )
        ranked["name"] = names.reindex(ranked["combined"]).to_numpy()
        ranked["economies"] = economies.reindex(ranked["combined"]).to_numpy()
        ranked["world_region"] = world_region(ranked["economies"].str.split("/").str[0]).to_numpy()

    with stages("year-over-year"):
        ranked = attach_previous(ranked, footprints, previous, top=config.top)

    with stages("noise"):
        noise = noise_locations(
            located, members, min_records=config.noise_min_records, rounding_deg=r
        )

    with stages("aggregates"):
        rankings = ranked[RANKING_COLUMNS].reset_index(drop=True)
        economy_table = economy_aggregates(rankings, top=config.top)
        map_locations = _map_locations(located, members, rounding_deg=r)
        shares_held = concentration(rankings)
        region_counts = (
            rankings[rankings["rank"] <= config.top]["world_region"].value_counts().sort_index()
        )

    window_stats = stats[(stats["year"] >= start) & (stats["year"] <= end)]
    summary = {
        "warnings": warnings_,
        "window": {"start_year": start, "end_year": end},
        "counts": {
            "rows_read": int(len(rejects) + stats["rows"].sum()),
            "rows_rejected": int(len(rejects)),
            "rejected_by_reason": {
                str(k): int(v) for k, v in rejects["reason"].value_counts().sort_index().items()
            },
            "rows_outside_window": int(stats["rows"].sum() - window_stats["rows"].sum()),
            "per_source": {
                s: _source_counts(window_stats, totals, s, cluster_info[s]) for s in SOURCES
            },
            "clusters": int(len(rankings)),
        },
        "geocoding": _geocoding_summary(geocoded, strings),
        "aggregates": {
            "top_shares": shares_held,
            # Cluster shares plus this remainder make 1 for each source with any activity.
            "unclustered_share": {
                s: float(1.0 - rankings[SHARE_COLUMNS[s]].sum()) if totals[s] > 0 else 0.0
                for s in SOURCES
            },
            "clusters_per_world_region": {str(k): int(v) for k, v in region_counts.items()},
        },
    }
    return Ranking(
        rankings=rankings,
        footprints=footprints,
        locations=map_locations,
        noise=noise,
        economies=economy_table,
        rejects=rejects,
        summary=summary,
    )


def check_rejects(rejects: pd.DataFrame, stats: pd.DataFrame, *, warn_share: float) -> list[str]:
    """Warnings about rejected rows (also logged); raises when no row is usable.

    Raises
    ------
    NoUsableRecords
        Every row was rejected; the message names the leading reasons.
    """
    by_reason = rejects["reason"].astype(str).value_counts().to_dict()
    rows = int(len(rejects) + stats["rows"].sum())
    if int(stats["rows"].sum()) == 0:
        if not rows:
            raise NoUsableRecords("no usable records: the inputs hold no rows")
        raise NoUsableRecords(
            f"no usable records: all {rows:,} rows were rejected: "
            f"{leading_reasons(by_reason, rows)}"
        )
    warnings_ = []
    if len(rejects) > warn_share * rows:
        warnings_.append(
            f"{len(rejects) / rows:.1%} of {rows:,} rows were rejected (more than "
            f"warn-rejected-share {warn_share:.0%}): {leading_reasons(by_reason, rows)}; "
            "see rejects.parquet"
        )
    for text in warnings_:
        log.warning("WARNING: %s", text)
    return warnings_


TOP_STRINGS = 20


def _geocoding_summary(counts: pd.DataFrame, strings: pd.DataFrame) -> dict[str, Any]:
    """Rows geocoded per source and method, the match rate (WIPO reports its accuracy the
    same way: rows placed at a city, not ambiguous, over the rows that needed geocoding),
    ambiguous rows, and the most frequent place strings not placed at a city or ambiguous."""
    counts = counts[~counts["method"].isin(["", "given"])]
    out: dict[str, Any] = {}
    for source, group in counts.groupby("source", sort=True):
        by_method = {str(m): int(n) for m, n in zip(group["method"], group["rows"], strict=True)}
        total = sum(by_method.values())
        unsure = sum(by_method.get(m, 0) for m in (*UNPLACED_METHODS, "ambiguous"))
        out[str(source)] = {
            "rows_to_geocode": total,
            "match_rate": (total - unsure) / total if total else None,
            "ambiguous_rows": by_method.get("ambiguous", 0),
            "by_method": by_method,
        }

    def top(methods: tuple[str, ...]) -> list[dict[str, Any]]:
        part = strings[strings["method"].isin(methods)]
        part = part.sort_values(["rows", "text"], ascending=[False, True]).head(TOP_STRINGS)
        return [
            {"text": str(t), "rows": int(n), "method": str(m)}
            for t, n, m in zip(part["text"], part["rows"], part["method"], strict=True)
        ]

    return {
        "per_source": out,
        "most_frequent_unmatched": top(UNPLACED_METHODS),
        "most_frequent_ambiguous": top(("ambiguous",)),
    }


def _sorted_frame(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.assign(source=pd.Categorical(frame["source"].astype(object), categories=SOURCES))
    return frame.sort_values(keys, kind="stable", ignore_index=True)


def _source_counts(
    window_stats: pd.DataFrame,
    totals: pd.Series,
    source: str,
    info: dict[str, Any],
) -> dict[str, Any]:
    stats = window_stats[window_stats["source"] == source]
    return {
        "documents": int(stats["docs"].sum()),
        "documents_lost_to_rejects": int(stats["docs_lost"].sum()),
        "rows": int(stats["rows"].sum()),
        "rows_rejected": int(stats["rows_lost"].sum()),
        "weight_lost_to_rejects": float(stats["weight_lost"].sum() / WEIGHT_SCALE),
        "world_total": float(totals[source] / WEIGHT_SCALE),
        **info,
    }


def _map_locations(
    located: pd.DataFrame, members: pd.DataFrame, *, rounding_deg: float
) -> pd.DataFrame:
    place = located["place"].to_numpy()
    places, first, inverse = np.unique(place, return_index=True, return_inverse=True)
    activity = np.bincount(inverse, weights=located["w"].to_numpy(np.float64))
    member_places = members.drop_duplicates("place").sort_values("place")
    at = np.searchsorted(member_places["place"].to_numpy(), places)
    at = np.minimum(at, max(len(member_places) - 1, 0))
    ids = member_places["cluster_id"].to_numpy(dtype=object)
    inside = ids[at] if len(ids) else np.full(len(places), None, dtype=object)
    inside = np.where(
        member_places["place"].to_numpy()[at] == places if len(ids) else False, inside, None
    )
    return pd.DataFrame(
        {
            "lat": located["ilat"].to_numpy()[first] * rounding_deg,
            "lon": located["ilon"].to_numpy()[first] * rounding_deg,
            "activity": activity / WEIGHT_SCALE,
            "cluster_id": inside,
        }
    )
