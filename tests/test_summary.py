"""flows/summary.py: reject warnings, the geocoding summary and the counts, worked out by hand."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from core.records import WEIGHT_SCALE, NoUsableRecords
from flows.summary import TOP_STRINGS, check_rejects, geocoding_summary, ranking_summary


def rejects(*reasons: str) -> pd.DataFrame:
    return pd.DataFrame({"file": "f.csv", "row": range(len(reasons)), "reason": list(reasons)})


def stats(rows_by_year: dict[int, int], source: str = "patent") -> pd.DataFrame:
    years = sorted(rows_by_year)
    return pd.DataFrame(
        {
            "source": source,
            "year": years,
            "docs": [rows_by_year[y] for y in years],
            "rows": [rows_by_year[y] for y in years],
            "docs_lost": 0,
            "rows_lost": 0,
            "weight_lost": 0,
            "docs_duplicate": 0,
            "rows_duplicate": 0,
        }
    )


def test_no_warning_at_or_below_the_share_and_one_above(caplog):
    assert check_rejects(rejects("bad year"), stats({2024: 4}), warn_share=0.2) == []
    with caplog.at_level(logging.WARNING, logger="icrank"):
        (warning,) = check_rejects(
            rejects("bad year", "bad year", "not geocoded"), stats({2024: 7}), warn_share=0.2
        )
    # 3 of 10 rows: the share, the total and the leading reason, in one line.
    assert warning.startswith("30.0% of 10 rows were rejected") and "bad year" in warning
    assert "\n" not in warning and warning in caplog.text


def test_no_usable_row_raises_naming_the_leading_reason():
    with pytest.raises(NoUsableRecords, match="all 3 rows were rejected: .*bad source"):
        check_rejects(rejects("bad source", "bad source", "bad year"), stats({}), warn_share=0.5)
    with pytest.raises(NoUsableRecords, match="hold no rows"):
        check_rejects(rejects(), stats({}), warn_share=0.5)


def test_geocoding_summary_rates_and_most_frequent_strings():
    counts = pd.DataFrame(
        {
            "source": ["vc", "vc", "vc", "vc", "patent"],
            "method": ["given", "exact", "ambiguous", "unmatched", "fuzzy"],
            "rows": [100, 6, 2, 2, 5],
        }
    )
    strings = pd.DataFrame(
        {
            "method": ["unmatched"] * (TOP_STRINGS + 2) + ["ambiguous"],
            "text": [f"place {k:02d}" for k in range(TOP_STRINGS + 2)] + ["Springfield, US"],
            "rows": [1] * (TOP_STRINGS + 1) + [9, 4],
        }
    )
    out = geocoding_summary(counts, strings)
    vc = out["per_source"]["vc"]
    # "given" rows needed no geocoding; 6 of 10 placed at a city, not ambiguous.
    assert vc["rows_to_geocode"] == 10 and vc["match_rate"] == pytest.approx(0.6)
    assert vc["ambiguous_rows"] == 2 and out["per_source"]["patent"]["match_rate"] == 1.0
    unmatched = out["most_frequent_unmatched"]
    assert len(unmatched) == TOP_STRINGS and unmatched[0] == {
        "text": f"place {TOP_STRINGS + 1:02d}",
        "rows": 9,
        "method": "unmatched",
    }
    assert [s["text"] for s in unmatched[1:3]] == ["place 00", "place 01"]  # ties by text
    assert out["most_frequent_ambiguous"] == [
        {"text": "Springfield, US", "rows": 4, "method": "ambiguous"}
    ]


def test_ranking_summary_counts_the_window_and_the_unclustered_remainder():
    rankings = pd.DataFrame(
        {
            "rank": [1, 2],
            "world_region": ["Asia", "Europe"],
            "share_patents": [0.5, 0.25],
            "share_publications": [0.0, 0.0],
            "share_vc": [0.0, 0.0],
        }
    )
    totals = pd.Series({"patent": 8 * WEIGHT_SCALE, "publication": 0, "vc": 0})
    info = {s: {"clusters": n} for s, n in (("patent", 2), ("publication", 0), ("vc", 0))}
    out = ranking_summary(
        rankings=rankings,
        rejects=rejects("bad year"),
        stats=stats({2019: 3, 2023: 5, 2024: 3}),
        totals=totals,
        window=(2020, 2024),
        cluster_info=info,
        geocoding={},
        warnings=[],
        top=1,
        top_shares={},
    )
    counts = out["counts"]
    assert counts["rows_read"] == 12 and counts["rows_outside_window"] == 3
    assert counts["per_source"]["patent"]["documents"] == 8
    assert counts["per_source"]["patent"]["world_total"] == 8.0
    assert counts["rejected_by_reason"] == {"bad year": 1}
    assert out["aggregates"]["unclustered_share"] == {
        "patent": 0.25,
        "publication": 0.0,
        "vc": 0.0,
    }
    assert out["aggregates"]["clusters_per_world_region"] == {"Asia": 1}
