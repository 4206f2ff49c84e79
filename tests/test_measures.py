"""Cluster measures (core/measures.py) on small hand-built tables with hand-worked results.

Weights are fixed-point integers (``WEIGHT_SCALE`` units per document); the tables below
give them in documents and the expected values are worked out from those numbers by hand,
in the comments next to them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.measures import (
    add_intensity,
    cluster_members,
    concentration,
    economies_of,
    economy_aggregates,
    map_locations,
    measure_clusters,
    noise_locations,
    rank_clusters,
    source_points,
    window_bounds,
    world_totals,
)
from core.records import WEIGHT_SCALE, NoUsableRecords

W = WEIGHT_SCALE
ROUNDING = 0.01
FOOTPRINT = 0.05  # 5 rounded steps per footprint cell
SOURCE_DTYPE = pd.CategoricalDtype(["patent", "publication", "vc"])
SHARE_WEIGHTS = {"patent": 1.0, "publication": 0.5, "vc": 2.0}
MEASURE_COLUMNS = [
    "cluster_id",
    "patents",
    "publications",
    "vc_deals",
    "share_patents",
    "share_publications",
    "share_vc",
    "score",
    "lat",
    "lon",
]
GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


def geohash(lat: float, lon: float, precision: int = 7) -> str:
    """Textbook geohash by interval bisection, independent of core.tiling."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    bits: list[int] = []
    while len(bits) < 5 * precision:
        # Even bits bisect longitude, odd bits latitude.
        value, interval = (lon, lon_range) if len(bits) % 2 == 0 else (lat, lat_range)
        middle = (interval[0] + interval[1]) / 2
        bits.append(int(value >= middle))
        interval[0 if value >= middle else 1] = middle
    return "".join(
        GEOHASH_ALPHABET[int("".join(map(str, bits[k : k + 5])), 2)] for k in range(0, len(bits), 5)
    )


def test_reference_geohash_matches_the_published_example():
    # The example of the geohash article: 57.64911 N, 10.40744 E is u4pruydqqvj.
    assert geohash(57.64911, 10.40744, precision=11) == "u4pruydqqvj"


def located_frame(rows: list[tuple[str, int, int, str, float, int]]) -> pd.DataFrame:
    """``located`` rows like core.records.window_locations gives them.

    ``rows`` are (source, ilat, ilon, country, documents, input rows), already sorted by
    (source, ilat, ilon, country). ``place`` numbers distinct locations in (ilat, ilon)
    order and ``site`` is ``1000 × source code + place``: the real keys are larger numbers,
    but the measures only rely on their order and equality.
    """
    frame = pd.DataFrame(rows, columns=["source", "ilat", "ilon", "country", "docs", "rows"])
    frame["source"] = frame["source"].astype(SOURCE_DTYPE)
    order = frame.sort_values(["source", "ilat", "ilon", "country"], kind="stable").index
    assert list(order) == list(frame.index), "write the rows in window_locations order"
    places = sorted(set(zip(frame["ilat"], frame["ilon"], strict=True)))
    place = [places.index(p) for p in zip(frame["ilat"], frame["ilon"], strict=True)]
    return pd.DataFrame(
        {
            "source": frame["source"],
            "ilat": frame["ilat"].astype(np.int32),
            "ilon": frame["ilon"].astype(np.int32),
            "country": frame["country"].astype(object),
            "w": np.rint(frame["docs"].to_numpy() * W).astype(np.int64),
            "rows": frame["rows"].astype(np.int64),
            "site": 1000 * frame["source"].cat.codes.to_numpy(np.int64) + np.array(place),
            "place": np.array(place, dtype=np.int64),
        }
    )


