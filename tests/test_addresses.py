"""Reading place names out of real address strings (core.addresses)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.addresses import (
    ACRONYM,
    NGRAM,
    _segments,
    name_variants,
    normalize_name,
    parse_place,
    strip_generic,
)
from core.geocoding import build_index


@pytest.fixture(scope="module")
def words():
    return build_index().words


def keys(parsed, n=3):
    return [c.key for c in parsed.candidates[:n]]


@pytest.mark.parametrize(
    "address, country, state, first",
    [
        # Web of Science C1: city before "ST ZIP USA"
        ("Harvard Univ, Sch Med, Boston, MA 02115 USA", "US", "ma", "boston"),
        ("Univ Texas Austin, Dept Integrat Biol, Austin, TX 78712 USA.", "US", "tx", "austin"),
        ("Univ Florida, Ctr Latin Amer Studies, Gainesville, FL USA.", "US", "fl", "gainesville"),
        # "City ZIP, Peoples R China"; a province segment after the city
        ("Tsinghua Univ, Dept Phys, Beijing 100084, Peoples R China", "CN", "", "beijing"),
        (
            "Zhejiang Univ, Coll Chem, Hangzhou 310027, Zhejiang, Peoples R China",
            "CN",
            "2",
            "hangzhou",
        ),
        # UK postcodes, constituent countries and counties
        ("Imperial Coll London, Dept Phys, London SW7 1NE, England", "GB", "eng", "london"),
        (
            "Univ Glasgow, Inst Biomed & Life Sci, Glasgow G12 8QQ, Lanark, Scotland.",
            "GB",
            "sct",
            "glasgow",
        ),
        # postal code before the city; country-prefixed postal codes
        ("Univ Paris, Inst X, 75005 Paris, France", "FR", "", "paris"),
        (
            "UNC, CRUB, Lab Ecotono, RA-8400 San Carlos De Bariloche, Rio Negro, Argentina.",
            "AR",
            "16",
            "san carlos de bariloche",
        ),
        ("Tokyo Inst Technol, Meguro Ku, Tokyo 1528550, Japan", "JP", "40", "meguro ku"),
        ("Seoul Natl Univ, Dept Chem, Seoul 08826, South Korea", "KR", "11", "seoul"),
        # Scopus: "Dept, Univ, City, Country"
        (
            "School of Materials Science and Engineering, University of New South Wales, "
            "Sydney, NSW, Australia",
            "AU",
            "2",
            "sydney",
        ),
        (
            "Business, Government and Society, Simon Fraser University, Burnaby, V5A 1S6, British "
            "Columbia, Canada",
            "CA",
            "2",
            "burnaby",
        ),
        # the country word before a trailing postal part
        (
            "Department of Physics, Simon Fraser University, Burnaby, Canada, BC V5A 1S6",
            "CA",
            "2",
            "burnaby",
        ),
        # patent person address: street first, ward and prefecture
        ("1-2-3 Marunouchi, Chiyoda-ku, Tokyo 100-8310", "", "", "chiyoda ku"),
    ],
)
def test_address_forms_name_country_state_and_city_first(words, address, country, state, first):
    parsed = parse_place(None, None, None, address, words)
    if country:
        assert parsed.country == country
    if state:
        assert parsed.state == (country, state)
    # the first place-like name: organisations' segments come after it
    assert [c.key for c in parsed.candidates if c.origin != NGRAM][0] == first


def test_a_place_before_its_country_word_overrides_it(words):
    hk = parse_place(
        None,
        None,
        None,
        "City Univ Hong Kong, Dept Phys, Kowloon, Hong Kong, Peoples R China",
        words,
    )
    assert hk.country == "HK" and keys(hk, 1) == ["kowloon"]
    mo = parse_place(None, None, None, "Univ Macau, Fac Sci, Taipa, Macao, Peoples R China", words)
    assert mo.country == "MO"
    # "Georgia" before "USA" is the state, "Benin" before "Nigeria" the city
    ga = parse_place(None, None, None, "Emory Univ, Atlanta, Georgia, USA", words)
    assert ga.country == "US" and ga.state == ("US", "ga")
    assert parse_place(None, None, None, "Univ Benin, Benin, Nigeria", words).country == "NG"


def test_a_given_country_constrains_and_a_bad_one_stops(words):
    parsed = parse_place("Cambridge", None, "USA", None, words)
    assert {c.country for c in parsed.candidates} == {"US"}
    assert parse_place("Berlin", None, "Atlantis", None, words).bad_country


def test_city_fields_of_deal_tables(words):
    assert "mountain view" in keys(parse_place("Mt View", "CA", "US", None, words), 4)
    assert "mount laurel" in keys(parse_place("Mt. Laurel", "NJ", "US", None, words), 4)
    assert "fort lauderdale" in keys(parse_place("Ft. Lauderdale", "FL", "US", None, words), 4)
    assert "seattle" in keys(parse_place("Downtown Seattle", None, "US", None, words), 4)
    assert "atlanta" in keys(parse_place("NW Atlanta", None, "US", None, words), 4)
    assert "billerica" in keys(parse_place("North Billerica", "MA", "US", None, words), 4)
    brooklyn = parse_place("Brooklyn, New York", None, "US", None, words)
    assert brooklyn.state == ("US", "ny") and keys(brooklyn, 1) == ["brooklyn"]
    toronto = parse_place("Toronto, Ontario", None, None, None, words)
    assert toronto.country == "CA" and keys(toronto, 1) == ["toronto"]
    palo_alto = parse_place("Palo Alto, CA", None, None, None, words)
    assert {("CA", ""), ("US", "ca")} <= {(c.country, c.state) for c in palo_alto.candidates}


def test_variants_spell_out_before_they_shorten():
    assert name_variants(["e", "lansing"])[:3] == ["e lansing", "east lansing", "lansing"]
    assert name_variants(["chiyoda", "ku"])[1:] == ["chiyoda", "chiyoda city"]
    assert name_variants(["san", "francisco", "bay", "area"])[1] == "san francisco"


def test_segments_tell_places_from_organisations_streets_and_codes():
    segs = _segments("Dept Phys, CNRS, Piazzale Aldo Moro 2, 00185 Rome, N.W.")
    kinds = {" ".join(s.words): s.kind for s in segs}
    assert kinds["dept phys"] == 1 and kinds["piazzale aldo moro"] == 1
    assert kinds["cnrs"] == ACRONYM and kinds["nw"] == ACRONYM and kinds["rome"] == 0
    assert [s.words for s in _segments("WASHINGTON, DC")] == [["washington"], ["dc"]]


def test_subdivision_words():
    assert strip_generic(["guangdong", "sheng"]) == ["guangdong"]
    assert strip_generic(["province"]) == []
    assert normalize_name("Ōsaka-fu") == "osaka fu"


@given(
    st.lists(
        st.one_of(
            st.text(max_size=25),
            st.sampled_from(
                [
                    "Univ X",
                    "MA 02115 USA",
                    "Peoples R China",
                    "CA",
                    "Tokyo 113-8654",
                    "Hong Kong",
                    "",
                    "  ",
                    "D-80333 München",
                    "Georgia",
                    "N.W.",
                ]
            ),
        ),
        max_size=7,
    ),
    st.sampled_from([None, "", "US", "CN", "Atlantis"]),
)
def test_parse_never_fails_and_ranks_strictly(parts, country):
    parsed = parse_place(None, None, country, ", ".join(parts), build_index().words)
    ranks = [c.rank for c in parsed.candidates]
    assert ranks == sorted(ranks)
    assert all(c.key == c.key.strip() and c.key for c in parsed.candidates)
