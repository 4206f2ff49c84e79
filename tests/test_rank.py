"""flows/rank.py end to end on small hand-placed worlds whose answers are worked out by hand."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from core.population import empty_grid
from core.profiles import PROFILE_COLUMNS
from core.records import NoUsableRecords, validate_records
from core.regions import known_economies
from flows.config import load_config
from flows.rank import rank_records
from flows.types import PreviousRun

# Gazetteer of the hand-placed world: Alpha and Beta, 22 km apart, are both inside the
# footprint of the cluster that joins A's patents and B's chain of publications.
CITIES = pd.DataFrame(
    {
        "geonameid": [1, 2, 3, 4],
        "name": ["Alpha", "Beta", "Gamma", "Delta"],
        "lat": [10.0, 10.0, -33.9, 40.0],
        "lon": [10.001, 10.201, 151.2, -100.0],
        "country": ["CN", "HK", "AU", "US"],
        "admin1": ["", "", "", ""],
        "population": [2_000_000, 1_000_000, 500_000, 300_000],
    }
)


def rows(source, n_docs, lat, lon, country, *, year=2024, prefix=None, rows_per_doc=1):
    """``n_docs`` documents of ``rows_per_doc`` rows each, all at one place."""
    prefix = prefix or f"{source}-{lat}-{lon}"
    return [
        {
            "source": source,
            "doc_id": f"{prefix}-{d}",
            "year": year,
            "lat": lat,
            "lon": lon,
            "country": country,
        }
        for d in range(n_docs)
        for _ in range(rows_per_doc)
    ]


def base_world() -> list[dict]:
    records = []
    records += rows("patent", 30, 10.0, 10.0, "CN")  # A: patent cluster
    # B: a chain of publications 9.9 km apart, the first in A's footprint cell.
    for lon in (10.02, 10.11, 10.2):
        records += rows("publication", 10, 10.0, lon, "HK")
    records += rows("patent", 10, -33.9, 151.2, "AU")  # C: second patent cluster
    records += rows("patent", 6, 40.0, -100.0, "US")  # D: 6 records, weight 6 < 8: noise
    records += rows("patent", 4, 45.0, -80.0, "CA")  # E: 4 records: not shown as noise
    # Five lone publications far from each other: unclustered remainder 5 / 35.
    for k in range(5):
        records += rows("publication", 1, -10.0 - 5 * k, -50.0, "BR", prefix=f"lone{k}")
    return records


def config_for(tmp_path=None, **overrides):
    settings = {
        "sources": {
            "patent": {"min-weight": 8},
            "publication": {"min-weight": 8},
            "vc": {"min-weight": 8},
        },
        "top": 10,
    }
    settings.update(overrides)
    return load_config(overrides=settings)


def population_grid(config, cells: dict[tuple[float, float], float]) -> xr.DataArray:
    grid = empty_grid(footprint_deg=config.footprint_deg)
    for (lat, lon), people in cells.items():
        grid.loc[
            {
                "lat": grid["lat"].sel(lat=lat, method="nearest"),
                "lon": grid["lon"].sel(lon=lon, method="nearest"),
            }
        ] = people
    return grid


def run_world(records, config=None, *, partitions=2, previous=None, population=None):
    config = config or config_for()
    raw = pd.DataFrame(records).assign(file="world.csv")
    raw["row"] = np.arange(len(raw))
    checked = dd.from_pandas(raw, npartitions=partitions).map_partitions(
        validate_records, rounding_deg=config.rounding_deg, known_countries=known_economies()
    )
    if population is None:
        population = empty_grid(footprint_deg=config.footprint_deg)
    with dask.config.set(scheduler="sync"):
        return rank_records(
            checked, config, cities=CITIES, population=population, previous=previous
        )


@pytest.fixture(scope="module")
def base_ranking():
    return run_world(base_world())


def test_ranking_order_scores_and_counts(base_ranking):
    r = base_ranking.rankings
    assert list(r["rank"]) == [1, 2]
    first, second = r.iloc[0], r.iloc[1]
    # Patent world total 50 (30 + 10 + 6 + 4), publication world total 35 (30 + 5).
    assert first["patents"] == pytest.approx(30) and first["publications"] == pytest.approx(30)
    assert first["share_patents"] == pytest.approx(0.6)
    assert first["share_publications"] == pytest.approx(30 / 35)
    assert first["share_vc"] == 0
    assert first["score"] == pytest.approx(0.6 + 30 / 35)
    assert second["score"] == pytest.approx(0.2) and second["patents"] == pytest.approx(10)


def test_shares_plus_remainder_sum_to_one(base_ranking):
    r = base_ranking.rankings
    per_source = base_ranking.summary["counts"]["per_source"]
    assert per_source["patent"]["world_total"] == pytest.approx(50)
    assert per_source["publication"]["world_total"] == pytest.approx(35)
    # Unclustered patents: D (6) and E (4) of 50; publications: 5 lone ones of 35.
    assert 1 - r["share_patents"].sum() == pytest.approx(10 / 50)
    assert 1 - r["share_publications"].sum() == pytest.approx(5 / 35)
    remainder = base_ranking.summary["aggregates"]["unclustered_share"]
    assert remainder["patent"] == pytest.approx(10 / 50) and remainder["vc"] == 0


def test_overlay_merges_sources_sharing_a_cell_and_names_and_economies(base_ranking):
    first = base_ranking.rankings.iloc[0]
    # Nearest Alpha: A's patents (0.6) and the publications at 10.02 (10/35); nearest Beta:
    # those at 10.11 and 10.2 (20/35), more than a quarter of Alpha's.
    assert first["name"] == "Alpha–Beta"
    assert first["economies"] == "HK/CN"
    assert first["world_region"] == "Asia"
    second = base_ranking.rankings.iloc[1]
    assert second["name"] == "Gamma" and second["economies"] == "AU"
    assert second["world_region"] == "Oceania"


def test_centroid_lies_between_the_member_places(base_ranking):
    first = base_ranking.rankings.iloc[0]
    # On the sphere the mean of points at 10°N lies a hair poleward of 10°N.
    assert 10.0 < first["lat"] < 10.0 + 1e-4
    # Weighted by score parts: 0.6 at lon 10.00, 10/35 at each of 10.02, 10.11 and 10.2.
    part = 10 / 35
    expected = (0.6 * 10.0 + part * (10.02 + 10.11 + 10.2)) / (0.6 + 3 * part)
    assert first["lon"] == pytest.approx(expected, abs=1e-4)


def test_noise_is_unclustered_locations_with_enough_records(base_ranking):
    noise = base_ranking.noise
    assert list(zip(noise["lat"], noise["lon"], noise["records"], strict=True)) == [
        (pytest.approx(40.0), pytest.approx(-100.0), 6)
    ]
    assert noise["patents"].iloc[0] == pytest.approx(6)


def test_intensity_uses_population_of_the_footprint():
    config = config_for()
    # Footprint cell of A and B: rows/cols of the 0.05° grid, centre (10.025, 10.025).
    grid = population_grid(config, {(10.025, 10.025): 2_000_000.0})
    ranking = run_world(base_world(), config, population=grid)
    first, second = ranking.rankings.iloc[0], ranking.rankings.iloc[1]
    assert first["population"] == pytest.approx(2e6)
    assert first["intensity"] == pytest.approx((0.6 + 30 / 35) / 2.0)
    assert first["patents_per_million"] == pytest.approx(15.0)
    assert first["intensity_rank"] == 1
    assert second["population"] == 0 and np.isnan(second["intensity"])
    assert pd.isna(second["intensity_rank"])


def test_fractional_counting_and_rejects_with_reasons():
    records = base_world()
    # One application with an inventor in A and one in C: half a document each.
    records += [
        {
            "source": "patent",
            "doc_id": "split",
            "year": 2024,
            "lat": 10.0,
            "lon": 10.0,
            "country": "CN",
        },
        {
            "source": "patent",
            "doc_id": "split",
            "year": 2024,
            "lat": -33.9,
            "lon": 151.2,
            "country": "AU",
        },
        # Same document, a third row without coordinates: its third is lost.
        {
            "source": "patent",
            "doc_id": "split",
            "year": 2024,
            "lat": None,
            "lon": None,
            "country": "AU",
        },
        {
            "source": "patent",
            "doc_id": "y",
            "year": "soon",
            "lat": 1.0,
            "lon": 1.0,
            "country": "FR",
        },
        {"source": "gadget", "doc_id": "g", "year": 2024, "lat": 1.0, "lon": 1.0, "country": "FR"},
        {"source": "vc", "doc_id": "z", "year": 2024, "lat": 91.0, "lon": 1.0, "country": "FR"},
    ]
    ranking = run_world(records)
    first = ranking.rankings.iloc[0]
    assert first["patents"] == pytest.approx(30 + 1 / 3, abs=1e-6)
    reasons = dict(zip(ranking.rejects["doc_id"], ranking.rejects["reason"], strict=True))
    assert reasons == {
        "split": "not geocoded",
        "y": "bad year",
        "g": "bad source",
        "z": "bad coordinates",
    }
    patent = ranking.summary["counts"]["per_source"]["patent"]
    assert patent["weight_lost_to_rejects"] == pytest.approx(1 / 3, abs=1e-6)
    assert ranking.summary["counts"]["rows_rejected"] == 4
    assert ranking.summary["counts"]["rows_read"] == len(records)


def test_year_window_defaults_to_latest_five_years():
    records = base_world() + rows("patent", 50, 40.0, -100.0, "US", year=2015, prefix="old")
    ranking = run_world(records)
    assert ranking.summary["window"] == {"start_year": 2020, "end_year": 2024}
    assert ranking.noise["records"].iloc[0] == 6  # the 2015 records are out of the window


def test_rank_ties_break_by_cluster_id():
    records = rows("patent", 10, 10.0, 10.0, "CN") + rows("patent", 10, 50.0, 10.0, "DE")
    ranking = run_world(records)
    r = ranking.rankings
    assert r["score"].iloc[0] == r["score"].iloc[1]
    assert list(r["cluster_id"]) == sorted(r["cluster_id"])


def test_cluster_ids_do_not_depend_on_partitions(base_ranking):
    again = run_world(base_world()[::-1], partitions=5)
    pd.testing.assert_frame_equal(again.rankings, base_ranking.rankings)


def test_zero_share_weight_reproduces_the_two_source_method():
    records = base_world() + rows("vc", 10, -33.9, 151.2, "AU")
    config = config_for(
        sources={
            "patent": {"min-weight": 8},
            "publication": {"min-weight": 8},
            "vc": {"min-weight": 8, "share-weight": 0},
        }
    )
    ranking = run_world(records, config)
    second = ranking.rankings.iloc[1]
    assert second["vc_deals"] == pytest.approx(10) and second["share_vc"] == pytest.approx(1.0)
    assert second["score"] == pytest.approx(0.2)


def test_year_over_year_matching(base_ranking):
    previous = PreviousRun(
        run_id="earlier",
        footprint_deg=0.05,
        rankings=base_ranking.rankings,
        footprints=base_ranking.footprints,
    )
    # Gamma grows past Alpha–Beta, and a new cluster appears in Delta's place.
    records = base_world() + rows("patent", 100, -33.9, 151.2, "AU", prefix="more")
    records += rows("publication", 60, -33.9, 151.2, "AU", prefix="more")
    records += rows("patent", 20, 40.0, -100.0, "US", prefix="delta")
    ranking = run_world(records, config_for(top=2), previous=previous)
    r = ranking.rankings.set_index("name")
    assert r.loc["Gamma", "rank"] == 1 and r.loc["Gamma", "previous_rank"] == 2
    assert r.loc["Gamma", "rank_change"] == 1
    assert r.loc["Alpha–Beta", "rank_change"] == -1
    assert not r.loc["Gamma", "new_entrant"]
    delta = r.loc["Delta"]
    assert pd.isna(delta["previous_rank"])
    assert delta["rank"] == 3 and not delta["new_entrant"]  # outside the top 2
    top3 = run_world(records, config_for(top=3), previous=previous).rankings.set_index("name")
    assert bool(top3.loc["Delta", "new_entrant"])


def test_a_world_without_clusters_still_ranks_and_reports_noise():
    records = rows("patent", 6, 40.0, -100.0, "US") + rows("publication", 3, 1.0, 1.0, "FR")
    ranking = run_world(records)
    assert ranking.rankings.empty
    assert list(ranking.rankings.columns)[:3] == ["rank", "cluster_id", "name"]
    assert list(ranking.noise["records"]) == [6]
    assert ranking.economies.empty
    assert ranking.summary["counts"]["clusters"] == 0


def test_many_rejects_warn_with_the_leading_reasons():
    good = rows("patent", 30, 10.0, 10.0, "CN")
    bad = [dict(r, country="") for r in rows("patent", 8, 20.0, 20.0, "CN", prefix="x")]
    bad += [dict(r, year="soon") for r in rows("patent", 2, 20.0, 20.0, "CN", prefix="y")]
    ranking = run_world(good + bad)
    (warning,) = ranking.summary["warnings"]
    assert warning.startswith("25.0% of 40 rows were rejected")
    assert "missing country 8 (20.0%), bad year 2 (5.0%)" in warning
    assert run_world(good + bad[:2]).summary["warnings"] == []  # 6 % stays quiet
    quiet = config_for(**{"warn-rejected-share": 0.3})
    assert run_world(good + bad, quiet).summary["warnings"] == []


@pytest.mark.parametrize("window", [None, {"start-year": 2020, "end-year": 2024}])
def test_a_world_where_every_row_is_rejected_names_the_leading_reason(window):
    records = [dict(r, country="ZZ") for r in rows("vc", 5, 10.0, 10.0, "CN")]
    records += [dict(r, lat=None, lon=None) for r in rows("vc", 3, 10.0, 10.0, "CN", prefix="p")]
    config = config_for(window=window) if window else config_for()
    with pytest.raises(NoUsableRecords) as caught:
        run_world(records, config)
    assert str(caught.value) == (
        "no usable records: all 8 rows were rejected: bad country 5 (62.5%), not geocoded 3 (37.5%)"
    )


def profile_world() -> list[dict]:
    """Cluster A at Alpha (CN) with named applicants, fields and deals; cluster C at Gamma
    (AU); one application with an inventor in each."""

    def docs(source, n, lat, lon, country, year, prefix, **extra):
        return [
            {
                "source": source,
                "doc_id": f"{prefix}-{d}",
                "year": year,
                "lat": lat,
                "lon": lon,
                "country": country,
                **extra,
            }
            for d in range(n)
        ]

    a, c = (10.0, 10.0, "CN"), (-33.9, 151.2, "AU")
    records = docs("patent", 10, *a, 2020, "p20", organization="Acme Corp", field="H04L  29/06")
    # The same applicant in another case and spacing: one organisation.
    records += docs("patent", 10, *a, 2024, "p24a", organization=" acme  corp", field="G06F 17/30")
    records += docs("patent", 10, *a, 2024, "p24b", organization="Beta Ltd", field="G06F17/30")
    records += docs("patent", 10, *c, 2024, "pc")
    records += [
        {"source": "patent", "doc_id": "both", "year": 2024, "lat": lat, "lon": lon, "country": cc}
        for lat, lon, cc in (a, c)
    ]
    records += docs(
        "publication", 8, *a, 2022, "a1", organization="Univ. Alpha", field="Computer Science"
    )
    records += docs("publication", 4, *a, 2022, "a2", organization="Univ. Alpha", field="Medicine")
    records += docs("vc", 9, *a, 2024, "v", amount=1_000_000)
    records += docs("vc", 1, *a, 2024, "big", amount="2500000")
    return records


@pytest.fixture(scope="module")
def profile_ranking():
    return run_world(profile_world())


def test_profiles_name_the_top_organisations_and_fields_with_their_shares(profile_ranking):
    a, c = (profile_ranking.rankings.set_index("name").loc[n] for n in ("Alpha", "Gamma"))
    # A holds 30 patents and half of the shared one.
    assert a["patents"] == pytest.approx(30.5)
    assert a["top_applicant"] == "Acme Corp"
    assert a["top_applicant_share"] == pytest.approx(20 / 30.5)
    assert a["top_tech_field"] == "Computer technology"
    assert a["top_tech_field_share"] == pytest.approx(20 / 30.5)
    assert a["top_science_org"] == "Univ. Alpha" and a["top_science_org_share"] == 1.0
    assert a["top_science_field"] == "Computer Science"
    assert a["top_science_field_share"] == pytest.approx(8 / 12)
    assert a["vc_amount"] == pytest.approx(11_500_000)
    assert pd.isna(c["top_applicant"]) and pd.isna(c["vc_amount"])


def test_growth_and_international_share(profile_ranking):
    a, c = (profile_ranking.rankings.set_index("name").loc[n] for n in ("Alpha", "Gamma"))
    # Window 2020-2024: A's patents go from 10 to 20.5.
    assert a["growth_patents"] == pytest.approx((20.5 / 10) ** (1 / 4) - 1)
    # Nothing in 2020: no rate.
    assert np.isnan(a["growth_publications"]) and np.isnan(c["growth_patents"])
    # Half a document of 52.5 (patents, publications, deals) co-operates abroad.
    assert a["international_share"] == pytest.approx(0.5 / 52.5)
    assert c["international_share"] == pytest.approx(0.5 / 10.5)


def test_profiles_table_lists_the_leading_items_in_order(profile_ranking):
    table = profile_ranking.profiles
    alpha = table[(table["name"] == "Alpha") & (table["source"] == "patent")]
    orgs = alpha[alpha["kind"] == "organization"]
    assert orgs["item"].tolist() == ["Acme Corp", "Beta Ltd"]
    assert orgs["position"].tolist() == [1, 2]
    assert orgs["count"].tolist() == pytest.approx([20, 10])
    fields = alpha[alpha["kind"] == "field"]
    assert fields["item"].tolist() == ["Computer technology", "Digital communication"]
    assert set(table["cluster_id"]) <= set(profile_ranking.rankings["cluster_id"])


def test_profiles_do_not_depend_on_partitioning(profile_ranking):
    again = run_world(profile_world()[::-1], partitions=5)
    columns = ["cluster_id", *PROFILE_COLUMNS]
    pd.testing.assert_frame_equal(
        again.rankings[columns].sort_values("cluster_id", ignore_index=True),
        profile_ranking.rankings[columns].sort_values("cluster_id", ignore_index=True),
    )
    pd.testing.assert_frame_equal(again.profiles, profile_ranking.profiles)


def method_world() -> list[dict]:
    """A: 30 patents; C: 20 patents and 10 deals; D: 10 deals alone."""
    records = rows("patent", 30, 10.0, 10.0, "CN")
    records += rows("patent", 20, -33.9, 151.2, "AU")
    records += rows("vc", 10, -33.9, 151.2, "AU")
    records += rows("vc", 10, 40.0, -100.0, "US")
    return records


def test_rank_under_the_previous_method_without_deals():
    ranking = run_world(method_world())
    r = ranking.rankings.set_index("name")
    # Now: C 20/50 + 10/20 = 0.9, A 0.6, D 0.5; before deals: A 0.6, C 0.4, no D.
    assert r["rank"].to_dict() == {"Gamma": 1, "Alpha": 2, "Delta": 3}
    assert r["rank_previous_method"].loc["Gamma"] == 2
    assert r["rank_previous_method"].loc["Alpha"] == 1
    assert pd.isna(r["rank_previous_method"].loc["Delta"])
    info = ranking.summary["previous_method"]
    assert info["sources"] == ["patent", "publication"] and info["clusters"] == 2
    assert info["matched"] == 2 and info["reclustered"] == []


def test_previous_method_with_other_parameters_clusters_again():
    # Under a method whose patents need 25 documents, C's 20 form no cluster.
    method = {"label": "strict", "sources": {"patent": {"min-weight": 25}}}
    ranking = run_world(method_world(), config_for(**{"previous-method": method}))
    r = ranking.rankings.set_index("name")
    assert r["rank_previous_method"].loc["Alpha"] == 1
    assert pd.isna(r["rank_previous_method"].loc["Gamma"])
    assert ranking.summary["previous_method"]["reclustered"] == ["patent"]


def test_no_previous_method_leaves_the_column_empty():
    ranking = run_world(method_world(), config_for(**{"previous-method": None}))
    assert ranking.rankings["rank_previous_method"].isna().all()
    assert ranking.summary["previous_method"] is None
