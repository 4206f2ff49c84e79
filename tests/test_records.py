"""Record validation, fractional weights and footprint overlay as plain-array kernels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.overlay import footprint_cells
from core.population import cell_index
from core.records import (
    METHOD_DTYPE,
    WEIGHT_SCALE,
    _country_codes,
    aggregate_locations,
    coordinates_missing,
    document_stats,
    fractional_weights,
    geocoded_table,
    keyed_rows,
    pack_locations,
    place_rows,
    sorted_stats,
    unpack_locations,
    validate_records,
    window_locations,
)
from core.regions import known_economies

COUNTRIES = known_economies()


def check(frame: pd.DataFrame, rounding_deg: float = 0.01) -> pd.DataFrame:
    frame = frame.assign(file="f.csv", row=np.arange(len(frame)))
    return validate_records(frame, rounding_deg=rounding_deg, known_countries=COUNTRIES)


def test_each_bad_row_gets_the_first_failing_reason_and_its_value():
    text = pd.DataFrame(
        {
            "source": ["patent", "Patent ", "robot", "vc", "vc", "vc", "vc", "vc", "vc"],
            "doc_id": ["a", "b", "c", " ", "e", "f", "g", "h", "i"],
            "year": ["2020", "2021", "2020", "2020", "20.5", "2020", "2020", "2020", "2020"],
            "lat": ["1", "2", "1", "1", "1", "", "95", "1", "1"],
            "lon": ["1", "2", "1", "1", "1", "1", "1", "1", "1"],
            "country": ["NA", "fr", "FR", "FR", "FR", "FR", "FR", "", "QQ"],
        }
    )
    checked = check(text)
    assert list(checked["reason"]) == [
        "",
        "",
        "bad source",
        "empty doc_id",
        "bad year",
        "not geocoded",
        "bad coordinates",
        "missing country",
        "bad country",
    ]
    assert list(checked["value"])[2:5] == ["robot", " ", "20.5"]
    assert checked["country"].iloc[0] == "NA"  # Namibia, not a missing value
    assert checked["source"].iloc[1] == "patent" and checked["country"].iloc[1] == "FR"


def test_missing_coordinate_words_mean_geocode_this_row_in_any_dtype():
    words = ["", " ", "NA", "na", "NaN", "NULL", "null", "None", "#N/A", "N/A", "nan", None]
    text = pd.DataFrame({"lat": words + ["12.5", " 12.5 ", "abc"], "lon": ["1"] * 15})
    assert coordinates_missing(text).tolist() == [True] * 12 + [False] * 3
    typed = pd.DataFrame({"lat": [1.0, np.nan, None], "lon": [np.nan, 2.0, 3.0]})
    assert coordinates_missing(typed).tolist() == [True, True, True]
    assert coordinates_missing(pd.DataFrame({"city": ["Paris"]})).tolist() == [True]
    mixed = pd.DataFrame({"lat": pd.Series([1.5, "NULL", "x"], dtype=object), "lon": [1, 2, 3]})
    assert coordinates_missing(mixed).tolist() == [False, True, False]


def test_rows_without_coordinate_columns_are_rejected_with_reasons_not_a_crash():
    frame = pd.DataFrame(
        {"source": ["vc", "vc", "robot"], "doc_id": ["a", "b", "c"], "year": ["2020"] * 3}
    ).assign(country=["FR", "", "FR"], city=["Atlantis", "", ""])
    checked = check(frame)
    assert list(checked["reason"]) == ["not geocoded", "missing country", "bad source"]
    assert list(checked["value"])[:2] == ["Atlantis, FR", ""]
    assert checked["lat"].isna().all()


cell_text = st.one_of(
    st.none(),
    st.sampled_from(["patent", " VC", "Publication ", "fr", " us ", "NA", "", "xx", "Ü"]),
    st.text(max_size=4),
    st.integers(-5, 5),
)


# Country cells: codes, names and words with the ISO code they stand for, and text that
# names no country (digits and punctuation cannot spell one).
COUNTRY_FORMS = {
    "fra": "FR",
    "France": "FR",
    " Peoples R China ": "CN",
    "USA": "US",
    "United Kingdom": "GB",
    "England": "GB",
    "deu": "DE",
}
country_cell = st.one_of(
    st.none(),
    st.sampled_from(["fr", " us ", "NA", "", "xx", "Ü", *COUNTRY_FORMS]),
    st.text(alphabet="0123456789 -_.#", max_size=4),
    st.integers(-5, 5),
)


@given(st.lists(st.tuples(cell_text, country_cell), min_size=1, max_size=40))
def test_sources_and_countries_normalise_like_row_by_row_text(cells):
    # Reference, one row at a time: missing is empty, else stripped text, in the right case.
    def text(value: object) -> str:
        return "" if value is None else str(value).strip()

    frame = pd.DataFrame(
        {
            "source": pd.Series([c[0] for c in cells], dtype=object),
            "doc_id": "d",
            "year": 2020,
            "lat": 1.0,
            "lon": 1.0,
            "country": pd.Series([c[1] for c in cells], dtype=object),
        }
    )
    checked = check(frame)
    sources = [text(c[0]).lower() for c in cells]
    countries = [COUNTRY_FORMS.get(c[1], text(c[1]).upper()) for c in cells]
    expected = [
        "bad source"
        if s not in ("patent", "publication", "vc")
        else "missing country"
        if not c
        else "bad country"
        if c not in COUNTRIES
        else ""
        for s, c in zip(sources, countries, strict=True)
    ]
    assert list(checked["reason"]) == expected
    assert list(checked["country"]) == countries
    good = checked["reason"] != "bad source"
    assert list(checked["source"][good]) == [
        s for s, e in zip(sources, expected, strict=True) if e != "bad source"
    ]


def test_weight_column_is_used_and_checked():
    frame = pd.DataFrame(
        {
            "source": "patent",
            "doc_id": ["a", "b", "c"],
            "year": 2020,
            "lat": 1.0,
            "lon": 1.0,
            "country": "FR",
            "weight": [0.25, -1.0, np.nan],
        }
    )
    checked = check(frame)
    assert list(checked["reason"]) == ["", "bad weight", "bad weight"]
    weighted = fractional_weights(keyed_rows(checked, rounding_deg=0.01))
    assert weighted["w"].iloc[0] == WEIGHT_SCALE // 4


def test_antimeridian_rounds_to_one_meridian():
    frame = pd.DataFrame(
        {
            "source": "vc",
            "doc_id": ["a", "b"],
            "year": 2020,
            "lat": 0.0,
            "lon": [180.0, -180.0],
            "country": "FJ",
        }
    )
    checked = check(frame)
    assert checked["ilon"].nunique() == 1


documents = st.lists(
    st.tuples(
        st.integers(0, 30),  # document number
        st.integers(-3, 3),  # latitude step
        st.integers(-3, 3),  # longitude step
        st.integers(2018, 2024),
        st.booleans(),  # row usable?
    ),
    min_size=1,
    max_size=60,
)


@given(documents, st.randoms(use_true_random=False))
def test_weights_split_each_document_and_sums_do_not_depend_on_order(rows, rnd):
    frame = pd.DataFrame(
        {
            "source": "publication",
            "doc_id": [f"d{d}" for d, *_ in rows],
            "year": [y for *_, y, _ in rows],
            "lat": [0.01 * a for _, a, *_ in rows],
            "lon": [0.01 * b for _, _, b, *_ in rows],
            "country": ["DE" if ok else "" for *_, ok in rows],
        }
    )
    weighted = fractional_weights(keyed_rows(check(frame), rounding_deg=0.01))
    n_rows = frame.groupby("doc_id")["doc_id"].transform("size").to_numpy()
    assert np.all(np.abs(weighted["w"].to_numpy() - WEIGHT_SCALE / n_rows) <= 0.5)
    earliest = frame.groupby("doc_id")["year"].transform("min").to_numpy()
    assert np.array_equal(weighted["year"].to_numpy(), earliest)
    located = aggregate_locations(weighted)
    assert located["w"].sum() == weighted.loc[weighted["valid"], "w"].sum()
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 2**31))
    again = aggregate_locations(fractional_weights(keyed_rows(check(shuffled), rounding_deg=0.01)))
    pd.testing.assert_frame_equal(
        located.sort_values("key", ignore_index=True), again.sort_values("key", ignore_index=True)
    )
    expanded = window_locations(located, start_year=2018, end_year=2024, rounding_deg=0.01)
    usable = frame[frame["country"] != ""]
    assert set(zip(expanded["ilat"], expanded["ilon"], strict=True)) == {
        (round(a * 100), round(b * 100)) for a, b in zip(usable["lat"], usable["lon"], strict=True)
    }
    assert set(expanded["country"]) <= {"DE"} and set(expanded["source"]) <= {"publication"}


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(-9000, 9000),
            st.integers(-18000, 17999),
            st.sampled_from(["US", "ZZ", "AA", "", "abc", "NA"]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([0.01, 0.001, 0.0001]),
)
def test_packed_locations_round_trip(rows, rounding_deg):
    scale = round(0.01 / rounding_deg)
    source = np.array([r[0] for r in rows])
    ilat = np.array([r[1] for r in rows]) * scale
    ilon = np.array([r[2] for r in rows]) * scale
    country = pd.Series([r[3] for r in rows], dtype="str")
    packed = pack_locations(source, ilat, ilon, _country_codes(country), rounding_deg=rounding_deg)
    back = unpack_locations(packed, rounding_deg=rounding_deg)
    assert list(back["source"].cat.codes) == list(source)
    assert np.array_equal(back["ilat"], ilat) and np.array_equal(back["ilon"], ilon)
    expected = [c if len(c) == 2 and c.isupper() else "" for c in country]
    assert list(back["country"]) == expected


@given(
    st.lists(
        st.tuples(st.integers(-9000, 9000), st.integers(-18000, 17999)), min_size=1, max_size=50
    )
)
def test_integer_footprint_cells_agree_with_the_population_grid(points):
    ilat = np.array([p[0] for p in points])
    ilon = np.array([p[1] for p in points])
    i, j = footprint_cells(ilat, ilon, rounding_deg=0.01, footprint_deg=0.05)
    # Cell centres of the integer cells must map back to the same cells in float arithmetic.
    ci, cj = cell_index(-90 + (i + 0.5) * 0.05, -180 + (j + 0.5) * 0.05, footprint_deg=0.05)
    assert np.array_equal(i, ci) and np.array_equal(j, cj)
    inside_lat = (-90 + i * 0.05 <= ilat * 0.01 + 1e-9) & (
        ilat * 0.01 <= -90 + (i + 1) * 0.05 + 1e-9
    )
    inside_lon = (-180 + j * 0.05 <= ilon * 0.01 + 1e-9) & (ilon * 0.01 < -180 + (j + 1) * 0.05)
    assert inside_lat.all() and inside_lon.all()


def fake_geocoder(places: pd.DataFrame) -> pd.DataFrame:
    """Places "Lyon" at (45.76, 4.84) in FR; anything else stays unplaced."""
    lyon = places["city"].eq("Lyon").to_numpy()
    return pd.DataFrame(
        {
            "lat": np.where(lyon, 45.76, np.nan),
            "lon": np.where(lyon, 4.84, np.nan),
            "geocode_method": np.where(lyon, "exact", "unmatched"),
            "geocode_score": np.where(lyon, 1.0, np.nan),
            "country": np.where(lyon, "fr", ""),
        }
    )


def test_place_rows_keeps_given_coordinates_and_geocodes_only_eligible_missing_ones():
    raw = pd.DataFrame(
        {
            "lat": ["10.5", "", "NA", "x", ""],
            "lon": ["20", "", "", "1", ""],
            "city": ["Paris", "Lyon", "Lyon", "Lyon", "Atlantis"],
        }
    )
    calls: list[int] = []

    def geocoder(places: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(places))
        return fake_geocoder(places)

    eligible = np.array([True, True, False, True, True])
    placed = place_rows(raw, geocoder=geocoder, eligible=eligible)
    assert calls == [2]  # rows 1 and 4: missing and eligible; row 2 is not eligible
    assert placed.lat[0] == 10.5 and placed.lat[1] == 45.76 and np.isnan(placed.lat[2])
    assert np.isnan(placed.lat[3])  # "x" is a bad coordinate, not one to geocode
    assert placed.missing.tolist() == [False, False, True, False, True]
    assert placed.country.tolist() == ["", "FR", "", "", ""]
    methods = pd.Categorical.from_codes(placed.method, dtype=METHOD_DTYPE).astype(str)
    assert methods.tolist() == ["given", "exact", "", "given", "unmatched"]


def test_geocoded_table_fills_coordinates_methods_and_countries():
    raw = pd.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d"],
            "lat": ["1", "", "north", ""],
            "lon": ["2", "", "3", ""],
            "city": ["x", "Lyon", "y", "Atlantis"],
            "country": ["DE", "", "DE", "ES"],
        }
    )
    table, geocoded, unreadable = geocoded_table(raw, fake_geocoder)
    assert geocoded.tolist() == [False, True, False, True]
    assert unreadable.tolist() == [False, False, True, False]
    assert table["geocode_method"].tolist() == ["given", "exact", "", "unmatched"]
    assert table["lat"].iloc[1] == 45.76 and np.isnan(table["lat"].iloc[2])
    # The geocoder's economy fills the row it placed; others keep what they had.
    assert table["country"].tolist() == ["DE", "FR", "DE", "ES"]
    assert table["doc_id"].tolist() == ["a", "b", "c", "d"]


def test_sorted_stats_order_sources_as_the_table_of_sources():
    stats = pd.DataFrame({"source": ["vc", "patent", "vc", "publication"], "year": [1, 2, 0, 0]})
    out = sorted_stats(stats)
    assert list(zip(out["source"].astype(str), out["year"], strict=True)) == [
        ("patent", 2),
        ("publication", 0),
        ("vc", 0),
        ("vc", 1),
    ]


def weighted(export: list[int], weight: list[float], doc: list[int] | None = None) -> pd.DataFrame:
    doc = doc or [7] * len(export)
    rows = pd.DataFrame(
        {
            "doc_a": np.array(doc, np.int64),
            "doc_b": np.array(doc, np.int64),
            "year": np.int32(2021),
            "loc": np.arange(len(export), dtype=np.int64),
            "weight": weight,
            "valid": True,
            "export": np.array(export, np.int64),
        }
    )
    return fractional_weights(rows)


def test_a_document_in_two_source_exports_counts_once_from_the_first():
    # Export 1 holds the work's three institutions (1/3 each); export 2 holds it again.
    out = weighted([2, 1, 1, 2, 1, 2], [1 / 3] * 6)
    assert out["duplicate"].tolist() == [True, False, False, True, False, True]
    assert out["w"].sum() == pytest.approx(WEIGHT_SCALE, abs=2)
    assert out.loc[out["duplicate"], "w"].eq(0).all()
    assert not out.loc[out["duplicate"], "valid"].any()  # not counted, not rejected
    stats = document_stats(out, rounding_deg=0.01)
    assert stats["docs"].sum() == 1 and stats["docs_duplicate"].sum() == 1
    assert stats["rows_duplicate"].sum() == 3 and stats["rows_lost"].sum() == 0


def test_rows_of_record_tables_in_several_files_all_count():
    # export 0: our record contract, where a document may be split over files on purpose.
    out = weighted([0, 0, 0], [np.nan] * 3)
    assert not out["duplicate"].any()
    assert out["w"].tolist() == [round(WEIGHT_SCALE / 3)] * 3
    # Two documents, one export each: nothing is a duplicate.
    other = weighted([1, 2], [1.0, 1.0], doc=[1, 2])
    assert not other["duplicate"].any() and other["w"].tolist() == [WEIGHT_SCALE] * 2


def test_a_readers_own_reason_rejects_the_row_without_geocoding_it():
    calls: list[int] = []

    def geocoder(places: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(places))
        return fake_geocoder(places)

    raw = pd.DataFrame(
        {
            "source": "publication",
            "doc_id": "W1",
            "year": 2022,
            "city": ["Lyon", None],
            "weight": [0.5, 0.5],
            "no_address": [None, "authorship without institution"],
            "file": "works.jsonl",
            "row": [0, 0],
        }
    )
    out = validate_records(raw, rounding_deg=0.01, known_countries=COUNTRIES, geocoder=geocoder)
    assert out["reason"].astype(str).tolist() == ["", "no address"]
    assert out["value"].tolist() == ["", "authorship without institution"]
    assert calls == [1]  # only the placeable row was geocoded