# A small world. Footprint cells (row, column) = ((ilat + 9000) // 5, (ilon + 18000) // 5):
#   place 0  (-300, 7)    cell (1740, 3601)  vc DE 5 docs (4 rows)          noise
#   place 1  (0, 0)       cell (1800, 3600)  patent CN 6 (2), patent HK 2 (1) patent cluster 0
#   place 2  (2, 3)       cell (1800, 3600)  publication CN 10 (5)           publication cluster 0
#   place 3  (100, 100)   cell (1820, 3620)  patent US 4 (1)                 patent cluster 1
#   place 4  (500, 500)   cell (1900, 3700)  publication FR 3 (3), vc FR 1 (2) noise
# Patent cluster 0 and publication cluster 0 share cell (1800, 3600): combined cluster 0.
# Patent cluster 1 is alone: combined cluster 1 (its cell comes after (1800, 3600)).
WORLD = [
    ("patent", 0, 0, "CN", 6, 2),
    ("patent", 0, 0, "HK", 2, 1),
    ("patent", 100, 100, "US", 4, 1),
    ("publication", 2, 3, "CN", 10, 5),
    ("publication", 500, 500, "FR", 3, 3),
    ("vc", -300, 7, "DE", 5, 4),
    ("vc", 500, 500, "FR", 1, 2),
]
# site -> label per source (-1 = noise), sorted by site.
LABELS = pd.DataFrame({"site": [1, 3, 1002, 1004, 2000, 2004], "label": [0, 1, 0, -1, -1, -1]})
# World totals in documents: patent 6 + 2 + 4 = 12, publication 10 + 3 = 13, vc 5 + 1 = 6.
TOTALS = pd.Series([12 * W, 13 * W, 6 * W], index=["patent", "publication", "vc"])


@pytest.fixture
def located() -> pd.DataFrame:
    return located_frame(WORLD)


@pytest.fixture
def members(located) -> pd.DataFrame:
    return cluster_members(located, LABELS, rounding_deg=ROUNDING, footprint_deg=FOOTPRINT)


