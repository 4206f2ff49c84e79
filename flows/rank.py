"""The ranking flow: checked records in, ranked clusters out, as the list of its stages.

Kernels are in ``core/``; graph helpers in :mod:`flows.graph`; types in :mod:`flows.types`;
the summary's assembly in :mod:`flows.summary`.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.base import tokenize
from dask.delayed import Delayed, delayed

from core.measures import (
    RANKING_COLUMNS,
    add_intensity,
    cluster_members,
    concentration,
    economies_of,
    economy_aggregates,
    map_locations,
    measure_clusters,
    noise_locations,
    rank_clusters,
    score_contributions,
    source_points,
    window_bounds,
    world_totals,
)
from core.naming import name_clusters
from core.overlay import rank_changes
from core.population import footprint_population
from core.profiles import (
    ITEM_SUM_KEYS,
    PROFILE_TABLE_COLUMNS,
    cluster_item_sums,
    cluster_items,
    cluster_profiles,
    growth_rates,
    member_sites,
    profile_names,
    profile_sums,
)
from core.records import (
    STAT_KEYS,
    WEIGHT_SCALE,
    aggregate_locations,
    document_stats,
    fractional_weights,
    geocode_counts,
    keyed_rows,
    location_years,
    place_strings,
    rejected_rows,
    sorted_stats,
    window_locations,
)
from core.regions import world_region
from core.sources import SOURCES
from flows.config import Config, MethodParams, SourceParams
from flows.graph import submit, tree_concat, tree_sum
from flows.summary import check_rejects, geocoding_summary, ranking_summary
from flows.types import PreviousRun, Ranking, StageLog

log = logging.getLogger("icrank")


def aggregate_records(
    checked: dd.DataFrame, *, rounding_deg: float
) -> tuple[tuple[Delayed, ...], list[Delayed]]:
    """Stages *fractional weights* and *rounding*: lazy rejects, locations, statistics,
    geocoding counts, the place strings the geocoder could not settle and the names of
    organisations and fields; and, per partition, the profiles' sums per location and
    organisation or field, to be kept where they are computed until the clusters are known
    (:func:`core.profiles.cluster_item_sums`).

    Rows are shuffled by document so that each partition holds whole documents; weights
    are then split per document and summed per (source, year, location, country). Only
    numeric columns travel: documents as 128-bit hashes, locations as packed integers.
    """
    rejects = tree_concat(
        checked.map_partitions(rejected_rows, meta=rejected_rows(checked._meta)),
        name="icrank-rejects",
    )
    keyed = checked.map_partitions(
        keyed_rows, rounding_deg=rounding_deg, meta=keyed_rows(checked._meta, rounding_deg=1.0)
    )
    by_document = keyed.shuffle(on="doc_a")
    weighted = by_document.map_partitions(fractional_weights, meta=fractional_weights(keyed._meta))
    locations = tree_sum(
        weighted.map_partitions(aggregate_locations, meta=aggregate_locations(weighted._meta)),
        by=["key"],
        name="icrank-sum-locations",
        buckets=4,
    )
    stats_meta = document_stats(weighted._meta, rounding_deg=1.0)
    stats = tree_sum(
        weighted.map_partitions(document_stats, rounding_deg=rounding_deg, meta=stats_meta),
        by=STAT_KEYS,
        name="icrank-sum-stats",
    )
    geocoded = tree_sum(
        checked.map_partitions(geocode_counts, meta=geocode_counts(checked._meta)),
        by=["source", "method"],
        name="icrank-sum-geocoding",
    )
    strings = tree_sum(
        checked.map_partitions(place_strings, meta=place_strings(checked._meta)),
        by=["method", "text"],
        name="icrank-sum-place-strings",
    )
    profiles = weighted.map_partitions(profile_sums, meta=profile_sums(weighted._meta))
    names = tree_sum(
        checked.map_partitions(profile_names, meta=profile_names(checked._meta)),
        by=["kind", "item"],
        name="icrank-profile-names",
        how="min",
    )
    return (rejects, locations, stats, geocoded, strings, names), profiles.to_delayed(
        optimize_graph=False
    )


def cluster_sources(
    located: pd.DataFrame,
    totals: pd.Series,
    sources: Mapping[str, SourceParams],
    *,
    rounding_deg: float,
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Stage *clustering per source*: ``GeoDBSCAN`` on each source's rounded locations.

    The three sources are clustered in one graph, so small sources fill the workers while
    the largest one finishes.

    Returns
    -------
    labels : pandas.DataFrame
        ``source, site, label`` of the locations of every source in ``sources`` (-1: noise).
    info : dict
        Per source: ``eps_km``, ``min_weight`` (documents), ``locations``, ``clusters``.
    """
    from core.estimator import GeoDBSCAN, fit_together

    clustered = [s for s in SOURCES if s in sources]
    points = {s: source_points(located, s) for s in clustered}
    min_weight = {s: sources[s].min_weight_for(float(totals[s]) / WEIGHT_SCALE) for s in clustered}
    # A source without locations has no threshold to speak of (its world total is 0).
    present = [s for s in clustered if len(points[s])]
    models = {
        s: GeoDBSCAN(eps_km=sources[s].eps_km, min_samples=min_weight[s] * WEIGHT_SCALE)
        for s in present
    }
    with warnings.catch_warnings():
        # The points travel inside the graph on purpose: scattered data would be lost
        # with the worker holding it, while graph data can be recomputed anywhere.
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        fit_together(
            [models[s] for s in present],
            [
                np.c_[points[s]["ilat"] * rounding_deg, points[s]["ilon"] * rounding_deg]
                for s in present
            ],
            [points[s]["w"].to_numpy(np.float64) for s in present],
        )
    labels = pd.concat(
        [
            pd.DataFrame(
                {
                    "source": s,
                    "site": points[s]["site"].to_numpy(np.int64),
                    "label": models[s].labels_ if s in models else np.zeros(0, np.int64),
                }
            )
            for s in clustered
        ],
        ignore_index=True,
    )
    info = {
        s: {
            "eps_km": sources[s].eps_km,
            "min_weight": min_weight[s],
            "locations": len(points[s]),
            "clusters": models[s].n_clusters_ if s in models else 0,
        }
        for s in clustered
    }
    return labels.astype({"label": np.int64}), info


