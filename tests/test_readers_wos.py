"""The Web of Science reader (core.readers.wos) on real exports in both published forms.

Fixtures (tests/data/wos/README.md says where each record comes from): a 2024 plain-text
export (UTF-8 with byte-order mark), a 2013 plain-text export (``\\r\\n``, no mark, pre-2008
records without author brackets) and a tab-delimited export (mark, ``\\r\\n``, a tab after
each record's last field, an Excel ``#NAME?``). Expected weights are worked out by hand from
the records' C1 lines: a document counts 1, split over its authors, an author's part over the
addresses that name them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.readers import READER_COLUMNS, wos
from core.records import NO_YEAR, validate_records
from core.regions import known_economies

DATA = Path(__file__).parent / "data" / "wos"
PLAIN_2024 = (DATA / "savedrecs_2024.txt").read_bytes()
PLAIN_2013 = (DATA / "savedrecs_2013_crlf.txt").read_bytes()
TAB = (DATA / "savedrecs_tab.txt").read_bytes()


def read(data: bytes, **options) -> pd.DataFrame:
    return wos.parse(data, file="savedrecs.txt", options=options or None)


def rows_of(frame: pd.DataFrame, doc_id: str) -> pd.DataFrame:
    return frame[frame["doc_id"] == doc_id].reset_index(drop=True)


def test_module_contract():
    assert wos.FORMAT == "wos" and wos.SOURCE == "publication"
    frame = read(PLAIN_2024)
    assert tuple(frame.columns[: len(READER_COLUMNS)]) == READER_COLUMNS
    assert {"author", "document_type"} <= set(frame.columns)
    assert (frame["source"] == "publication").all()
    assert frame.attrs["skipped"] == 0


def test_plain_text_with_byte_order_mark_keeps_every_record_in_file_order():
    frame = read(PLAIN_2024)
    assert PLAIN_2024.startswith(b"\xef\xbb\xbf")
    assert list(dict.fromkeys(frame["doc_id"])) == [
        "WOS:001331408900001",
        "WOS:001154252200001",
        "WOS:001449064100001",
        "WOS:001290216501122",
        "WOS:001445988500006",
        "WOS:001434953600111",
    ]
    assert frame.groupby("doc_id", sort=False)["row"].first().tolist() == [0, 1, 2, 3, 4, 5]
    assert frame.groupby("doc_id")["weight"].sum().to_numpy() == pytest.approx(1.0)


def test_author_with_two_addresses_splits_their_share():
    # Bruna 2024: one author, two Florida addresses.
    bruna = rows_of(read(PLAIN_2024), "WOS:001331408900001")
    assert bruna["weight"].tolist() == pytest.approx([0.5, 0.5])
    assert bruna["address"].tolist() == [
        "Univ Florida, Dept Wildlife Ecol & Conservat, Gainesville, FL 32611 USA",
        "Univ Florida, Ctr Latin Amer Studies, Gainesville, FL USA",
    ]
    assert bruna["organization"].tolist() == ["Univ Florida", "Univ Florida"]
    assert bruna["field"].tolist() == ["Ecology", "Ecology"]
    assert bruna["year"].tolist() == [2024, 2024]
    assert bruna["no_address"].isna().all()
    assert bruna["lat"].isna().all() and bruna["country"].isna().all()


def test_six_authors_four_addresses():
    # Ferreira et al. 2024: four authors at Uberlandia, Bruna at two Florida addresses,
    # Costa at Botucatu: 1/6 per author, Bruna's 1/6 halved.
    ferreira = rows_of(read(PLAIN_2024), "WOS:001154252200001")
    sixth, twelfth = 1 / 6, 1 / 12
    assert ferreira["weight"].tolist() == pytest.approx([sixth] * 4 + [twelfth] * 2 + [sixth])
    assert ferreira["organization"].tolist() == ["Univ Fed Uberlandia"] * 4 + [
        "Univ Florida"
    ] * 2 + ["Univ Estadual Paulista"]
    assert ferreira["author"].iloc[6] == "Costa, Vladimir Eliodoro"
    assert ferreira["field"].iloc[0] == "Plant Sciences"


def test_wrapped_category_and_early_access_year():
    # Zafarzadeh et al.: an early-access record without PY (EA MAR 2025), and a WC line
    # wrapped onto a continuation line; four authors at one address.
    rows = rows_of(read(PLAIN_2024), "WOS:001449064100001")
    assert rows["year"].tolist() == [2025] * 4
    assert rows["field"].tolist() == ["Engineering, Industrial"] * 4
    assert rows["weight"].tolist() == pytest.approx([0.25] * 4)
    assert rows["document_type"].iloc[0] == "Article; Early Access"


def test_author_without_address_gets_a_no_address_row():
    # Mehdifar is in AU/AF but in no C1 bracket; "Dimarogonas, Dimos, V" holds two commas.
    rows = rows_of(read(PLAIN_2024), "WOS:001290216501122")
    assert rows["author"].tolist() == [
        "Mirzaeedodangeh, Omid",
        "Dimarogonas, Dimos, V",
        "Mehdifar, Farhad",
    ]
    assert rows["weight"].tolist() == pytest.approx([1 / 3] * 3)
    assert rows["no_address"].tolist()[2] == "author without C1 address"
    assert rows["no_address"].iloc[:2].isna().all()
    assert rows["address"].iloc[2] is None or pd.isna(rows["address"].iloc[2])
    assert rows["doc_id"].iloc[2] == "WOS:001290216501122" and rows["year"].iloc[2] == 2024


def test_record_without_c1_gives_one_no_address_row():
    rows = rows_of(read(PLAIN_2024), "WOS:001434953600111")
    assert len(rows) == 1
    assert rows["no_address"].iloc[0] == "record without C1 address"
    assert rows["weight"].iloc[0] == pytest.approx(1.0)
    assert rows["year"].iloc[0] == 2024 and rows["row"].iloc[0] == 5
    assert rows["field"].iloc[0] == "Cell & Tissue Engineering"


def test_old_export_with_crlf_and_addresses_without_author_brackets():
    frame = read(PLAIN_2013)
    assert b"\r\n" in PLAIN_2013 and not PLAIN_2013.startswith(b"\xef\xbb\xbf")
    # Thompson 2001: no bracket, one address, the whole document.
    thompson = rows_of(frame, "WOS:000169753300001")
    assert thompson["address"].tolist() == [
        "York Univ, Dept Philosophy, N York, ON M3J 1P3, Canada"
    ]
    assert thompson["weight"].tolist() == [1.0]
    assert thompson["author"].isna().all() and thompson["no_address"].isna().all()
    # Fuchs (2 Heidelberg addresses) and De Jaegher (the same two and Sussex, abroad).
    fuchs = rows_of(frame, "WOS:000271549700004")
    assert fuchs["weight"].tolist() == pytest.approx([1 / 4, 1 / 6, 1 / 6, 1 / 4, 1 / 6])
    assert fuchs["organization"].tolist() == [
        "Heidelberg Univ",
        "Heidelberg Univ",
        "Univ Sussex",
        "Heidelberg Univ",
        "Heidelberg Univ",
    ]
    # Hsu, Huang, Tseng: three authors, one each: three rows of 1/3.
    hsu = rows_of(frame, "WOS:000310782600054")
    assert hsu["weight"].tolist() == pytest.approx([1 / 3] * 3)
    assert frame.groupby("doc_id")["weight"].sum().to_numpy() == pytest.approx(1.0)


def test_old_mac_line_ends_read_the_same():
    crlf = read(PLAIN_2013)
    cr = read(PLAIN_2013.replace(b"\r\n", b"\r"))
    lf = read(PLAIN_2013.replace(b"\r\n", b"\n"))
    pd.testing.assert_frame_equal(crlf, cr)
    pd.testing.assert_frame_equal(crlf, lf)


def test_tab_delimited_export_with_bom_crlf_and_trailing_tabs():
    frame = read(TAB)
    assert TAB.startswith(b"\xef\xbb\xbfPT\tAU\t") and b"\t\r\n" in TAB
    # Kanjo et al. 2018: three authors, two in Nottingham, one abroad in Egypt.
    kanjo = rows_of(frame, "WOS:000413059200002")
    assert kanjo["weight"].tolist() == pytest.approx([1 / 3] * 3)
    assert kanjo["address"].tolist() == [
        "Nottingham Trent Univ, Comp & Technol, Nottingham, England",
        "Nottingham Trent Univ, Comp & Technol, Nottingham, England",
        "Menia Univ, Fac Comp & Informat, Al Minya, Egypt",
    ]
    assert kanjo["author"].tolist() == ["Kanjo, Eiman", "Sherkat, Nasser", "Younis, Eman M. G."]
    assert kanjo["field"].iloc[0] == "Computer Science, Artificial Intelligence"
    assert kanjo["year"].iloc[0] == 2018
    # "#NAME?" in WC (the file went through Excel): no field.
    assert rows_of(frame, "WOS:000310782600054")["field"].isna().all()
    assert frame.groupby("doc_id", sort=False)["row"].first().tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("other", "doc_id"),
    [(PLAIN_2024, "WOS:001154252200001"), (PLAIN_2013, "WOS:000310782600054")],
)
def test_same_document_in_two_files_and_forms_keeps_its_id_rows_and_weights(other, doc_id):
    columns = ["doc_id", "year", "address", "weight", "organization", "author"]
    tab = rows_of(read(TAB), doc_id)[columns]
    plain = rows_of(read(other), doc_id)[columns]
    assert len(tab) > 1
    pd.testing.assert_frame_equal(tab, plain)


def test_document_types_skips_other_records_and_counts_them():
    frame = read(PLAIN_2024, document_types=["Article"])
    # Kept: Ferreira (Article), Zafarzadeh (Article; Early Access), Deleporte (Article).
    assert list(dict.fromkeys(frame["doc_id"])) == [
        "WOS:001154252200001",
        "WOS:001449064100001",
        "WOS:001445988500006",
    ]
    assert frame.attrs["skipped"] == 3
    assert sorted(set(frame["row"])) == [1, 2, 4]
    tab = read(TAB, document_types="proceedings paper")
    assert set(tab["doc_id"]) == {"WOS:001290216502010"} and tab.attrs["skipped"] == 3


def lines_of(data: bytes) -> list[bytes]:
    return data.decode("utf-8-sig").replace("\r\n", "\n").encode().split(b"\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"EID,Title\n2-s2.0-1,x\n", r"^line 1: not a Web of Science export"),
        (
            b"\n".join([*lines_of(PLAIN_2024)[:6], b"Not a tag", *lines_of(PLAIN_2024)[6:]]),
            r"^line 7: not a field tag or continuation line: 'Not a tag'",
        ),
        (b"\n".join(lines_of(PLAIN_2024)[:-4]), r"^line \d+: record not closed by ER"),
        (PLAIN_2013.replace(b"PY 2011", b"PY 20x1"), r"^line 55: PY '20x1' is not a year"),
        (PLAIN_2013.replace(b"UT WOS:000291810800015\r\n", b""), r"^line 36: record without UT"),
        (TAB.replace(b"\tUT\t", b"\tUX\t"), r"^missing column 'UT'$"),
        (TAB.replace(b"\tFJ9AG\t", b"\tFJ9AG\t\t\t"), r"^line 2: 71 tab-separated fields where"),
        (TAB.replace(b"\t2012\t", b"\t2O12\t"), r"^line 4: PY '2O12' is not a year"),
        (
            b"FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU M\xfcller, A\n",
            r"^line 4: not UTF-8",
        ),
    ],
)
def test_bad_input_names_the_first_bad_line_or_field(data, message):
    with pytest.raises(ValueError, match=message) as info:
        read(data)
    assert "\n" not in str(info.value)


def test_bad_options():
    with pytest.raises(ValueError, match="unknown option 'doc_types'"):
        read(PLAIN_2024, doc_types=["Article"])
    with pytest.raises(ValueError, match="document_types"):
        read(PLAIN_2024, document_types=3)


def test_header_only_files_give_no_rows():
    assert read(b"FN Clarivate Analytics Web of Science\r\nVR 1.0\r\nEF\r\n").empty
    assert read(TAB.split(b"\r\n")[0] + b"\r\n").empty


def test_tab_delimited_irregular_lines_read_like_regular_ones():
    # A regular export is read from its bytes by pyarrow; a blank-looking line, a record
    # without the trailing tab or LF line ends send it down the careful path (pandas on
    # the decoded lines). Both must give the same frame.
    regular = read(TAB)
    lines = TAB.split(b"\r\n")
    variants = [
        b"\r\n".join([*lines[:3], b"   ", *lines[3:]]),
        b"\r\n".join([*lines[:2], lines[2].removesuffix(b"\t"), *lines[3:]]),
        TAB.replace(b"\r\n", b"\n"),
        TAB.replace(b"\r\n", b"\r"),
    ]
    for data in variants:
        pd.testing.assert_frame_equal(read(data), regular)
        assert read(data).attrs == regular.attrs


def tab_export(*records: dict[str, str]) -> bytes:
    tags = ["PT", "AU", "AF", "C1", "PY", "UT"]
    rows = ["\t".join(tags)]
    rows += ["\t".join(r.get(t, "J" if t == "PT" else "") for t in tags) + "\t" for r in records]
    return ("\r\n".join(rows) + "\r\n").encode()


def plain_export(*records: dict[str, list[str]]) -> bytes:
    lines = ["FN Clarivate Analytics Web of Science", "VR 1.0"]
    for record in records:
        lines.append("PT J")
        for tag, values in record.items():
            lines += [f"{tag} {values[0]}", *(f"   {v}" for v in values[1:])]
        lines += ["ER", ""]
    return ("\n".join([*lines, "EF"]) + "\n").encode()


def test_author_names_compare_as_python_lowers_them():
    # "ΚΑΛΟΣ".lower() ends in a final sigma (ς), as the bracket writes it: one author, not
    # a bracket stranger plus an unlinked AF author.
    tab = read(
        tab_export(
            {
                "AU": "ΚΑΛΟΣ, Α; İnce, B",
                "AF": "ΚΑΛΟΣ, Α; İnce, B",
                "C1": "[Καλος, Α; İNCE, B] Univ Athens, Athens, Greece",
                "PY": "2020",
                "UT": "WOS:000000000000001",
            }
        )
    )
    assert tab["author"].tolist() == ["Καλος, Α", "İNCE, B"]
    assert tab["weight"].tolist() == [0.5, 0.5] and tab["no_address"].isna().all()
    plain = read(
        plain_export(
            {
                "AU": ["ΚΑΛΟΣ, Α", "İnce, B"],
                "AF": ["ΚΑΛΟΣ, Α", "İnce, B"],
                "C1": ["[Καλος, Α; İNCE, B] Univ Athens, Athens, Greece."],
                "PY": ["2020"],
                "UT": ["WOS:000000000000001"],
            }
        )
    )
    pd.testing.assert_frame_equal(tab, plain)


def test_tab_delimited_addresses_split_outside_author_brackets_only():
    frame = read(
        tab_export(
            {
                "AU": "Ab, A; Cd, C",
                "C1": "[Ab, A; Cd, C] Univ X, City; Univ Y [Hosp], City2.; ; Org Z; #NAME?",
                "PY": "2021",
                "UT": "WOS:000000000000002",
            },
            # Without any "[" every ";" separates (a stray "]" is text).
            {"AU": "Ef, E", "C1": "Univ W], Town; Inst V, Town", "UT": "WOS:000000000000003"},
        )
    )
    assert frame["address"].tolist() == [
        "Univ X, City",
        "Univ X, City",
        "Univ Y [Hosp], City2",
        "Org Z",
        "Univ W], Town",
        "Inst V, Town",
    ]
    assert frame["author"].tolist()[:2] == ["Ab, A", "Cd, C"]
    assert frame["weight"].tolist() == [0.25, 0.25, 0.25, 0.25, 0.5, 0.5]
    assert frame["year"].tolist()[-1] == NO_YEAR


@pytest.fixture(scope="module")
def all_rows() -> pd.DataFrame:
    return pd.concat([read(PLAIN_2024), read(PLAIN_2013), read(TAB)], ignore_index=True)


@pytest.fixture(scope="module")
def index():
    from flows.gazetteer_cache import gazetteer_index

    return gazetteer_index()


def check(frame: pd.DataFrame, geocoder=None) -> pd.DataFrame:
    return validate_records(
        frame.assign(file="savedrecs.txt"),
        rounding_deg=0.01,
        known_countries=known_economies(),
        geocoder=geocoder,
    )


def test_validate_records_accepts_the_output(all_rows):
    checked = check(all_rows)
    no_place = all_rows["no_address"].notna().to_numpy()
    assert no_place.sum() == 2
    assert (checked["reason"][no_place] == "no address").all()
    assert (checked["value"][no_place] == all_rows["no_address"][no_place]).all()
    # Text-only rows wait for the geocoder: without one their country is still unknown
    # (the records check tests the country before "not geocoded").
    assert checked["reason"][~no_place].isin(["missing country", "not geocoded"]).all()
    assert checked["doc_id"].tolist() == all_rows["doc_id"].tolist()
    assert checked["year"].tolist() == all_rows["year"].tolist()
    assert np.allclose(checked["weight"], all_rows["weight"])
    assert checked["row"].tolist() == all_rows["row"].tolist()


def test_real_addresses_are_geocoded_in_their_country(all_rows, index):
    from core.geocoding import geocode

    expected = {
        "Univ Fed Uberlandia": "BR",
        "Univ Estadual Paulista": "BR",
        "Univ Florida": "US",
        "Univ Paris Saclay": "FR",
        "Univ Basel Hosp": "CH",
        "Univ Sussex": "GB",
        "Natl Taiwan Univ": "TW",
        "Univ Hong Kong": "HK",
        "York Univ": "CA",
        "Menia Univ": "EG",
    }
    picked = all_rows[all_rows["organization"].isin(list(expected))]
    picked = picked.drop_duplicates("organization")
    found = geocode(picked[["address"]].reset_index(drop=True), index=index)
    assert dict(zip(picked["organization"], found["country"], strict=True)) == expected
    # Through the whole record check: every KTH (Stockholm) row is usable.
    checked = check(all_rows, geocoder=lambda places: geocode(places, index=index))
    kth = (all_rows["organization"] == "KTH Royal Inst Technol").to_numpy()
    assert kth.sum() == 11
    assert (checked["reason"][kth] == "").all() and (checked["country"][kth] == "SE").all()
