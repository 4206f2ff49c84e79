"""The offline geocoder (core.geocoding) on real address strings and real city fields.

Expected places are the coordinates of the places the strings name (the fixture
tests/data/address_forms.csv gives each row's source; PatentsView rows carry PatentsView's
own coordinates), never output of the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.geocoding import METHODS, build_index, geocode, resolve_aliases
from tests.support import km

FORMS = Path(__file__).parent / "data" / "address_forms.csv"
NEAR_KM = 15.0


@pytest.fixture(scope="module")
def index():
    return build_index()


def one(index, **fields):
    row = {"city": None, "state": None, "country": None, "address": None}
    row.update(fields)
    return geocode(pd.DataFrame([row]), index=index).iloc[0]


def near(r, lat, lon, limit=NEAR_KM):
    return km(r.lat, r.lon, lat, lon) <= limit


def test_index_is_built_once_per_threshold():
    assert build_index() is build_index(500) is build_index(min_population=500)
    with pytest.raises(ValueError, match="min_population"):
        build_index(700)


def test_methods_constant():
    assert METHODS == (
        "exact",
        "alternate",
        "transliterated",
        "fuzzy",
        "address",
        "alias",
        "ambiguous",
        "state",
        "country",
        "unmatched",
    )


@pytest.fixture(scope="module")
def forms(index):
    table = pd.read_csv(FORMS, dtype=str, keep_default_na=False)
    fields = table[["city", "state", "country", "address"]].replace("", None)
    found = geocode(fields, index=index)[["lat", "lon", "geocode_method"]]
    return table.join(found.rename(columns={"lat": "lat_got", "lon": "lon_got"}))


@pytest.mark.parametrize("form", ["wos", "scopus", "deal", "patent", "issue"])
def test_real_strings_of_each_source_land_at_the_place_they_name(forms, form):
    part = forms[forms["form"] == form]
    assert len(part) >= 7
    dist = km(
        part["lat"].astype(float), part["lon"].astype(float), part["lat_got"], part["lon_got"]
    )
    wrong = part.assign(km=dist)[~(dist <= NEAR_KM)]
    assert wrong.empty, wrong[["city", "state", "country", "address", "geocode_method", "km"]]
    assert not part["geocode_method"].isin(["ambiguous", "state", "country", "unmatched"]).any()


def test_country_words_of_web_of_science_name_the_country(index):
    for address, country in [
        ("Queens Univ Belfast, Sch Math & Phys, Belfast BT7 1NN, Antrim, North Ireland", "GB"),
        ("Khalifa Univ, Dept Phys, Abu Dhabi, U Arab Emirates", "AE"),
        ("Tsinghua Univ, Dept Phys, Beijing 100084, Peoples R China", "CN"),
        # a place written before its country word overrides it
        ("Univ Hong Kong, Dept Chem, Hong Kong, Hong Kong, Peoples R China", "HK"),
        ("Univ Macau, Fac Sci & Technol, Taipa, Macao, Peoples R China", "MO"),
        ("Nigerian Inst Oil Palm Res, Benin, Nigeria.", "NG"),  # Benin City, not Benin
    ]:
        assert one(index, address=address).country == country, address


def test_a_given_country_constrains_the_address():
    # "Cambridge" without a country is England's or Massachusetts'; the field decides
    r = one(build_index(), address="Dept Phys, Cambridge", country="US")
    assert near(r, 42.37, -71.11)


def test_subdivisions_of_every_country_constrain_the_match(index):
    # by name, by ISO 3166-2 code, by local name, by GeoNames' English name
    cases = [
        ({"city": "Minato", "state": "Tokyo", "country": "JP"}, (35.66, 139.75)),
        ({"city": "Springfield", "state": "IL", "country": "US"}, (39.80, -89.64)),
        ({"city": "Springfield", "state": "Massachusetts", "country": "US"}, (42.10, -72.59)),
        ({"city": "Richmond", "state": "BC", "country": "CA"}, (49.17, -123.14)),
        ({"city": "Richmond", "state": "Virginia", "country": "US"}, (37.55, -77.46)),
        ({"city": "Neustadt", "state": "Bayern", "country": "DE"}, None),
        ({"city": "Frankfurt", "state": "Brandenburg", "country": "DE"}, (52.34, 14.55)),
        ({"city": "Perth", "state": "WA", "country": "AU"}, (-31.95, 115.86)),
        ({"city": "Perth", "state": "Scotland", "country": "GB"}, (56.40, -3.43)),
        ({"city": "Valencia", "state": "Carabobo", "country": "VE"}, (10.16, -68.00)),
        ({"city": "Santa Cruz", "state": "Tenerife", "country": "ES"}, None),
        ({"city": "Taizhou", "state": "Zhejiang", "country": "CN"}, (28.66, 121.42)),
        ({"city": "Taizhou", "state": "Jiangsu Sheng", "country": "CN"}, (32.49, 119.91)),
    ]
    for fields, where in cases:
        r = one(index, **fields)
        if where is not None:
            assert near(r, *where, limit=20), (fields, r.lat, r.lon, r.geocode_method)
    bavaria = one(index, city="Neustadt", state="Bayern", country="DE")
    assert 47 < bavaria.lat < 51 and 9 < bavaria.lon < 14  # some Neustadt in Bavaria


def test_a_known_state_with_an_unknown_city_is_state_level(index):
    r = one(index, city="Qzxqzx", state="Massachusetts", country="US")
    assert r.geocode_method == "state" and 0 < r.geocode_score < 0.5
    assert near(r, 42.3, -71.4, limit=80)
    # Research Triangle Park is in no shipped gazetteer: North Carolina, honestly
    rtp = one(index, city="Research Triangle Park", state="NC", country="US")
    assert rtp.geocode_method == "state"


def test_shared_names_without_a_state_are_ambiguous_and_say_so(index):
    for city in ("Arlington", "Springfield", "Rochester", "Columbus", "Pasadena"):
        r = one(index, city=city, country="US")
        assert r.geocode_method == "ambiguous", city
        assert 0.5 <= r.geocode_score < 1
    arlington = one(index, city="Arlington", country="US")
    assert near(arlington, 32.74, -97.11)  # the most populous: Arlington, Texas
    # a dominant place stays exact (10x the population of the next one of its name), and
    # so do places of one name within 30 km (Kansas City, Missouri and Kansas: one city)
    for fields, where in [
        ({"city": "Mountain View", "state": "CA", "country": "US"}, (37.39, -122.08)),
        ({"city": "Mountain View", "country": "US"}, (37.39, -122.08)),
        ({"city": "Cambridge", "country": "GB"}, (52.20, 0.12)),
        ({"city": "Paris"}, (48.86, 2.35)),
        ({"city": "Kansas City", "country": "US"}, (39.10, -94.58)),
    ]:
        r = one(index, **fields)
        assert r.geocode_method == "exact" and r.geocode_score == 1.0, fields
        assert near(r, *where)


def test_organisation_names_are_no_places(index):
    # "University of Queensland" is not in Queensland, Canada; "Harvard" not Harvard, IL
    for address in (
        "University of Queensland",
        "Harvard Medical School",
        "Indiana University, USA",
    ):
        r = one(index, address=address)
        assert r.geocode_method in ("unmatched", "country"), address
    # a large city an organisation is named after places it when nothing else does
    assert near(one(index, address="University of Leipzig, Germany"), 51.34, 12.37)
    # University of Washington: a state, not Washington, DC
    assert one(index, address="University of Washington, USA").geocode_method == "country"


def test_postal_code_in_the_city_field(index):
    r = one(index, city="10115 Berlin", country="DE")
    assert near(r, 52.52, 13.40)


def test_unknown_country_and_country_only(index):
    r = one(index, city="Berlin", country="ZZ")
    assert r.geocode_method == "unmatched" and r.country == "ZZ" and np.isnan(r.lat)
    r = one(index, city="", country="DE")
    assert r.geocode_method == "country"
    assert 47 < r.lat < 55 and 5 < r.lon < 15


def test_transliteration_and_typos(index):
    assert near(one(index, city="Москва", country="RU"), 55.75, 37.62)
    assert near(one(index, city="Шэньчжэнь", country="CN"), 22.54, 114.06)
    typo = one(index, city="Shnezhen", country="CN")
    assert typo.geocode_method == "fuzzy" and near(typo, 22.54, 114.06)
    assert 0.5 < typo.geocode_score < 1
    # without a country nothing is guessed from a typo
    assert one(index, city="Shnezhen").geocode_method == "unmatched"


def test_aliases_come_first_and_resolve_gazetteer_places(index):
    table = pd.DataFrame(
        {
            "name": ["Research Triangle Park", "Silicon Valley", "Mt View"],
            "country": ["US", "US", "US"],
            "state": ["NC", "", "CA"],
            "lat": ["35.90", "", ""],
            "lon": ["-78.86", "", ""],
            "place": ["", "San Jose", "Sunnyvale"],
        }
    )
    aliases = resolve_aliases(table, index)
    assert list(aliases["key"]) == ["research triangle park", "silicon valley", "mt view"]
    rows = pd.DataFrame(
        {
            "city": ["Research Triangle Park", "Silicon Valley", "Mt View", "Mt View"],
            "state": ["NC", "CA", "CA", "TX"],
            "country": ["US", "US", "US", "US"],
        }
    )
    out = geocode(rows, index=index, aliases=aliases)
    assert list(out["geocode_method"])[:3] == ["alias"] * 3
    assert near(out.iloc[0], 35.90, -78.86, limit=1)
    assert near(out.iloc[1], 37.34, -121.89)
    assert near(out.iloc[2], 37.37, -122.04)  # the user's alias wins over the gazetteer
    assert out.iloc[3].geocode_method != "alias"  # the alias is for California only
    with pytest.raises(ValueError, match="line 2: unknown state 'ZZ' of US"):
        resolve_aliases(
            pd.DataFrame(
                {"name": ["X"], "country": ["US"], "state": ["ZZ"], "lat": ["1"], "lon": ["1"]}
            ),
            index,
        )
    with pytest.raises(ValueError, match="line 2: give lat and lon, or a place"):
        resolve_aliases(pd.DataFrame({"name": ["X"], "lat": [""], "lon": [""]}), index)


def test_bad_inputs_never_crash(index):
    df = pd.DataFrame(
        {
            "city": [
                123,
                4.5,
                None,
                np.nan,
                "",
                "\x00\x07\x1b",
                "x" * 10_000,
                "Paris\x00",
                "東京",
                "مكة",
            ],
            "state": [None, 7, "", np.nan, "IL", None, "y" * 5000, None, None, None],
            "country": ["DE", "FR", None, "US", 42, "ZZ", None, "FR", "JP", "SA"],
            "address": [None, 1, "\n\t", "9" * 300, None, "", "z " * 6000, None, None, None],
        }
    )
    out = geocode(df, index=index)
    assert len(out) == len(df)
    assert out["geocode_method"].isin(METHODS).all()
    assert out["geocode_score"].between(0, 1).all()
    unmatched = out["geocode_method"] == "unmatched"
    assert out.loc[unmatched, "lat"].isna().all() and out.loc[~unmatched, "lat"].notna().all()
    assert out.iloc[7].geocode_method == "exact"  # a control character is punctuation
    assert km(out.iloc[8].lat, out.iloc[8].lon, 35.69, 139.69) < 30


def test_missing_columns_and_empty_frame(index):
    out = geocode(pd.DataFrame({"city": ["Paris"]}), index=index)
    assert list(out.columns) == ["city", "country", "lat", "lon", "geocode_method", "geocode_score"]
    assert out["country"].iloc[0] == "FR"  # a dominant name infers its country
    empty = geocode(pd.DataFrame({"city": [], "country": []}), index=index)
    assert len(empty) == 0 and {"lat", "lon", "geocode_method"} <= set(empty.columns)


def test_duplicates_get_identical_answers_and_the_index_is_kept(index):
    base = pd.DataFrame(
        {
            "city": ["Paris", "Shnezhen", "Springfield", None, "Arlington"],
            "state": [None, None, "IL", None, None],
            "country": ["FR", "CN", "US", "DE", "US"],
        }
    )
    df = pd.concat([base] * 40, ignore_index=True).sample(frac=1, random_state=3)
    out = geocode(df, index=index)
    assert out.index.equals(df.index)
    ref = geocode(base, index=index).iloc[out.index.to_numpy() % len(base)]
    for column in ("geocode_method", "country"):
        assert out[column].tolist() == ref[column].tolist()
    for column in ("lat", "lon", "geocode_score"):
        assert np.allclose(out[column], ref[column], equal_nan=True)


@given(
    city=st.one_of(st.none(), st.text(max_size=60), st.integers(), st.floats()),
    state=st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["CA", "Tokyo", "NSW"])),
    country=st.one_of(st.none(), st.text(max_size=5), st.sampled_from(["US", "DE", "CN", "USA"])),
    address=st.one_of(
        st.none(),
        st.text(max_size=120),
        st.lists(
            st.sampled_from(
                [
                    "Univ X",
                    "Dept Y",
                    "Boston",
                    "MA 02115 USA",
                    "Peoples R China",
                    "75005 Paris",
                    ",",
                    "Tokyo 1138654",
                    "Japan",
                ]
            ),
            max_size=6,
        ).map(", ".join),
    ),
)
def test_any_text_yields_a_method(city, state, country, address):
    out = geocode(
        pd.DataFrame([{"city": city, "state": state, "country": country, "address": address}]),
        index=build_index(),
    )
    method = out["geocode_method"].iloc[0]
    assert method in METHODS
    assert np.isnan(out["lat"].iloc[0]) == (method == "unmatched")
    assert 0 <= out["geocode_score"].iloc[0] <= 1


def test_the_example_alias_table_resolves(index):
    example = Path(__file__).parent.parent / "deploy" / "aliases-example.csv"
    aliases = resolve_aliases(pd.read_csv(example, dtype=str, keep_default_na=False), index)
    rtp = aliases.set_index("key").loc["research triangle park"]
    assert km(rtp.lat, rtp.lon, 36.00, -78.90) < 10  # Durham, where ROR places RTP's labs
    r = geocode(
        pd.DataFrame({"city": ["Research Triangle Park"], "state": ["NC"], "country": ["US"]}),
        index=index,
        aliases=aliases,
    ).iloc[0]
    assert r.geocode_method == "alias"
