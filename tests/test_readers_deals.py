"""The deals reader: Crunchbase-like tables through a mapping, on fixtures in tests/data/deals.

Expected values are read off the fixtures by hand (see tests/data/deals/README.md).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from core.readers import READER_COLUMNS
from core.readers.deals import FORMAT, NO_ADDRESS, SOURCE, parse, parse_mapping
from core.records import NO_YEAR, validate_records
from core.regions import known_economies

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "deals"
EXAMPLE = yaml.safe_load((ROOT / "deploy" / "deals-mapping-example.yaml").read_text("utf-8"))

ROUND_IDS = [
    "a6dd0dd6-b0bb-1be9-adf7-50abc6317d92",  # GuestDriven
    "1637e281-e23d-cca8-0552-1c5588360bf2",  # Rethink Robotics
    "c28750eb-05ca-7113-1986-98e242c69063",  # Prestiamoci
    "ff4435b0-a127-38e0-bb1e-d326fc37abb9",  # Trustev
    "9623b3b2-9e62-7366-59e3-ed5943fbd69f",  # Nextdoor
    "c90eb8d3-27cf-6ddf-912d-0e85a86c9c2d",  # PeopleMatter
    "3b68168b-df5c-0711-31f8-386dabdedfe2",  # Komli Media
    "57584691-1913-5e00-da5a-eaac78718406",  # iMoney Group
    "26bb295b-60dd-5e50-104c-d80119dc1647",  # MariaDB
    "a87096ad-5b09-5a61-eb2a-33ee291e931d",  # Outbrain
    "4a5c5a85-f9ff-5efd-1480-e14faed088c5",  # Inventorum
    "25c2a253-dc94-b270-a2e6-b4ab362af931",  # Chukong Technologies
    "77b4dd4f-5831-2197-1d16-7cc03d1d6e6b",  # Data Elite
    "c9d161d2-8b5e-2cf5-e4b2-3dcc294d0b7f",  # Viridis Learning
    "6cbe794b-9ce3-b49e-a228-1e6cfcafa694",  # Wilocity
]
INVESTMENTS = {
    "id": ["company_permalink", "funding_round_type", "funded_at"],
    "date": "funded_at",
    "city": "investor_city",
    "state": "investor_state_code",
    "country": "investor_country_code",
    "organization": "company_name",
    "amount": "raised_amount_usd",
}
INVESTOR_HQ = {
    "id": "deal_id",
    "date": "announced",
    "city": "investor_cities",
    "state": "investor_states",
    "country": "investor_countries",
    "organization": "company",
    "amount": "money_raised",
    "multi_valued": {
        "investor_cities": "; ",
        "investor_states": "; ",
        "investor_countries": "; ",
    },
}


def read(name: str, mapping: dict) -> pd.DataFrame:
    return parse((DATA / name).read_bytes(), file=name, options={"mapping": mapping})


def text(values: pd.Series) -> list:
    """Values as a list, missing ones as None (whatever missing marker pandas uses)."""
    return [None if pd.isna(v) else v for v in values]


def weight_sums(frame: pd.DataFrame) -> dict:
    return frame.groupby("doc_id")["weight"].sum().round(12).to_dict()


def test_module_names_its_format_and_source():
    assert FORMAT == "deals" and SOURCE == "vc"


def test_crunchbase_rounds_through_the_example_mapping():
    out = read("funding_rounds.csv", EXAMPLE)
    assert list(out.columns) == list(READER_COLUMNS)
    assert list(out["doc_id"]) == ROUND_IDS  # the BOM did not hide the "uuid" column
    assert (out["source"] == "vc").all() and (out["year"] == 2013).all()
    assert out["weight"].tolist() == [1.0] * 15 and out["row"].tolist() == list(range(15))
    # ISO-3 codes as given (core.records normalises them), accents intact.
    assert text(out["country"])[:3] == ["CAN", "USA", "ITA"]
    assert text(out["city"])[:3] == ["Montréal", "Boston", "Milano"]
    assert text(out["state"])[:3] == ["QC", "MA", None]
    # The quoted comma in PeopleMatter's region shifted no column.
    assert out.loc[5, ["city", "state", "country"]].tolist() == ["Charleston", "SC", "USA"]
    assert out.loc[5, "amount"] == 16_000_000
    # raised_amount_usd, not the amount in euros.
    assert out.loc[2, "amount"] == 707_630 and out.loc[1, "amount"] == 11_500_002
    assert np.isnan(out.loc[10, "amount"])  # Inventorum: undisclosed
    assert text(out["organization"])[8:10] == ["MariaDB", "Outbrain"]
    assert pd.isna(out.loc[0, "address"]) and np.isnan(out["lat"]).all()
    assert "currency" not in out


def test_excel_errors_and_empty_cities_mean_no_value():
    out = read("funding_rounds.csv", EXAMPLE)
    # Viridis Learning: city "#NAME?" → no city, its state and country stay.
    assert text(out.loc[13, ["city", "state", "country"]]) == [None, "NY", "USA"]
    # Inventorum: empty city, a country only: placed (at country level), not no_address.
    assert text(out.loc[10, ["city", "country", "no_address"]]) == [None, "DEU", None]


def test_rounds_without_any_place_keep_deal_year_and_weight():
    out = read("funding_rounds.csv", EXAMPLE)
    no_place = out[out["no_address"].notna()]
    assert no_place["doc_id"].tolist() == ["77b4dd4f-5831-2197-1d16-7cc03d1d6e6b"]  # Data Elite
    row = no_place.iloc[0]
    assert row["no_address"] == NO_ADDRESS and row["year"] == 2013 and row["weight"] == 1.0
    assert all(pd.isna(row[c]) for c in ("city", "state", "country", "address"))
    assert row["organization"] == "Data Elite"


def test_amount_as_raised_keeps_its_currency_column():
    mapping = {**EXAMPLE, "amount": "raised_amount", "currency": "raised_amount_currency_code"}
    out = read("funding_rounds.csv", mapping)
    assert list(out.columns) == [*READER_COLUMNS, "currency"]
    assert out.loc[2, ["amount", "currency"]].tolist() == [550_000, "EUR"]  # Prestiamoci
    assert out.loc[0, ["amount", "currency"]].tolist() == [3_000_000, "USD"]
    assert pd.isna(out.loc[10, "currency"])


def test_one_row_per_deal_and_investor_with_a_composite_id():
    out = read("crunchbase_investments.csv", INVESTMENTS)  # bare \r line endings
    assert len(out) == 16 and out["row"].tolist() == list(range(16))
    assert out["doc_id"].iloc[0] == "/company/toviefor|angel|2010-04-01"
    # Fisker's two rounds are two deals; Row44's round, listed twice, is one.
    assert out["doc_id"].iloc[3] == "/company/fisker|series-a|2010-05-01"
    assert out["doc_id"].iloc[4] == "/company/fisker|venture|2011-02-22"
    assert out["doc_id"].nunique() == 15
    assert out["weight"].iloc[11:13].tolist() == [0.5, 0.5]
    assert set(weight_sums(out).values()) == {1.0}
    assert out["year"].tolist()[:5] == [2010, 2012, 2012, 2010, 2011]
    # Investors Crunchbase has no location for (region "unknown", no country).
    assert out.index[out["no_address"].notna()].tolist() == [0, 2, 10, 11, 12, 15]
    assert text(out.loc[7, ["city", "country"]]) == ["Chiyoda-ku, Tokyo", "JPN"]
    # AA Investments: a country only ("Bermuda - Other"), and no amount.
    assert text(out.loc[5, ["city", "country"]]) == [None, "BMU"] and np.isnan(out.loc[5, "amount"])
    assert out.loc[6, ["organization", "amount"]].tolist() == ["Trilliant", 106_000_000]


def test_a_year_column_dates_deals_like_their_date():
    mapping = {k: v for k, v in INVESTMENTS.items() if k != "date"} | {"year": "funded_year"}
    by_year = read("crunchbase_investments.csv", mapping)
    by_date = read("crunchbase_investments.csv", INVESTMENTS)
    assert by_year["year"].tolist() == by_date["year"].tolist()
    assert by_year["year"].tolist()[-4:] == [2012, 2013, 2010, 2011]


def test_multi_valued_investor_cities_split_the_deal():
    out = read("investor_hq.csv", INVESTOR_HQ)
    assert out["row"].tolist() == [0, 0, 1, 1, 1, 2, 3, 3, 3, 4, 5]
    highfive = out[out["organization"] == "Highfive"]
    assert highfive["city"].tolist() == ["Menlo Park", "Mountain View", "Cambridge"]
    assert highfive["state"].tolist() == ["CA", "CA", "MA"]
    assert highfive["country"].tolist() == ["USA"] * 3  # one country for all three
    assert highfive["weight"].round(12).tolist() == [0.333333333333] * 3
    # Outbrain: one investor abroad (Index Ventures, Geneva), one in the US.
    outbrain = out[out["organization"] == "Outbrain"]
    assert text(outbrain["city"]) == ["Geneva", "Menlo Park"]
    assert text(outbrain["state"]) == [None, "CA"]
    assert text(outbrain["country"]) == ["CHE", "USA"] and outbrain["weight"].tolist() == [0.5] * 2
    # Frontback: Susa Ventures' location is unknown: its third goes out without a place.
    frontback = out[out["organization"] == "Frontback"]
    assert text(frontback["city"]) == ["Geneva", "San Francisco", None]
    assert text(frontback["no_address"]) == [None, None, NO_ADDRESS]
    assert frontback["weight"].round(12).tolist() == [0.333333333333] * 3
    # Data Elite's investors are people without a location: one row, no place.
    assert text(out.loc[out["organization"] == "Data Elite", "no_address"]) == [NO_ADDRESS]
    assert set(weight_sums(out).values()) == {1.0}
    # Dates as "Oct 22, 2013", "10/24/2013" and ISO; amounts as "$9.4M", "19,000,000"…
    assert (out["year"] == 2013).all()
    assert out.groupby("row")["amount"].first().tolist()[:5] == [35e6, 9.4e6, 19e6, 3e6, 3e6]
    assert np.isnan(out["amount"].iloc[-1])


def test_rows_of_a_deal_share_it_and_values_of_a_row_share_the_row():
    table = (
        "deal,date,cities\n"
        "d1,2020-03-01,Boston; Paris\n"
        "d1,2020-03-01,Berlin\n"
        "d2,2021-07-15,Lyon; Lyon; Nice; Nantes\n"
    )
    mapping = {"id": "deal", "date": "date", "city": "cities", "multi_valued": {"cities": ";"}}
    out = parse(table.encode(), file="t.csv", options={"mapping": mapping})
    assert out["city"].tolist() == ["Boston", "Paris", "Berlin", "Lyon", "Lyon", "Nice", "Nantes"]
    assert out["weight"].tolist() == [0.25, 0.25, 0.5, 0.25, 0.25, 0.25, 0.25]
    assert out["row"].tolist() == [0, 0, 1, 2, 2, 2, 2]
    assert out["year"].tolist() == [2020] * 3 + [2021] * 4


def test_the_same_deal_in_two_files_keeps_its_id():
    rounds = read("funding_rounds.csv", EXAMPLE)
    investors = read("investor_hq.csv", INVESTOR_HQ)
    shared = set(rounds["doc_id"]) & set(investors["doc_id"])
    assert shared == {
        "a87096ad-5b09-5a61-eb2a-33ee291e931d",  # Outbrain
        "ff4435b0-a127-38e0-bb1e-d326fc37abb9",  # Trustev
        "77b4dd4f-5831-2197-1d16-7cc03d1d6e6b",  # Data Elite
    }


def test_parquet_with_typed_columns_reads_like_the_csv():
    csv_out = read("funding_rounds.csv", EXAMPLE)
    frame = pd.read_csv(DATA / "funding_rounds.csv", encoding="utf-8-sig", keep_default_na=False)
    frame = frame.assign(
        announced_on=pd.to_datetime(frame["announced_on"]),
        raised_amount_usd=pd.to_numeric(frame["raised_amount_usd"]),  # float, NaN when empty
        investor_count=frame["investor_count"].astype("int64"),
    )
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    data = buffer.getvalue()
    assert data[:4] == b"PAR1"
    out = parse(data, file="funding_rounds.parquet", options={"mapping": EXAMPLE})
    for column in ("doc_id", "year", "weight", "row", "city", "country", "organization"):
        assert text(out[column]) == text(csv_out[column]), column
    np.testing.assert_array_equal(out["amount"], csv_out["amount"])
    # An integer year column and integer ids (no "123.0").
    typed = pa.table({"deal": pa.array([7, None, 9], pa.int64()), "yr": [2019, 2020, 2021]})
    buffer = io.BytesIO()
    pq.write_table(typed.append_column("city", pa.array(["Oslo", "", None])), buffer)
    mapping = {"id": "deal", "year": "yr", "city": "city"}
    out = parse(buffer.getvalue(), file="t.parquet", options={"mapping": mapping})
    assert out["doc_id"].tolist() == ["7", "", "9"] and out["year"].tolist() == [2019, 2020, 2021]
    assert text(out["no_address"]) == [None, NO_ADDRESS, NO_ADDRESS]


def test_coordinates_place_a_row_without_text():
    table = "id;when;lat;lng;town\nx1;2019;59.91;10.75;\nx2;2019;;;\nx3;1750;NA;NA;Bergen\n"
    mapping = {"id": "id", "year": "when", "latitude": "lat", "longitude": "lng", "city": "town"}
    out = parse(table.encode(), file="t.csv", options={"mapping": mapping | {"delimiter": ";"}})
    assert out["lat"].tolist()[0] == 59.91 and out["lon"].tolist()[0] == 10.75
    assert text(out["no_address"]) == [None, NO_ADDRESS, None]
    assert out["year"].tolist() == [2019, 2019, NO_YEAR]  # 1750: out of range, rejected later


def test_validate_records_accepts_the_output():
    rounds = read("funding_rounds.csv", EXAMPLE)
    placed = parse(
        b"id,year,lat,lon\np1,2020,48.85,2.35\n",
        file="p.csv",
        options={"mapping": {"id": "id", "year": "year", "latitude": "lat", "longitude": "lon"}},
    ).assign(country="FR")
    frame = pd.concat([rounds, placed], ignore_index=True).assign(file="deals.csv")
    checked = validate_records(frame, rounding_deg=0.01, known_countries=known_economies())
    reasons = checked["reason"].astype(str).tolist()
    assert reasons[-1] == ""  # given coordinates: usable
    assert reasons[12] == "no address"  # Data Elite
    assert set(reasons[:12] + reasons[13:15]) == {"not geocoded"}  # text only, no geocoder
    assert checked["source"].astype(str).eq("vc").all()
    assert checked["doc_id"].tolist()[:3] == ROUND_IDS[:3]
    assert checked["year"].iloc[0] == 2013 and checked["weight"].iloc[0] == 1.0


def test_fixture_places_geocode_into_their_countries():
    from core.geocoding import geocode
    from flows.gazetteer_cache import gazetteer_index

    rounds = read("funding_rounds.csv", EXAMPLE)
    picked = rounds.iloc[[0, 2, 8, 14]]  # Montréal QC CAN, Milano ITA, Espoo FIN, Caesarea ISR
    found = geocode(
        picked[["city", "state", "country"]].reset_index(drop=True), index=gazetteer_index()
    )
    # Each city's centre to within 0.2°, looked up by hand.
    expected = [(45.50, -73.57), (45.46, 9.19), (60.21, 24.66), (32.50, 34.89)]
    np.testing.assert_allclose(found[["lat", "lon"]].to_numpy(), expected, atol=0.2)
    # Investors' places without their country: the geocoder finds it.
    zurich_tokyo_nuremberg = read("crunchbase_investments.csv", INVESTMENTS)["city"].iloc[
        [6, 7, 14]
    ]
    geneva = read("investor_hq.csv", INVESTOR_HQ)["city"].iloc[[0]]
    investors = pd.DataFrame({"city": [*zurich_tokyo_nuremberg, *geneva]})
    found = geocode(investors, index=gazetteer_index())
    assert found["city"].tolist() == ["Zurich", "Chiyoda-ku, Tokyo", "Nuremberg", "Geneva"]
    assert found["country"].tolist() == ["CH", "JP", "DE", "CH"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (None, "deals need option 'mapping'"),
        ({"id": "uuid", "date": "announced_on", "funded": "x"}, "mapping has unknown key 'funded'"),
        ({"date": "announced_on"}, "mapping lacks 'id'"),
        ({"id": [], "date": "announced_on"}, "mapping key 'id' names no column"),
        ({"id": "uuid"}, "mapping needs exactly one of 'date' and 'year'"),
        (
            {"id": "uuid", "date": "a", "year": "b"},
            "mapping needs exactly one of 'date' and 'year'",
        ),
        ({"id": "uuid", "date": 3}, "mapping key 'date' must name a column, not 3"),
        (
            {"id": "uuid", "date": "d", "latitude": "lat"},
            "mapping has 'latitude' without 'longitude'",
        ),
        (
            {"id": "uuid", "date": "d", "city": "c", "multi_valued": {"d": ";"}},
            "multi_valued names column 'd', not a place column of the mapping",
        ),
        (
            {"id": "u", "date": "d", "delimiter": ";;"},
            "mapping key 'delimiter' must be one character",
        ),
    ],
)
def test_bad_mappings_name_the_key(mapping, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_mapping(mapping)


def test_a_mapped_column_missing_from_the_table_is_named():
    mapping = {**EXAMPLE, "date": "funded_at"}
    message = "mapping names column 'funded_at', which the table lacks"
    with pytest.raises(ValueError, match=f"^{message}$"):
        read("funding_rounds.csv", mapping)
    buffer = io.BytesIO()
    pq.write_table(pa.table({"uuid": ["a"]}), buffer)
    with pytest.raises(ValueError, match="^mapping names column 'announced_on', which"):
        parse(buffer.getvalue(), file="t.parquet", options={"mapping": EXAMPLE})


def test_bad_files_name_their_first_bad_line():
    good = (DATA / "funding_rounds.csv").read_bytes()
    lines = good.split(b"\r\n")
    # Line 6 (PeopleMatter) gets one field too many.
    ragged = b"\r\n".join([*lines[:5], lines[5] + b",extra", *lines[6:]])
    with pytest.raises(ValueError, match="^line 6: 25 fields, the header has 24$"):
        parse(ragged, file="f.csv", options={"mapping": EXAMPLE})
    # A quoted line break before it: line numbers count lines, not records.
    wrapped = ragged.replace(b"Series A - GuestDriven", b'"Series A -\r\nGuestDriven"', 1)
    with pytest.raises(ValueError, match="^line 7: 25 fields, the header has 24$"):
        parse(wrapped, file="f.csv", options={"mapping": EXAMPLE})
    unclosed = good.replace(b"Series D - Wilocity", b'"Series D - Wilocity', 1)
    with pytest.raises(ValueError, match="^line 16: quoted field never closed$"):
        parse(unclosed, file="f.csv", options={"mapping": EXAMPLE})
    latin1 = "deal,date,city\nd1,2020,Zurich\nd2,2020,Z\u00fcrich\n".encode("latin-1")
    with pytest.raises(ValueError, match="^line 3: not UTF-8 text"):
        parse(latin1, file="f.csv", options={"mapping": {"id": "deal", "year": "date"}})
    with pytest.raises(ValueError, match="^line 1: empty file"):
        parse(b"\xef\xbb\xbf\r\n", file="f.csv", options={"mapping": EXAMPLE})
    with pytest.raises(ValueError, match="^not a Parquet file"):
        parse(b"PAR1 not really", file="f.parquet", options={"mapping": EXAMPLE})


def test_a_date_column_without_dates_is_a_wrong_mapping():
    mapping = {**EXAMPLE, "date": "name"}
    expected = "^line 2: column 'name' holds 'Series A - GuestDriven', not a date$"
    with pytest.raises(ValueError, match=expected):
        read("funding_rounds.csv", mapping)
    # A few bad dates among good ones are rows for the records check, not an error.
    table = b"deal,date,city\nd1,someday,Oslo\nd2,2020-01-05,Oslo\n"
    out = parse(table, file="t.csv", options={"mapping": {"id": "deal", "date": "date"}})
    assert out["year"].tolist() == [NO_YEAR, 2020]


def test_numbers_read_as_pandas_reads_them():
    # Plain decimals are converted by pyarrow, the rest by pandas.to_numeric: the same
    # floats either way, to the last bit (and to the sign of zero).
    lat = ["-33.86", "59.91", "1e1", "0.1", "12345678901234567", "007", "-0.0", "x", ""]
    amounts = ["1250000", "$1.5M", "1,250,000", "7.5", "0.30000000000000004", "-12", "", "k", "1e3"]
    table = "id,year,lat,lon,amount\n" + "".join(
        f'd{i},2020,{a},1,"{b}"\n' for i, (a, b) in enumerate(zip(lat, amounts, strict=True))
    )
    mapping = {"id": "id", "year": "year", "latitude": "lat", "longitude": "lon"}
    out = parse(table.encode(), file="t.csv", options={"mapping": mapping | {"amount": "amount"}})
    expected = pd.to_numeric(pd.Series(lat).where(pd.Series(lat) != ""), errors="coerce")
    np.testing.assert_array_equal(out["lat"], expected.to_numpy(np.float64))
    assert np.signbit(out["lat"].to_numpy()).tolist() == np.signbit(expected.to_numpy()).tolist()
    assert out["amount"].tolist()[:6] == [
        1_250_000,
        1_500_000,
        1_250_000,
        7.5,
        0.30000000000000004,
        -12,
    ]
    assert np.isnan(out["amount"].iloc[6]) and out["amount"].iloc[8] == 1000
    # "-0" is 0.0 to pandas among integers and -0.0 among decimals: the reader follows.
    for column, negative in ((["-0", "5"], False), (["-0", "5.5"], True), (["-0", "$5"], True)):
        table = "id,year,lat,lon\n" + "".join(f"d{i},2020,{v},1\n" for i, v in enumerate(column))
        out = parse(table.encode(), file="t.csv", options={"mapping": mapping})
        assert out["lat"].iloc[0] == 0 and bool(np.signbit(out["lat"].iloc[0])) is negative


def test_a_file_of_unicode_whitespace_is_empty():
    for data in ("\u00a0\r\n\u2003\n".encode(), b"\x1c\n", b"\xef\xbb\xbf \t\r\n"):
        with pytest.raises(ValueError, match="^line 1: empty file"):
            parse(data, file="f.csv", options={"mapping": EXAMPLE})


def test_a_header_only_table_gives_no_rows():
    header = (DATA / "funding_rounds.csv").read_bytes().split(b"\r\n")[0] + b"\r\n"
    out = parse(header, file="f.csv", options={"mapping": EXAMPLE})
    assert list(out.columns) == list(READER_COLUMNS) and len(out) == 0
