"""The ranking flow: checked records in, ranked clusters out. Reads as its list of stages."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from core import GeoDBSCAN
from core.measures import (
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
    LOCATION_KEYS,
    NO_YEAR,
    SOURCES,
    STAT_COLUMNS,
    STAT_KEYS,
    WEIGHT_SCALE,
    aggregate_locations,
    document_stats,
    fractional_weights,
    keyed_rows,
    rejected_rows,
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
    checked: dd.DataFrame,
) -> tuple[dd.DataFrame, dd.DataFrame, dd.DataFrame]:
    """Stages *fractional weights* and *rounding*: lazy rejects, locations and statistics.

    Rows are shuffled by document so that each partition holds whole documents; weights
    are then split per document and summed per (source, year, location, country).
    """
    rejects = checked.map_partitions(rejected_rows, meta=rejected_rows(checked._meta))
    keyed = checked.map_partitions(keyed_rows, meta=keyed_rows(checked._meta))
    by_document = keyed.shuffle(on=["source", "doc_id"])
    weighted = by_document.map_partitions(fractional_weights, meta=fractional_weights(keyed._meta))
    locations = (
        weighted.map_partitions(aggregate_locations, meta=aggregate_locations(weighted._meta))
        .groupby(LOCATION_KEYS, observed=True)[["w", "rows"]]
        .sum()
    )
    stats = (
        weighted.map_partitions(document_stats, meta=document_stats(weighted._meta))
        .groupby(STAT_KEYS, observed=True)[STAT_COLUMNS]
        .sum()
    )
    return rejects, locations, stats


def compute(*collections: Any, progress: bool = False) -> tuple[Any, ...]:
    """Compute on the active Dask client (with a progress bar if asked) or the default."""
    try:
        from distributed import default_client
        from distributed import progress as show_progress

        client = default_client()
    except ValueError:
        return dask.compute(*collections)
    futures = client.compute(list(collections))
    if progress:
        show_progress(futures)
    return tuple(client.gather(futures))


def cluster_sources(
    located: pd.DataFrame, totals: pd.Series, config: Config
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Stage *clustering per source*: ``GeoDBSCAN`` on each source's rounded locations."""
    labels, info = [], {}
    for source in SOURCES:
        params = config.sources[source]
        points = source_points(located, source)
        min_weight = params.min_weight_for(float(totals[source]) / WEIGHT_SCALE)
        n_clusters = 0
        if len(points):
            X = np.c_[points["ilat"] * config.rounding_deg, points["ilon"] * config.rounding_deg]
            model = GeoDBSCAN(eps_km=params.eps_km, min_samples=min_weight * WEIGHT_SCALE)
            model.fit(X, sample_weight=points["w"].to_numpy(np.float64))
            n_clusters = model.n_clusters_
            labels.append(points[["ilat", "ilon"]].assign(source=source, label=model.labels_))
        info[source] = {
            "eps_km": params.eps_km,
            "min_weight": min_weight,
            "locations": len(points),
            "clusters": n_clusters,
        }
    frame = (
        pd.concat(labels, ignore_index=True)
        if labels
        else pd.DataFrame({"ilat": [], "ilon": [], "source": [], "label": []})
    )
    return frame.astype({"label": np.int64}), info


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
    cities: pd.DataFrame,
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
    cities : pandas.DataFrame
        Gazetteer (``core.gazetteer.load_cities()``) for names.
    population : xarray.DataArray
        Population grid on ``footprint-deg`` cells.
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
        rejects_dd, locations_dd, stats_dd = aggregate_records(checked)
        rejects, locations, stats = compute(rejects_dd, locations_dd, stats_dd, progress=progress)
        locations = _sorted_frame(locations.reset_index(), LOCATION_KEYS)
        stats = _sorted_frame(stats.reset_index(), STAT_KEYS)
        rejects = rejects.sort_values(["file", "row"], kind="stable", ignore_index=True)

    with stages("window"):
        years = locations["year"].to_numpy()
        start, end = window_bounds(
            years[years != NO_YEAR], start_year=config.start_year, end_year=config.end_year
        )
        in_window = locations[(locations["year"] >= start) & (locations["year"] <= end)]
        located = (
            in_window.groupby(["source", "ilat", "ilon", "country"], sort=True, observed=True)[
                ["w", "rows"]
            ]
            .sum()
            .reset_index()
        )
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
        "window": {"start_year": start, "end_year": end},
        "counts": {
            "rows_read": int(len(rejects) + stats["rows"].sum()),
            "rows_rejected": int(len(rejects)),
            "rejected_by_reason": {
                str(k): int(v) for k, v in rejects["reason"].value_counts().sort_index().items()
            },
            "rows_outside_window": int(stats["rows"].sum() - window_stats["rows"].sum()),
            "per_source": {
                s: _source_counts(window_stats, located, totals, s, cluster_info[s])
                for s in SOURCES
            },
            "clusters": int(len(rankings)),
        },
        "aggregates": {
            "top_shares": shares_held,
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


def _sorted_frame(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.assign(source=pd.Categorical(frame["source"].astype(object), categories=SOURCES))
    return frame.sort_values(keys, kind="stable", ignore_index=True)


def _source_counts(
    window_stats: pd.DataFrame,
    located: pd.DataFrame,
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
    per_location = located.groupby(["ilat", "ilon"], sort=True)["w"].sum().reset_index()
    cluster_of = members[["ilat", "ilon", "cluster_id"]].drop_duplicates(["ilat", "ilon"])
    table = per_location.merge(cluster_of, on=["ilat", "ilon"], how="left")
    return pd.DataFrame(
        {
            "lat": table["ilat"] * rounding_deg,
            "lon": table["ilon"] * rounding_deg,
            "activity": table["w"] / WEIGHT_SCALE,
            "cluster_id": table["cluster_id"],
        }
    )