def rank_previous_method(
    located: pd.DataFrame,
    labels: pd.DataFrame,
    totals: pd.Series,
    ranked: pd.DataFrame,
    footprints: pd.DataFrame,
    method: MethodParams,
    sources: Mapping[str, SourceParams],
    *,
    rounding_deg: float,
    footprint_deg: float,
) -> tuple[pd.Series, dict[str, Any]]:
    """Stage *previous method*: rank the clusters as ``method`` would, and match them.

    The method's sources are clustered again only where its parameters differ from this
    run's (a source's clusters do not depend on the other sources); then they are merged,
    scored with the method's share weights and ranked on their own, and each of this run's
    clusters takes the rank of the method's cluster its footprint overlaps most, as
    WIPO's comparison table does.

    Returns
    -------
    rank : pandas.Series
        Nullable ``rank_previous_method`` per row of ``ranked``; missing where no cluster
        of the method overlaps.
    info : dict
        ``label``, ``sources``, ``clusters`` (of the method), ``matched`` (this run's
        clusters with a rank under it) and ``reclustered`` (sources clustered again).
    """
    total = {s: float(totals[s]) / WEIGHT_SCALE for s in method.sources}
    reclustered = {
        s: p
        for s, p in method.sources.items()
        if (p.eps_km, p.min_weight_for(total[s]))
        != (sources[s].eps_km, sources[s].min_weight_for(total[s]))
    }
    kept = labels[labels["source"].isin([s for s in method.sources if s not in reclustered])]
    parts = [kept]
    if reclustered:
        parts.append(cluster_sources(located, totals, reclustered, rounding_deg=rounding_deg)[0])
    method_labels = pd.concat(parts, ignore_index=True).sort_values("site", ignore_index=True)
    members = cluster_members(
        located, method_labels, rounding_deg=rounding_deg, footprint_deg=footprint_deg
    )
    share_weights = {
        s: method.sources[s].share_weight if s in method.sources else 0.0 for s in SOURCES
    }
    clusters = measure_clusters(
        members,
        totals,
        share_weights=share_weights,
        rounding_deg=rounding_deg,
        footprint_deg=footprint_deg,
    )
    method_ranked = rank_clusters(clusters)
    ids = clusters["cluster_id"]
    cells = members.assign(cluster_id=ids.reindex(members["combined"]).to_numpy())[
        ["cluster_id", "cell_lat", "cell_lon"]
    ].drop_duplicates()
    matched = rank_changes(ranked, footprints, method_ranked, cells, top=len(ranked))
    rank = matched["previous_rank"].astype("Int64")
    info = {
        "label": method.label,
        "sources": [s for s in SOURCES if s in method.sources],
        "clusters": len(method_ranked),
        "matched": int(rank.notna().sum()),
        "reclustered": sorted(reclustered),
    }
    return rank, info


