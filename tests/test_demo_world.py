"""The SYNTHETIC demo world of patents, publications and VC deals (core.demo_world).

The records are random draws around real GeoNames cities, never WIPO figures; these tests
check the generator's contract and statistical shape, not particular values, and that the
calibration to public figures (core/data/demo_calibration.csv) makes the ranking of the
demo world look like the world's: its top clusters are clusters the GII 2025 ranks high.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.demo_world import (
    DEMO_COLUMNS,
    DEMO_SOURCES,
    DEMO_YEARS,
    PATENT_FIELDS,
    PUBLICATION_FIELDS,
    demo_chunk_count,
    generate_demo_chunk,
    generate_demo_world,
    load_demo_calibration,
)
from core.gazetteer import load_cities

COLUMNS = [
    *("source", "doc_id", "year", "lat", "lon", "country", "city", "state", "address"),
    *("organization", "field", "amount"),
]
# Large enough for a few chunks and stable statistics, small enough to build in ~0.1 s.
SCALE = 0.1


@pytest.fixture(scope="module")
def cities() -> pd.DataFrame:
    return load_cities()


@pytest.fixture(scope="module")
def world(cities: pd.DataFrame) -> pd.DataFrame:
    return generate_demo_world(cities, scale=SCALE, seed=11)


@pytest.fixture(scope="module")
def docs(world: pd.DataFrame) -> pd.DataFrame:
    """One row per document: its size, number of years and countries, year and source."""
    g = world.groupby(["source", "doc_id"], sort=False)
    return pd.DataFrame(
        {
            "rows": g.size(),
            "years": g["year"].nunique(),
            "year": g["year"].first(),
            "countries": g["country"].nunique(),
        }
    ).reset_index()


def test_same_arguments_give_identical_frames(cities: pd.DataFrame) -> None:
    a = generate_demo_world(cities, scale=0.01, seed=3)
    b = generate_demo_world(cities, scale=0.01, seed=3)
    pd.testing.assert_frame_equal(a, b)
    # A different frame object with the same content must give the same world.
    pd.testing.assert_frame_equal(generate_demo_world(cities.copy(), scale=0.01, seed=3), a)


def test_different_seeds_differ(cities: pd.DataFrame) -> None:
    a = generate_demo_world(cities, scale=0.01, seed=3)
    b = generate_demo_world(cities, scale=0.01, seed=4)
    assert not a.equals(b)
    # Not just the scatter: the cities themselves change.
    assert a["city"].value_counts().head(20).index.tolist() != (
        b["city"].value_counts().head(20).index.tolist()
    )


def test_parameters_follow_city_content(cities: pd.DataFrame) -> None:
    # Caching of per-city parameters must be keyed on content: changing populations
    # changes the world even for the same seed.
    altered = cities.assign(population=cities["population"].to_numpy()[::-1])
    a = generate_demo_chunk(cities, 0, scale=0.01, seed=3)
    b = generate_demo_chunk(altered, 0, scale=0.01, seed=3)
    assert not a["city"].equals(b["city"])


def test_world_is_concatenation_of_independent_chunks(
    cities: pd.DataFrame, world: pd.DataFrame
) -> None:
    n = demo_chunk_count(scale=SCALE)
    assert n >= 2
    # Built in reverse order: a chunk must not depend on which chunks ran before it.
    chunks = [generate_demo_chunk(cities, c, scale=SCALE, seed=11) for c in reversed(range(n))]
    pd.testing.assert_frame_equal(pd.concat(chunks[::-1], ignore_index=True), world)
    for chunk in chunks:
        assert set(chunk["source"]) == set(DEMO_SOURCES)


def test_columns_and_dtypes(world: pd.DataFrame) -> None:
    assert list(world.columns) == COLUMNS == list(DEMO_COLUMNS)
    assert world["year"].dtype == np.int64
    for col in ("lat", "lon", "amount"):
        assert world[col].dtype == np.float64, col
    for col in ("source", "doc_id", "country", "city", "state", "address", "organization", "field"):
        assert world[col].dtype == object, col
    for col in ("source", "doc_id", "country"):
        assert world[col].map(type).eq(str).all(), col
    # a state only where records give one: US postal codes
    us = world["country"] == "US"
    assert world.loc[us, "state"].str.fullmatch(r"[A-Z]{2}").all()
    assert world.loc[~us, "state"].isna().all()
    located = world["lat"].notna()
    assert world.loc[located, "city"].map(type).eq(str).all()
    assert world.loc[located, "address"].isna().all()
    assert isinstance(world.index, pd.RangeIndex)
    assert world.index.equals(pd.RangeIndex(len(world)))


def test_countries_cities_and_states_come_from_the_gazetteer(
    cities: pd.DataFrame, world: pd.DataFrame
) -> None:
    state = np.where(cities["country"] == "US", cities["admin1"], None)
    known = set(zip(cities["country"], cities["name"], state, strict=True))
    located = world[world["lat"].notna()]
    seen = set(zip(located["country"], located["city"], located["state"], strict=True))
    assert seen <= known
    assert world["country"].str.fullmatch(r"[A-Z]{2}").all()


def test_coordinate_ranges_and_scatter_around_city(
    cities: pd.DataFrame, world: pd.DataFrame
) -> None:
    world = world[world["lat"].notna()]
    assert world["lat"].between(-90.0, 90.0).all()
    assert ((world["lon"] >= -180.0) & (world["lon"] < 180.0)).all()
    assert np.isfinite(world[["lat", "lon"]].to_numpy()).all()
    # Each point lies near a gazetteer city of its name (names repeat, so take the nearest).
    sample = world.sample(2000, random_state=0).reset_index(names="row")
    merged = sample.merge(
        cities.rename(columns={"name": "city", "lat": "clat", "lon": "clon"}),
        on=["country", "city"],
    )
    phi1, phi2 = np.radians(merged["lat"]), np.radians(merged["clat"])
    dlam = np.radians(merged["lon"] - merged["clon"])
    a = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    merged["km"] = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    nearest = merged.groupby("row")["km"].min()
    assert len(nearest) == len(sample)
    assert nearest.max() < 100.0  # scatter sigma is at most ~15 km
    assert nearest.median() < 15.0
    assert nearest.median() > 0.5  # points are scattered, not on the centre


def test_documents_unique_and_share_year(world: pd.DataFrame, docs: pd.DataFrame) -> None:
    assert set(world["source"]) == set(DEMO_SOURCES)
    # doc_id alone is unique across sources too (distinct prefixes), and contiguous rows.
    assert docs["doc_id"].is_unique
    first_rows = world["doc_id"].ne(world["doc_id"].shift())
    assert first_rows.sum() == len(docs)
    assert (docs["years"] == 1).all()
    assert (docs["rows"] > 1).any()
    assert (docs["rows"] == 1).any()


def test_years_within_range_with_growth(world: pd.DataFrame, docs: pd.DataFrame) -> None:
    lo, hi = DEMO_YEARS
    assert world["year"].between(lo, hi).all()
    per_year = docs["year"].value_counts()
    assert set(per_year.index) == set(range(lo, hi + 1))
    assert per_year[hi] > per_year[lo]


def test_team_sizes_per_source(docs: pd.DataFrame) -> None:
    rows = docs.groupby("source")["rows"]
    assert rows.max()["patent"] <= 10
    assert rows.max()["publication"] <= 20
    assert rows.max()["vc"] <= 3
    assert rows.mean()["vc"] < rows.mean()["patent"] < rows.mean()["publication"]
    # Mostly 1-4 inventors; mostly single-location deals.
    patents = docs.loc[docs["source"] == "patent", "rows"]
    assert (patents <= 4).mean() > 0.7
    assert (docs.loc[docs["source"] == "vc", "rows"] == 1).mean() > 0.5
    # Publications have a heavier tail of large teams than patents.
    pubs = docs.loc[docs["source"] == "publication", "rows"]
    assert (pubs >= 8).mean() > (patents >= 8).mean()


def test_document_counts_in_proportion(docs: pd.DataFrame) -> None:
    n = docs["source"].value_counts()
    assert n["vc"] < n["patent"] < n["publication"]
    assert n.sum() == pytest.approx(225_000 * SCALE, rel=0.01)


def test_rows_scale_linearly(cities: pd.DataFrame) -> None:
    small = len(generate_demo_world(cities, scale=0.01))
    double = len(generate_demo_world(cities, scale=0.02))
    assert 1000 < small < 20_000
    assert double / small == pytest.approx(2.0, rel=0.1)
    assert demo_chunk_count(scale=0.01) == 1
    assert demo_chunk_count(scale=15.0) > demo_chunk_count(scale=1.0) >= 2
    assert demo_chunk_count(scale=1e-9) == 1


def test_activity_is_heavy_tailed(cities: pd.DataFrame, world: pd.DataFrame) -> None:
    per_city = (
        world.groupby(["country", "city", "state"], dropna=False)
        .size()
        .sort_values(ascending=False)
    )
    top = int(np.ceil(0.01 * len(cities)))
    assert per_city.iloc[:top].sum() / len(world) > 0.2

    def top_share(source: str) -> float:
        rows = world[world["source"] == source]
        counts = (
            rows.groupby(["country", "city", "state"], dropna=False)
            .size()
            .sort_values(ascending=False)
        )
        return counts.iloc[:top].sum() / len(rows)

    # Publications spread out the most, VC deals concentrate the most.
    assert top_share("publication") < top_share("vc")


def test_co_inventors_mostly_domestic(world: pd.DataFrame, docs: pd.DataFrame) -> None:
    multi = docs[docs["rows"] > 1]
    international = (multi["countries"] > 1).mean()
    assert 0.0 < international < 0.5
    # Extra rows are mostly in the first row's country, often in the very same city.
    first = world.groupby(["source", "doc_id"], sort=False)[["country", "city"]].transform("first")
    extra = world["doc_id"].eq(world["doc_id"].shift())
    assert (world.loc[extra, "country"] == first.loc[extra, "country"]).mean() > 0.8
    same_city = (world.loc[extra, "city"] == first.loc[extra, "city"]).mean()
    assert 0.3 < same_city < 0.95


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_scale_raises(cities: pd.DataFrame, scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        demo_chunk_count(scale=scale)
    with pytest.raises(ValueError, match="scale"):
        generate_demo_chunk(cities, 0, scale=scale)
    with pytest.raises(ValueError, match="scale"):
        generate_demo_world(cities, scale=scale)


def test_bad_chunk_or_seed_raises(cities: pd.DataFrame) -> None:
    n = demo_chunk_count(scale=0.2)
    for chunk in (-1, n, 1.5):
        with pytest.raises(ValueError, match="chunk"):
            generate_demo_chunk(cities, chunk, scale=0.2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        generate_demo_chunk(cities, 0, scale=0.01, seed=-1)
    with pytest.raises(ValueError, match="columns"):
        generate_demo_chunk(cities.drop(columns="population"), 0, scale=0.01)


def test_a_share_of_rows_arrives_as_text_addresses(cities: pd.DataFrame, world: pd.DataFrame):
    text_only = world[world["lat"].isna()]
    assert text_only["lon"].isna().all()
    assert 0.002 < len(text_only) / len(world) < 0.01
    names = set(cities["name"])
    postal = text_only[text_only["city"].isna()]
    assert len(postal) and postal["address"].str.fullmatch(r"\d{5} .+").all()
    assert postal["address"].str.slice(6).isin(names).all()
    written = text_only["city"].dropna()
    assert written.isin(names).mean() < 1.0  # upper/lower case, no accents or typos
    assert (written.str.upper() == written).any() and (written.str.lower() == written).any()


# --------------------------------------------------------------------------------------
# Profile columns: organisation, field, amount.
# --------------------------------------------------------------------------------------


def test_organisations_are_synthetic_and_a_city_has_a_clear_leader(world: pd.DataFrame):
    names = world["organization"]
    assert names.map(type).eq(str).all()
    assert names.str.endswith(" (synthetic)").all()
    assert names.str.fullmatch(
        r"(Applicant|Institute|Investor|Startup) \d+, .+ [A-Z]{2} \(synthetic\)"
    ).all()
    patents = world[world["source"] == "patent"]
    # The applicant files the whole application: one per patent, whatever its inventors.
    assert patents.groupby("doc_id")["organization"].nunique().eq(1).all()
    # A deal's first row is its company, the others its investors.
    vc = world[world["source"] == "vc"]
    first = vc["doc_id"].ne(vc["doc_id"].shift())
    assert vc.loc[first, "organization"].str.startswith("Startup ").all()
    assert vc.loc[~first, "organization"].str.startswith("Investor ").all()
    # A few organisations per city, heavy-tailed: the first holds a clear share.
    pubs = world[world["source"] == "publication"]
    big = pubs["city"].value_counts().index[:20]
    for city in big:
        shares = pubs.loc[pubs["city"] == city, "organization"].value_counts(normalize=True)
        assert 3 <= len(shares) <= 40, city
        assert shares.iloc[0] > 0.25 and shares.iloc[0] > 1.1 * shares.iloc[1], city


def test_fields_are_ipc_symbols_subjects_or_empty(world: pd.DataFrame, docs: pd.DataFrame):
    by_source = {s: world[world["source"] == s] for s in DEMO_SOURCES}
    ipc = by_source["patent"]["field"]
    # PATSTAT's written form: subclass, main group right-aligned in four characters, subgroup.
    assert ipc.str.fullmatch(r"[A-H]\d\d[A-Z][ \d]{4}/\d{2,6}").all()
    assert (ipc.str.len() == 11).all()
    assert set(ipc) <= {code for code, _ in PATENT_FIELDS}
    assert set(by_source["publication"]["field"]) <= {name for name, _ in PUBLICATION_FIELDS}
    assert {"Medicine", "Computer Science"} <= set(by_source["publication"]["field"])
    assert by_source["vc"]["field"].isna().all()
    # One field per document.
    for source in ("patent", "publication"):
        assert by_source[source].groupby("doc_id")["field"].nunique().eq(1).all()


def test_places_differ_in_their_technology_mix(cities: pd.DataFrame) -> None:
    world = generate_demo_world(cities, scale=0.3, seed=5)
    patents = world[world["source"] == "patent"]
    top = patents["city"].value_counts().index[:6]
    mix = patents[patents["city"].isin(top)].groupby("city")["field"].value_counts(normalize=True)
    mix = mix.unstack(fill_value=0.0)
    distances = [
        0.5 * np.abs(mix.loc[a] - mix.loc[b]).sum() for i, a in enumerate(top) for b in top[i + 1 :]
    ]
    # Total variation between the mixes of large patenting cities: well above sampling noise.
    assert np.median(distances) > 0.15


def test_amounts_only_for_deals_and_heavy_tailed(world: pd.DataFrame) -> None:
    vc = world["source"] == "vc"
    assert world.loc[~vc, "amount"].isna().all()
    amount = world.loc[vc, "amount"]
    assert amount.notna().all() and (amount > 0).all()
    # Every row of a deal gives its size, as deal tables listing investors do.
    assert world[vc].groupby("doc_id")["amount"].nunique().eq(1).all()
    per_deal = world[vc].groupby("doc_id")["amount"].first()
    assert 1e6 < per_deal.median() < 1e7
    assert per_deal.mean() > 2 * per_deal.median()  # a heavy upper tail
    assert per_deal.quantile(0.99) > 50 * per_deal.median()


def test_international_co_operation_shares_are_realistic(docs: pd.DataFrame) -> None:
    # Documents with rows in two or more economies: roughly a tenth of PCT applications and
    # a fifth to a quarter of articles have foreign co-inventors or co-authors.
    international = docs.assign(intl=docs["countries"] > 1).groupby("source")["intl"].mean()
    assert 0.05 < international["patent"] < 0.18
    assert 0.12 < international["publication"] < 0.35
    assert international["vc"] < international["patent"]


# --------------------------------------------------------------------------------------
# Calibration to public figures.
# --------------------------------------------------------------------------------------


def test_calibration_table_credits_every_figure(cities: pd.DataFrame) -> None:
    table = load_demo_calibration()
    assert set(table["level"]) == {"world", "country", "hub"}
    assert set(table["source"]) >= set(DEMO_SOURCES)
    for col in ("publisher", "title", "year", "unit"):
        assert table[col].str.len().gt(0).all(), col
    assert table["year"].astype(int).between(2015, 2025).all()
    assert (table["value"] > 0).all()
    known = set(cities["country"])
    countries = table.loc[table["level"] == "country", "key"]
    assert set(countries) <= known
    hubs = table[table["level"] == "hub"]
    for _, row in hubs.iterrows():
        assert set(row["countries"].split()) <= known | {"MY"}, row["key"]
        points = [tuple(map(float, p.split())) for p in row["anchors"].split(";")]
        assert len(points) == len(row["anchor_names"].split(","))
        for lat, lon in points:
            # Each anchor is a gazetteer city of one of the hub's economies.
            near = cities[(abs(cities["lat"] - lat) < 1e-4) & (abs(cities["lon"] - lon) < 1e-4)]
            assert set(near["country"]) & set(row["countries"].split()), row["key"]


def test_national_shares_follow_the_figures(cities: pd.DataFrame) -> None:
    # A document's first row is drawn with the calibrated weights: national shares of first
    # rows match the PCT Yearly Review's shares of 2023 filings, within sampling noise.
    world = generate_demo_world(cities, scale=0.3, seed=9)
    first = world[world["doc_id"].ne(world["doc_id"].shift()) & (world["source"] == "patent")]
    share = first["country"].value_counts(normalize=True)
    for iso, filings in {"CN": 69_610, "US": 55_678, "JP": 48_879, "KR": 22_288}.items():
        assert share[iso] == pytest.approx(filings / 272_600, abs=0.02), iso


# The GII 2025 top 20 as far as public summaries verify it (searched: WIPO's "Innovation
# Cluster Ranking 2025" page and its blog "Revisiting the 2025 GII Ranking of World's Top
# 100 Innovation Clusters", 2 Oct 2025; Network of Centers, "Ranking the World's Top 100
# Innovation Clusters", 2025; AFP via SpaceDaily, 1 Sep 2025; TechJuice, 3 Sep 2025, which
# lists the top 15 in order; Kyodo via JP-Home, 2 Sep 2025; CCPIT Patent & Trademark Law
# Office via Mondaq, 24 Oct 2025). rank: (GII name, economies, how verified).
GII_2025_TOP20 = {
    1: ("Shenzhen–Hong Kong–Guangzhou", {"CN", "HK"}, "WIPO page and blog"),
    2: ("Tokyo–Yokohama", {"JP"}, "WIPO page and blog"),
    3: ("San Jose–San Francisco", {"US"}, "WIPO page and blog"),
    4: ("Beijing", {"CN"}, "WIPO page and blog; CCPIT"),
    5: ("Seoul", {"KR"}, "WIPO page and blog"),
    6: ("Shanghai–Suzhou", {"CN"}, "Network of Centers; CCPIT; TechJuice"),
    7: ("New York City", {"US"}, "Network of Centers; TechJuice"),
    8: ("London", {"GB"}, "AFP (21st to 8th); TechJuice"),
    9: ("Boston–Cambridge", {"US"}, "TechJuice only: flagged, one secondary source"),
    10: ("Los Angeles", {"US"}, "TechJuice only: flagged, one secondary source"),
    11: ("Osaka–Kobe–Kyoto", {"JP"}, "Kyodo (11th); TechJuice"),
    12: ("Paris", {"FR"}, "TechJuice only: flagged, one secondary source"),
    13: ("Hangzhou", {"CN"}, "CCPIT (13th); TechJuice"),
    14: ("San Diego", {"US"}, "TechJuice only: flagged, one secondary source"),
    15: ("Nanjing", {"CN"}, "CCPIT (15th); TechJuice"),
    16: ("Singapore", {"SG", "MY"}, "Network of Centers (16th)"),
    # 17, 19, 20: not found in any public summary searched. 18: a Chinese cluster (CCPIT's
    # list is cut off before its name), likely Wuhan: unverified, so not used.
}
# Scale 0.3 gives the same top 10 (in a slightly different order) as the default scale 1.0
# for seeds 2025 and 7, at a third of the cost.
RANKING_SCALE = 0.3


def _main_city(name: str) -> str:
    # "Boston–Cambridge, MA" -> "Boston"; "San Jose–San Francisco, CA" -> "San Jose".
    return name.split("–")[0].split(",")[0].strip()


def gii_matches(rankings: pd.DataFrame) -> list[int]:
    """GII 2025 ranks matched by the top 10 names: a demo cluster matches a GII cluster when
    its main (first) city is one the GII names the cluster after, in one of its economies."""
    matched = []
    for _, row in rankings.head(10).iterrows():
        economies = set(str(row["economies"]).split("/"))
        for rank, (name, gii_economies, _) in GII_2025_TOP20.items():
            cities = {c.strip() for c in name.split("–")}
            if _main_city(row["name"]) in cities and economies & gii_economies:
                if rank not in matched:
                    matched.append(rank)
                break
    return matched


def test_gii_matching_rule() -> None:
    rankings = pd.DataFrame(
        {
            "name": ["Tokyo–Yokohama–Machida", "Hong Kong–Shenzhen", "Boston, MA", "Cambridge"],
            "economies": ["JP", "HK/CN", "US", "GB"],
        }
    )
    assert gii_matches(rankings) == [2, 1, 9]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2025, 7])
def test_demo_ranking_looks_like_the_gii(seed: int) -> None:
    # The real ranking (clustering, overlay, naming) on the calibrated SYNTHETIC world: at
    # least 6 of its top 10 are clusters of the GII 2025 top 20.
    import dask

    from core.population import gazetteer_population_grid
    from flows.config import load_config
    from flows.inputs import ReadSettings, demo_records
    from flows.rank import rank_records

    config = load_config()
    cities = load_cities()
    checked = demo_records(
        settings=ReadSettings.from_config(config), scale=RANKING_SCALE, seed=seed
    )
    with dask.config.set(scheduler="sync"):
        ranking = rank_records(
            checked,
            config,
            cities=cities,
            population=lambda: gazetteer_population_grid(
                cities, footprint_deg=config.footprint_deg
            ),
        )
    top = ranking.rankings.head(10)
    print(f"SYNTHETIC demo top 10 (scale {RANKING_SCALE}, seed {seed}):", list(top["name"]))
    matched = gii_matches(top)
    assert len(matched) >= 6, (list(top["name"]), matched)
    # The GII's top 3 are all in the demo's top 5.
    assert {1, 2, 3} <= set(gii_matches(top.head(5)))


def test_chunks_stay_small_at_any_scale(cities: pd.DataFrame) -> None:
    # The scale benchmark writes 10M and 100M rows as many files, chunk by chunk: a chunk's
    # size does not grow with the scale.
    n = demo_chunk_count(scale=1000.0)
    assert n == pytest.approx(225_000_000 / 20_000, rel=1e-3)
    last = generate_demo_chunk(cities, n - 1, scale=1000.0, seed=1)
    middle = generate_demo_chunk(cities, n // 2, scale=1000.0, seed=1)
    assert len(middle) < 100_000 and len(last) <= len(middle)
    assert middle.memory_usage(deep=True).sum() < 80e6
    assert middle["doc_id"].is_unique is False and middle["doc_id"].str.len().eq(10).all()
    small = generate_demo_world(cities, scale=0.01, seed=1)
    assert set(small["source"]) == set(DEMO_SOURCES)