def members_frame(rows: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    """Hand-written member rows: (combined, source, country, documents), all at (0, 0)."""
    frame = pd.DataFrame(rows, columns=["combined", "source", "country", "docs"])
    return frame.assign(
        source=frame["source"].astype(SOURCE_DTYPE),
        w=np.rint(frame["docs"].to_numpy() * W).astype(np.int64),
    ).drop(columns="docs")


# ------------------------------------------------------------------------------------------
# Window and totals
# ------------------------------------------------------------------------------------------


def test_window_defaults_to_the_latest_five_years():
    years = np.array([2015, 2020, 2018])
    assert window_bounds(years, start_year=None, end_year=None) == (2016, 2020)
    assert window_bounds(years, start_year=None, end_year=None, default_years=1) == (2020, 2020)
    assert window_bounds(years, start_year=None, end_year=2019) == (2015, 2019)
    assert window_bounds(years, start_year=2010, end_year=None) == (2010, 2020)


def test_explicit_window_is_kept_even_without_records():
    bounds = window_bounds(np.array([], np.int64), start_year=2001, end_year=2003)
    assert bounds == (2001, 2003)
    assert all(type(b) is int for b in bounds)
    assert window_bounds([], start_year=None, end_year=2003) == (1999, 2003)


def test_window_without_records_or_end_year_is_refused():
    with pytest.raises(NoUsableRecords, match="year window"):
        window_bounds(np.array([], np.int64), start_year=2001, end_year=None)


def test_world_totals_sum_weights_per_source_in_source_order(located):
    totals = world_totals(located)
    assert list(totals.index) == ["patent", "publication", "vc"]
    assert totals.tolist() == [12 * W, 13 * W, 6 * W]


def test_world_totals_of_absent_sources_are_zero(located):
    only_vc = located[located["source"] == "vc"]
    assert world_totals(only_vc).tolist() == [0, 0, 6 * W]
    # A plain-text source column (no categories) still lists every source.
    text = located.assign(source=located["source"].astype(object))
    assert world_totals(text[text["source"] == "patent"]).tolist() == [12 * W, 0, 0]


# ------------------------------------------------------------------------------------------
# Points and members
# ------------------------------------------------------------------------------------------


def test_source_points_sum_each_site_over_countries(located):
    points = source_points(located, "patent")
    # Site 1 holds CN 6 + HK 2 documents at (0, 0); site 3 holds US 4 at (100, 100).
    assert list(points.columns) == ["site", "ilat", "ilon", "w"]
    assert points["site"].tolist() == [1, 3]
    assert points["ilat"].tolist() == [0, 100] and points["ilon"].tolist() == [0, 100]
    assert points["w"].tolist() == [8 * W, 4 * W]
    vc = source_points(located, "vc")
    assert vc["site"].tolist() == [2000, 2004] and vc["w"].tolist() == [5 * W, 1 * W]


def test_source_points_of_a_source_without_rows_is_empty(located):
    points = source_points(located[located["source"] != "publication"], "publication")
    assert points.empty and list(points.columns) == ["site", "ilat", "ilon", "w"]


def test_cluster_members_join_sources_sharing_a_footprint_cell(members):
    assert members["combined"].tolist() == [0, 0, 0, 1]
    assert members["source"].astype(str).tolist() == ["patent", "patent", "publication", "patent"]
    assert members["country"].tolist() == ["CN", "HK", "CN", "US"]
    assert members["label"].tolist() == [0, 0, 0, 1]
    assert members["ilat"].tolist() == [0, 0, 2, 100]
    assert members["ilon"].tolist() == [0, 0, 3, 100]
    assert members["cell_lat"].tolist() == [1800, 1800, 1800, 1820]
    assert members["cell_lon"].tolist() == [3600, 3600, 3600, 3620]
    assert members["w"].tolist() == [6 * W, 2 * W, 10 * W, 4 * W]
    assert members["place"].tolist() == [1, 1, 2, 3]


def test_cluster_members_without_clusters_is_empty(located):
    all_noise = LABELS.assign(label=-1)
    members = cluster_members(located, all_noise, rounding_deg=ROUNDING, footprint_deg=FOOTPRINT)
    assert members.empty
    assert {"label", "cell_lat", "cell_lon", "combined"} <= set(members.columns)


# ------------------------------------------------------------------------------------------
# Measures and ranks
# ------------------------------------------------------------------------------------------


def measure(members: pd.DataFrame, totals: pd.Series = TOTALS, **weights: float) -> pd.DataFrame:
    return measure_clusters(
        members,
        totals,
        share_weights={**SHARE_WEIGHTS, **weights},
        rounding_deg=ROUNDING,
        footprint_deg=FOOTPRINT,
    )


def test_measures_count_share_and_score_each_combined_cluster(members):
    clusters = measure(members)
    assert list(clusters.columns) == MEASURE_COLUMNS
    assert clusters.index.name == "combined" and clusters.index.tolist() == [0, 1]
    # Cluster 0: patents 6 + 2 = 8 of 12, publications 10 of 13; cluster 1: patents 4 of 12.
    assert clusters["patents"].tolist() == [8.0, 4.0]
    assert clusters["publications"].tolist() == [10.0, 0.0]
    assert clusters["vc_deals"].tolist() == [0.0, 0.0]
    assert clusters["share_patents"].tolist() == pytest.approx([8 / 12, 4 / 12])
    assert clusters["share_publications"].tolist() == pytest.approx([10 / 13, 0.0])
    assert clusters["share_vc"].tolist() == [0.0, 0.0]
    # Score = 1.0 × patent share + 0.5 × publication share + 2.0 × vc share.
    assert clusters["score"].tolist() == pytest.approx([8 / 12 + 0.5 * 10 / 13, 4 / 12])


def test_shares_of_a_source_sum_to_its_clustered_part_of_the_world(members):
    clusters = measure(members)
    # Every patent is clustered; publication 3 of 13 and every vc deal are noise.
    assert clusters["share_patents"].sum() == pytest.approx(1.0)
    assert clusters["share_publications"].sum() == pytest.approx(10 / 13)
    assert clusters["share_vc"].sum() == 0.0
    weighted = sum(
        SHARE_WEIGHTS[s] * clusters[f"share_{c}"]
        for s, c in [("patent", "patents"), ("publication", "publications"), ("vc", "vc")]
    )
    assert clusters["score"].to_numpy() == pytest.approx(weighted.to_numpy())


def test_centroid_is_score_weighted_and_id_is_the_anchor_cell_geohash(members):
    clusters = measure(members)
    # Cluster 0's score parts: 6/12 + 2/12 = 2/3 at (0°, 0°) and 0.5 × 10/13 = 5/13 at
    # (0.02°, 0.03°): 15/41 of the mass lies at the second location (nearly flat here).
    assert clusters.loc[0, "lat"] == pytest.approx(0.02 * 15 / 41, abs=1e-6)
    assert clusters.loc[0, "lon"] == pytest.approx(0.03 * 15 / 41, abs=1e-6)
    assert clusters.loc[1, "lat"] == pytest.approx(1.0)
    assert clusters.loc[1, "lon"] == pytest.approx(1.0)
    # Anchors: cell (1800, 3600), centre (0.025°, 0.025°); cell (1820, 3620), (1.025°, 1.025°).
    assert clusters["cluster_id"].tolist() == [geohash(0.025, 0.025), geohash(1.025, 1.025)]


def test_anchor_cell_holds_the_largest_score_part_ties_to_the_lowest_cell():
    def one_cluster(w_west: float, w_east: float) -> pd.DataFrame:
        # Patents at (0, 0) in cell (1800, 3600) and (0, 10) in cell (1800, 3602).
        return pd.DataFrame(
            {
                "combined": [0, 0],
                "source": pd.Categorical(["patent", "patent"], dtype=SOURCE_DTYPE),
                "ilat": [0, 0],
                "ilon": [0, 10],
                "cell_lat": [1800, 1800],
                "cell_lon": [3600, 3602],
                "w": [int(w_west * W), int(w_east * W)],
            }
        )

    heavier_east = measure(one_cluster(1, 3))
    # Centre of cell column 3602: -180 + 3602.5 × 0.05 = 0.125°.
    assert heavier_east["cluster_id"].tolist() == [geohash(0.025, 0.125)]
    tie = measure(one_cluster(2, 2))
    assert tie["cluster_id"].tolist() == [geohash(0.025, 0.025)]


def test_clusters_of_sources_weighing_nothing_use_plain_counts():
    # A vc-only cluster with vc weighing 0 in the score: 1 deal at 0°, 3 deals at 4° N.
    members = pd.DataFrame(
        {
            "combined": [0, 0],
            "source": pd.Categorical(["vc", "vc"], dtype=SOURCE_DTYPE),
            "ilat": [0, 400],
            "ilon": [0, 0],
            "cell_lat": [1800, 1880],
            "cell_lon": [3600, 3600],
            "w": [1 * W, 3 * W],
        }
    )
    clusters = measure(members, vc=0.0)
    assert clusters["score"].tolist() == [0.0]
    assert clusters["share_vc"].tolist() == pytest.approx([4 / 6])
    # On the meridian: the centre of unit vectors at 0° and 4° weighted 1 and 3.
    four = np.radians(4.0)
    expected = np.degrees(np.arctan2(3 * np.sin(four), 1 + 3 * np.cos(four)))
    assert clusters.loc[0, "lat"] == pytest.approx(expected, abs=1e-9)
    assert clusters.loc[0, "lon"] == pytest.approx(0.0, abs=1e-9)
    # The anchor is the cell of the 3 deals: row 1880, centre -90 + 1880.5 × 0.05 = 4.025°.
    assert clusters["cluster_id"].tolist() == [geohash(4.025, 0.025)]


def test_measures_of_no_members_is_an_empty_table(members):
    clusters = measure(members.iloc[:0])
    assert clusters.empty and list(clusters.columns) == MEASURE_COLUMNS
    assert clusters.index.name == "combined"


def test_rank_orders_by_score_then_cluster_id():
    shares = {"share_patents": [0.2, 0.5, 0.2, 0.1], "share_publications": [0.3, 0.4, 0.3, 0.0]}
    clusters = pd.DataFrame(
        {
            "cluster_id": ["c", "a", "b", "d"],
            "score": [0.5, 0.9, 0.5, 0.1],
            **shares,
            "share_vc": [0.0, 0.0, 0.0, 0.0],
        },
        index=pd.Index([0, 1, 2, 3], name="combined"),
    )
    ranked = rank_clusters(clusters)
    assert list(ranked.columns[:4]) == ["rank", "combined", "cluster_id", "score"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4] and ranked["rank"].dtype == np.int64
    # The two 0.5 scores are ordered by id: "b" before "c".
    assert ranked["cluster_id"].tolist() == ["a", "b", "c", "d"]
    assert ranked["combined"].tolist() == [1, 2, 0, 3]


def test_each_source_ranks_the_clusters_by_its_share_alone():
    clusters = pd.DataFrame(
        {
            "cluster_id": ["a", "b", "c", "d"],
            "score": [0.9, 0.6, 0.5, 0.1],
            "share_patents": [0.1, 0.5, 0.3, 0.1],
            "share_publications": [0.6, 0.0, 0.2, 0.0],
            "share_vc": [0.2, 0.1, 0.0, 0.0],
        }
    )
    ranked = rank_clusters(clusters).set_index("cluster_id")
    # Ties by cluster_id ("a" before "d"); a cluster with none of a source has no rank in it.
    assert ranked["rank_patents"].tolist() == [3, 1, 2, 4]
    assert ranked["rank_publications"].tolist() == [1, pd.NA, 2, pd.NA]
    assert ranked["rank_vc"].tolist() == [1, 2, pd.NA, pd.NA]
    assert str(ranked["rank_vc"].dtype) == "Int64"


def test_rank_of_no_clusters_is_empty():
    shares = {c: [] for c in ("share_patents", "share_publications", "share_vc")}
    empty = pd.DataFrame({"cluster_id": [], "score": [], **shares}).rename_axis("combined")
    ranked = rank_clusters(empty)
    assert ranked.empty and list(ranked.columns) == [
        "rank",
        "combined",
        "cluster_id",
        "score",
        *shares,
        "rank_patents",
        "rank_publications",
        "rank_vc",
    ]


# ------------------------------------------------------------------------------------------
# Intensity
# ------------------------------------------------------------------------------------------


def ranked_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 2, 3, 4],
            "cluster_id": ["a", "b", "c", "d"],
            "score": [0.6, 0.3, 0.1, 0.05],
            "patents": [10.0, 3.0, 1.0, 1.0],
            "publications": [4.0, 0.0, 2.0, 0.0],
            "vc_deals": [2.0, 1.0, 0.0, 0.0],
        }
    )


