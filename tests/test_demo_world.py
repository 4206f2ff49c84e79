"""The SYNTHETIC demo world of patents, publications and VC deals (core.demo_world).

The records are random draws around real GeoNames cities, never WIPO figures; these tests
check the generator's contract and statistical shape, not particular values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.demo_world import (
    DEMO_SOURCES,
    DEMO_YEARS,
    demo_chunk_count,
    generate_demo_chunk,
    generate_demo_world,
)
from core.gazetteer import load_cities

COLUMNS = ["source", "doc_id", "year", "lat", "lon", "country", "city", "state", "address"]
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
    assert list(world.columns) == COLUMNS
    assert world["year"].dtype == np.int64
    assert world["lat"].dtype == np.float64
    assert world["lon"].dtype == np.float64
    for col in ("source", "doc_id", "country", "city", "state", "address"):
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
