"""The run's ``summary.json``: counts, rejects, geocoding, aggregates, and warnings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from core.records import UNPLACED_METHODS, WEIGHT_SCALE, NoUsableRecords, leading_reasons
from core.sources import SHARE_COLUMNS, SOURCES

log = logging.getLogger("icrank")

#: Place strings listed per kind (not placed at a city, ambiguous) in the summary.
TOP_STRINGS = 20


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


def geocoding_summary(counts: pd.DataFrame, strings: pd.DataFrame) -> dict[str, Any]:
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


def _source_counts(
    window_stats: pd.DataFrame, totals: pd.Series, source: str, info: Mapping[str, Any]
) -> dict[str, Any]:
    stats = window_stats[window_stats["source"] == source]
    return {
        "documents": int(stats["docs"].sum()),
        "documents_lost_to_rejects": int(stats["docs_lost"].sum()),
        "rows": int(stats["rows"].sum()),
        "rows_rejected": int(stats["rows_lost"].sum()),
        "weight_lost_to_rejects": float(stats["weight_lost"].sum() / WEIGHT_SCALE),
        # The same document in two overlapping source exports counts once.
        "duplicate_documents_dropped": int(stats["docs_duplicate"].sum()),
        "duplicate_rows_dropped": int(stats["rows_duplicate"].sum()),
        "world_total": float(totals[source] / WEIGHT_SCALE),
        **info,
    }


def ranking_summary(
    *,
    rankings: pd.DataFrame,
    rejects: pd.DataFrame,
    stats: pd.DataFrame,
    totals: pd.Series,
    window: tuple[int, int],
    cluster_info: Mapping[str, Mapping[str, Any]],
    geocoding: dict[str, Any],
    warnings: list[str],
    top: int,
    top_shares: dict[str, Any],
    previous_method: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ranking's part of ``summary.json`` (the run adds identity, inputs and timings).

    Parameters
    ----------
    rankings : pandas.DataFrame
        The published rankings.
    rejects : pandas.DataFrame
        Every rejected row.
    stats : pandas.DataFrame
        ``core.records.document_stats`` summed per (source, year), all years.
    totals : pandas.Series
        Fixed-point world total per source in the window.
    window : tuple of int
        First and last year counted.
    cluster_info : mapping
        Per source: its clustering parameters and the number of locations and clusters.
    geocoding : dict
        :func:`geocoding_summary`.
    warnings : list of str
        :func:`check_rejects`.
    top : int
        Size of the published list.
    top_shares : dict
        ``core.measures.concentration``.
    previous_method : dict, optional
        ``flows.rank.rank_previous_method``'s information; None without a comparison.
    """
    start, end = window
    window_stats = stats[(stats["year"] >= start) & (stats["year"] <= end)]
    region_counts = rankings[rankings["rank"] <= top]["world_region"].value_counts().sort_index()
    return {
        "warnings": warnings,
        "window": {"start_year": start, "end_year": end},
        "counts": {
            "rows_read": int(len(rejects) + stats["rows"].sum() + stats["rows_duplicate"].sum()),
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
        "geocoding": geocoding,
        "aggregates": {
            "top_shares": top_shares,
            # Cluster shares plus this remainder make 1 for each source with any activity.
            "unclustered_share": {
                s: float(1.0 - rankings[SHARE_COLUMNS[s]].sum()) if totals[s] > 0 else 0.0
                for s in SOURCES
            },
            "clusters_per_world_region": {str(k): int(v) for k, v in region_counts.items()},
        },
        "previous_method": previous_method,
    }