def test_intensity_is_activity_per_million_inhabitants_ranked_in_the_top():
    # "d" has no population entry; "z" is no cluster here and is ignored.
    population = pd.Series({"a": 2e6, "b": 5e5, "c": 1e5, "z": 9e9})
    out = add_intensity(ranked_table(), population, top=2)
    assert out["population"].tolist() == [2e6, 5e5, 1e5, 0.0]
    assert out["patents_per_million"].tolist()[:3] == pytest.approx([5.0, 6.0, 10.0])
    assert out["publications_per_million"].tolist()[:3] == pytest.approx([2.0, 0.0, 20.0])
    assert out["vc_per_million"].tolist()[:3] == pytest.approx([1.0, 2.0, 0.0])
    # Intensity: 0.6 / 2 = 0.3, 0.3 / 0.5 = 0.6, 0.1 / 0.1 = 1.0, and NaN without people.
    assert out["intensity"].tolist()[:3] == pytest.approx([0.3, 0.6, 1.0])
    assert np.isnan(out["intensity"].iloc[3]) and np.isnan(out["patents_per_million"].iloc[3])
    # Only ranks <= 2 get an intensity rank: "b" is more intense than "a".
    assert out["intensity_rank"].dtype == "Int64"
    assert out["intensity_rank"].tolist() == [2, 1, pd.NA, pd.NA]
    assert out["rank"].tolist() == [1, 2, 3, 4]