def rank_records(
    checked: dd.DataFrame,
    config: Config,
    *,
    cities: pd.DataFrame | Callable[[], pd.DataFrame],
    population: Any,
    previous: PreviousRun | None = None,
    names: Mapping[str, str] | None = None,
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
    names : mapping, optional
        ``cluster_id`` → name, replacing the names made from the gazetteer
        (``flows.inputs.load_cluster_names``).
    stages : StageLog, optional
        Collects stage timings.
    progress : bool
        Show a progress bar while the records are aggregated.
    """
    stages = stages or StageLog()
    f, r = config.footprint_deg, config.rounding_deg
    share_weights = {s: config.sources[s].share_weight for s in SOURCES}

    with stages("read+weights+rounding"):
        summed, profile_parts = aggregate_records(checked, rounding_deg=r)
        wait = submit(*summed, keep=profile_parts)
        # Whatever the gazetteer, population grid and clustering engine (scikit-learn) still
        # need loads while the workers work.
        cities = cities() if callable(cities) else cities
        population = population() if callable(population) else population
        importlib.import_module("core.estimator")
        (rejects, locations, stats, geocoded, strings, profile_names_), profile_parts = wait(
            progress
        )
        stats = sorted_stats(stats)
        rejects = rejects.sort_values(["file", "row"], kind="stable", ignore_index=True)
        warnings_ = check_rejects(rejects, stats, warn_share=config.warn_rejected_share)

    with stages("window"):
        start, end = window_bounds(
            location_years(locations), start_year=config.start_year, end_year=config.end_year
        )
        located = window_locations(locations, start_year=start, end_year=end, rounding_deg=r)
        totals = world_totals(located)

    with stages("clustering"):
        labels, cluster_info = cluster_sources(located, totals, config.sources, rounding_deg=r)

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
        made_names = name_clusters(named, clusters[["lat", "lon"]], cities, footprint_deg=f)
        economies = economies_of(
            members, totals, share_weights=share_weights, min_share=config.economy_min_share
        )
        ranked["name"] = made_names.reindex(ranked["combined"]).to_numpy()
        if names:
            given = ranked["cluster_id"].map(names)
            ranked["name"] = given.fillna(ranked["name"])
            unknown = sorted(set(names) - set(ranked["cluster_id"]))
            if unknown:
                warnings_.append(
                    f"names-url: {len(unknown)} cluster ids match no cluster of this run "
                    f"(first: {unknown[0]})"
                )
                log.warning(warnings_[-1])
        ranked["economies"] = economies.reindex(ranked["combined"]).to_numpy()
        ranked["world_region"] = world_region(ranked["economies"].str.split("/").str[0]).to_numpy()

    with stages("profiles"):
        from core.technology import TECHNOLOGY_FIELDS

        window = {"start_year": start, "end_year": end}
        sites = member_sites(members)
        sites_task = delayed(sites, name=f"icrank-member-sites-{tokenize(sites)}")
        item_sums = tree_sum(
            [delayed(cluster_item_sums)(part, sites_task, **window) for part in profile_parts],
            by=ITEM_SUM_KEYS,
            name="icrank-sum-cluster-items",
        )
        (item_sums,), _ = submit(item_sums)(False)
        # The per-location sums are no longer needed: free the workers' memory.
        del profile_parts
        items = cluster_items(item_sums, profile_names_, members, field_names=TECHNOLOGY_FIELDS)
        growth = growth_rates(locations, sites, **window)
        profile = cluster_profiles(items, growth, members)
        ranked = ranked.join(profile, on="combined")
        profiles = (
            items.merge(ranked[["combined", "rank", "cluster_id", "name"]], on="combined")
            .sort_values(["rank", "source", "kind", "position"], kind="stable")[
                ["rank", "cluster_id", "name", *PROFILE_TABLE_COLUMNS]
            ]
            .reset_index(drop=True)
        )

    with stages("year-over-year"):
        ranked = rank_changes(
            ranked,
            footprints,
            previous.rankings if previous else None,
            previous.footprints if previous else None,
            top=config.top,
        )

    with stages("previous method"):
        ranked["rank_previous_method"] = pd.array([pd.NA] * len(ranked), dtype="Int64")
        previous_method = None
        if config.previous_method is not None:
            rank, previous_method = rank_previous_method(
                located,
                labels,
                totals,
                ranked,
                footprints,
                config.previous_method,
                config.sources,
                rounding_deg=r,
                footprint_deg=f,
            )
            ranked["rank_previous_method"] = rank.to_numpy()

    with stages("noise"):
        noise = noise_locations(
            located, members, min_records=config.noise_min_records, rounding_deg=r
        )

    with stages("aggregates"):
        rankings = ranked[RANKING_COLUMNS].reset_index(drop=True)
        economy_table = economy_aggregates(rankings, top=config.top)
        locations_on_map = map_locations(located, members, rounding_deg=r)
        top_shares = concentration(rankings)

    summary = ranking_summary(
        rankings=rankings,
        rejects=rejects,
        stats=stats,
        totals=totals,
        window=(start, end),
        cluster_info=cluster_info,
        geocoding=geocoding_summary(geocoded, strings),
        warnings=warnings_,
        top=config.top,
        top_shares=top_shares,
        previous_method=previous_method,
    )
    return Ranking(
        rankings=rankings,
        footprints=footprints,
        locations=locations_on_map,
        noise=noise,
        economies=economy_table,
        profiles=profiles,
        rejects=rejects,
        summary=summary,
    )