def test_equal_intensities_rank_by_rank_and_no_people_means_no_intensity_rank():
    # a: 0.6 / 2 = 0.3 and b: 0.3 / 1 = 0.3 tie; c: 0.1 / 0.1 = 1.0; d has no people.
    population = pd.Series({"a": 2e6, "b": 1e6, "c": 1e5, "d": 0.0})
    out = add_intensity(ranked_table(), population, top=4)
    assert out["intensity_rank"].tolist() == [2, 3, 1, pd.NA]


# ------------------------------------------------------------------------------------------
# Economies
# ------------------------------------------------------------------------------------------


def economies(members: pd.DataFrame, min_share: float, **weights: float) -> pd.Series:
    return economies_of(
        members, TOTALS, share_weights={**SHARE_WEIGHTS, **weights}, min_share=min_share
    )


def test_economies_hold_a_minimum_share_of_the_score_largest_first():
    members = members_frame(
        [(0, "patent", "CN", 6), (0, "patent", "HK", 2), (0, "publication", "CN", 10)]
        + [(1, "patent", "US", 4)]
    )
    # Cluster 0's score parts: CN 6/12 + 0.5 × 10/13 = 23/26, HK 2/12 = 1/6; of the
    # cluster's 41/39: CN 897/1066 ≈ 0.841, HK 39/246 ≈ 0.159.
    assert economies(members, 0.1).to_dict() == {0: "CN/HK", 1: "US"}
    assert economies(members, 0.158).to_dict() == {0: "CN/HK", 1: "US"}
    assert economies(members, 0.159).to_dict() == {0: "CN", 1: "US"}


def test_economies_follow_score_shares_not_document_counts():
    members = members_frame([(0, "patent", "US", 1), (0, "publication", "CA", 10)])
    totals = pd.Series([2 * W, 100 * W, 1 * W], index=["patent", "publication", "vc"])
    # Equal weights: US 1/2 of the world's patents, CA 10/100 of its publications:
    # US 0.5 / 0.6 ≈ 0.83 of the score leads though CA has ten times the documents.
    shares = economies_of(
        members,
        totals,
        share_weights={"patent": 1.0, "publication": 1.0, "vc": 1.0},
        min_share=0.1,
    )
    assert shares.to_dict() == {0: "US/CA"}


def test_the_largest_economy_is_listed_even_below_the_minimum_and_ties_go_by_code():
    members = members_frame([(0, "patent", "HK", 6), (0, "patent", "CN", 2)])
    assert economies(members, 0.1).to_dict() == {0: "HK/CN"}  # 0.75, 0.25
    thirds = members_frame([(0, "patent", "DE", 1), (0, "patent", "AT", 1), (0, "patent", "CH", 1)])
    assert economies(thirds, 0.5).to_dict() == {0: "AT"}
    assert economies(thirds, 0.3).to_dict() == {0: "AT/CH/DE"}


def test_economies_of_clusters_weighing_nothing_follow_counts():
    members = members_frame([(0, "vc", "FR", 1), (0, "vc", "BE", 3)])
    assert economies(members, 0.25, vc=0.0).to_dict() == {0: "BE/FR"}  # 0.75, 0.25
    assert economies(members, 0.3, vc=0.0).to_dict() == {0: "BE"}


# ------------------------------------------------------------------------------------------
# Noise and aggregates
# ------------------------------------------------------------------------------------------


def noise(located: pd.DataFrame, members: pd.DataFrame, min_records: int) -> pd.DataFrame:
    return noise_locations(located, members, min_records=min_records, rounding_deg=ROUNDING)


def test_noise_is_places_outside_clusters_with_enough_records(located):
    members = pd.DataFrame({"place": [1, 1, 2, 3]})  # the clustered places of WORLD
    # Outside clusters: place 0 (-3°, 0.07°) 4 rows of 5 vc deals; place 4 (5°, 5°)
    # 3 + 2 = 5 rows of 3 publications and 1 vc deal, all sources together.
    five = noise(located, members, 5)
    assert list(five.columns) == ["lat", "lon", "records", "patents", "publications", "vc_deals"]
    assert five["lat"].tolist() == pytest.approx([5.0])
    assert five["lon"].tolist() == pytest.approx([5.0])
    assert five["records"].tolist() == [5] and five["records"].dtype == np.int64
    assert five[["patents", "publications", "vc_deals"]].to_numpy().tolist() == [[0.0, 3.0, 1.0]]
    four = noise(located, members, 4)
    assert four["lat"].tolist() == pytest.approx([-3.0, 5.0])
    assert four["lon"].tolist() == pytest.approx([0.07, 5.0])
    assert four["records"].tolist() == [4, 5]
    assert four["vc_deals"].tolist() == [5.0, 1.0]
    assert noise(located, members, 6).empty


def test_clustered_places_are_never_noise(located):
    members = pd.DataFrame({"place": [1, 1, 2, 3]})
    # Places 1 (3 rows) and 2 (5 rows) are busy but clustered.
    assert noise(located, members, 1)["records"].tolist() == [4, 5]
    # With no clusters every place with a row is noise, in (lat, lon) order.
    everything = noise(located, members.iloc[:0], 1)
    assert everything["records"].tolist() == [4, 3, 5, 1, 5]
    assert everything["lat"].tolist() == pytest.approx([-3.0, 0.0, 0.02, 1.0, 5.0])


def rankings_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5],
            "name": ["Tokyo", "Shenzhen–Hong Kong", "Beijing", "Boston", "Paris"],
            "economies": ["JP", "CN/HK", "CN", "US", "FR"],
        }
    )


def test_economy_aggregates_count_top_clusters_per_economy():
    table = economy_aggregates(rankings_table(), top=4)
    assert list(table.columns) == [
        "economy",
        "world_region",
        "clusters",
        "leading_cluster",
        "leading_rank",
    ]
    # CN has 2 clusters (ranks 2 and 3); the others 1, ordered by their leading rank. Paris
    # (rank 5) is outside the top 4; "CN/HK" counts for both economies.
    assert table.to_dict("records") == [
        {
            "economy": "CN",
            "world_region": "Asia",
            "clusters": 2,
            "leading_cluster": "Shenzhen–Hong Kong",
            "leading_rank": 2,
        },
        {
            "economy": "JP",
            "world_region": "Asia",
            "clusters": 1,
            "leading_cluster": "Tokyo",
            "leading_rank": 1,
        },
        {
            "economy": "HK",
            "world_region": "Asia",
            "clusters": 1,
            "leading_cluster": "Shenzhen–Hong Kong",
            "leading_rank": 2,
        },
        {
            "economy": "US",
            "world_region": "Northern America",
            "clusters": 1,
            "leading_cluster": "Boston",
            "leading_rank": 4,
        },
    ]


def test_economy_aggregates_ties_go_by_economy_code_and_no_top_is_empty():
    rankings = pd.DataFrame({"rank": [1], "name": ["Basel"], "economies": ["FR/CH/DE"]})
    table = economy_aggregates(rankings, top=1)
    assert table["economy"].tolist() == ["CH", "DE", "FR"]
    assert table["clusters"].tolist() == [1, 1, 1]
    empty = economy_aggregates(rankings_table(), top=0)
    assert empty.empty
    assert list(empty.columns) == [
        "economy",
        "world_region",
        "clusters",
        "leading_cluster",
        "leading_rank",
    ]


def test_concentration_sums_the_shares_of_the_leading_clusters():
    # Rows out of rank order on purpose: the leaders are chosen by rank.
    rankings = pd.DataFrame(
        {
            "rank": [3, 1, 2],
            "share_patents": [0.125, 0.5, 0.25],
            "share_publications": [0.0, 0.25, 0.5],
            "share_vc": [1.0, 0.0, 0.0],
        }
    )
    assert concentration(rankings) == {
        "patent": {"top1": 0.5, "top2": 0.75, "top10": 0.875},
        "publication": {"top1": 0.25, "top2": 0.75, "top10": 0.75},
        "vc": {"top1": 0.0, "top2": 0.0, "top10": 1.0},
    }
    assert concentration(rankings, leaders=(3,)) == {
        "patent": {"top3": 0.875},
        "publication": {"top3": 0.75},
        "vc": {"top3": 1.0},
    }


# ------------------------------------------------------------------------------------------
# Locations on the map
# ------------------------------------------------------------------------------------------


def test_map_locations_sum_every_source_per_place_and_name_its_cluster(located, members):
    ids = {0: "c-zero", 1: "c-one"}
    named = members.assign(cluster_id=members["combined"].map(ids))
    out = map_locations(located, named, rounding_deg=ROUNDING)
    # One row per place 0..4 in place order; activity in documents over all sources.
    assert out["activity"].tolist() == pytest.approx([5, 8, 10, 4, 4])
    assert out["lat"].tolist() == pytest.approx([-3.0, 0.0, 0.02, 1.0, 5.0])
    assert out["lon"].tolist() == pytest.approx([0.07, 0.0, 0.03, 1.0, 5.0])
    assert out["cluster_id"].isna().tolist() == [True, False, False, False, True]
    assert out["cluster_id"].dropna().tolist() == ["c-zero", "c-zero", "c-one"]


def test_map_locations_without_clusters_name_none(located):
    nobody = pd.DataFrame({"place": pd.Series([], dtype=np.int64), "cluster_id": []})
    out = map_locations(located, nobody, rounding_deg=ROUNDING)
    assert len(out) == 5 and out["cluster_id"].isna().all()
