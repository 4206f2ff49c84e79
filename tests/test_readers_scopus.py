"""The Scopus CSV reader on real exports (tests/data/scopus/README.md): documents, fractional
counts by author and affiliation, rows without a place, bad input. Expected values are worked
out by hand from the fixtures' text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.readers import READER_COLUMNS, scopus
from core.records import validate_records
from core.regions import known_economies

DATA = Path(__file__).parent / "data" / "scopus"
XU_ET_AL = "2-s2.0-85152975165"  # three authors, three affiliations, one in South Korea
TABIBI_ET_AL = "2-s2.0-85149521115"  # Tabibi Z.: Mashhad and Longueuil in one entry
DAVIES = "2-s2.0-85147095784"  # Davies S.: Keele and Liverpool in one entry
WILSON_ROURKE = "2-s2.0-85148400778"  # "Rourke J." has no affiliation
PENG_NGO = "2-s2.0-85159552705"  # no affiliations at all
EDITORIAL = "2-s2.0-85152977291"
REPEATED = "2-s2.0-0000000001"  # hand-written: Kaufmann M. in two repeated entries


def read(name: str, **options) -> pd.DataFrame:
    return scopus.parse((DATA / name).read_bytes(), file=name, options=options or None)


def doc(frame: pd.DataFrame, eid: str) -> pd.DataFrame:
    return frame[frame["doc_id"] == eid].reset_index(drop=True)


def test_module_contract():
    assert scopus.FORMAT == "scopus" and scopus.SOURCE == "publication"
    frame = read("export_2023.csv")
    assert list(frame.columns[: len(READER_COLUMNS)]) == list(READER_COLUMNS)
    assert {"author", "author_id"} <= set(frame.columns)
    assert (frame["source"] == "publication").all()
    assert frame["year"].dtype == np.int64 and (frame["year"] == 2023).all()
    assert frame["lat"].isna().all() and frame["country"].isna().all()
    assert frame.attrs["skipped"] == 0


def test_three_affiliations_one_abroad_give_three_thirds():
    xu = doc(read("export_2023.csv"), XU_ET_AL)
    assert xu["address"].tolist() == [
        "School of Communication, Northern Arizona University, 700 S. Knoles Drive, "
        "Flagstaff, 86011, AZ, United States",
        "Hank Greenspun School of Journalism & Media Studies, University of Nevada, "
        "Las Vegas, NV, United States",
        "Institute of Body & Culture, Konkuk University, Gwangjin-gu, South Korea",
    ]
    assert xu["organization"].tolist() == [
        "School of Communication",
        "Hank Greenspun School of Journalism & Media Studies",
        "Institute of Body & Culture",
    ]
    assert xu["weight"].tolist() == pytest.approx([1 / 3] * 3)
    assert xu["author"].tolist() == ["Xu Z.", "Dam L.", "Park S."]
    assert xu["author_id"].tolist() == ["57193223013", "58189829700", "58189862200"]
    assert xu["row"].tolist() == [0, 0, 0] and xu["no_address"].isna().all()


def test_an_author_with_two_affiliations_in_one_entry_splits_their_share():
    frame = read("export_2023.csv")
    tabibi = doc(frame, TABIBI_ET_AL)
    assert tabibi["author"].tolist() == ["Tabibi Z.", "Tabibi Z.", "Schwebel D.C.", "Juzdani M.H."]
    assert tabibi["weight"].tolist() == pytest.approx([1 / 6, 1 / 6, 1 / 3, 1 / 3])
    assert tabibi["address"][1] == (
        "Department of Community Health Sciences, Faculty of Medicine and Health Sciences, "
        "University of Sherbrooke, Longueuil, Canada"
    )
    davies = doc(frame, DAVIES)
    assert davies["weight"].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 6, 1 / 6])
    assert davies["organization"].tolist()[2:] == [
        "Keele University",
        "Alder Hey Children's Hospital",
    ]


def test_an_author_in_repeated_entries_splits_their_share_by_id_or_by_name():
    legacy = doc(read("legacy_2005.csv"), REPEATED)
    assert legacy["author"].tolist() == ["Kaufmann, M.", "Host, H.", "Kaufmann, M."]
    assert legacy["weight"].tolist() == pytest.approx([1 / 4, 1 / 2, 1 / 4])
    # The oldest exports have no Author(s) ID column: the name tells the author.
    rows = list(csv.reader(io.StringIO((DATA / "legacy_2005.csv").read_text("utf-8-sig"))))
    drop = rows[0].index("Author(s) ID")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:drop] + r[drop + 1 :] for r in rows])
    no_ids = doc(scopus.parse(out.getvalue().encode(), file="x.csv"), REPEATED)
    assert no_ids["weight"].tolist() == pytest.approx([1 / 4, 1 / 2, 1 / 4])
    assert no_ids["author_id"].isna().all()


def test_legacy_names_with_a_comma_and_one_affiliation_each():
    namd = doc(read("legacy_2005.csv"), "2-s2.0-27344436659")
    assert len(namd) == 10 and namd["weight"].tolist() == pytest.approx([0.1] * 10)
    assert namd["author"][0] == "Phillips, J.C."
    assert namd["address"][6] == (
        "UMR CNRS/UHP 7565, Université Henri Poincaré, 54506 Vandaeuvre-les-Nancy, Cedex, France"
    )
    # "Department of Computer Science, Beckman Institute, …" is one affiliation of the
    # record's list, not two.
    assert namd["organization"][7] == "Department of Computer Science"
    assert namd["year"].unique().tolist() == [2005]


def test_weights_of_every_document_sum_to_one():
    for name in ("export_2023.csv", "excel_resaved.csv", "legacy_2005.csv"):
        sums = read(name).groupby("doc_id")["weight"].sum()
        assert sums.to_numpy() == pytest.approx(np.ones(len(sums))), name


def test_rows_without_a_place_keep_their_document_and_say_why():
    frame = read("export_2023.csv")
    wilson = doc(frame, WILSON_ROURKE)
    assert wilson["author"].tolist() == ["Wilson R.", "Rourke J."]
    assert wilson["weight"].tolist() == pytest.approx([0.5, 0.5])
    assert wilson["no_address"].isna().tolist() == [True, False]
    assert wilson["no_address"][1] == "author without affiliation"
    assert pd.isna(wilson["address"][1]) and pd.isna(wilson["organization"][1])
    peng = doc(frame, PENG_NGO)
    assert peng["author"].tolist() == ["Peng Ngo T.", "Barnes R.", "Reising D."]
    assert peng["weight"].tolist() == pytest.approx([1 / 3] * 3)
    assert (peng["no_address"] == "author without affiliation").all()
    assert peng["year"].tolist() == [2023] * 3 and peng["row"].tolist() == [4, 4, 4]


def test_e_mail_addresses_left_in_affiliations_are_dropped():
    frame = read("export_2023.csv")
    jinan = doc(frame, "2-s2.0-85160181903")
    assert set(jinan["address"]) == {"School of Nursing, Jinan University, Guangzhou, China"}
    atu = doc(frame, "2-s2.0-85148394579")
    assert (
        atu["address"][0]
        == "Atlantic Technological University (ATU), Letterkenny, Donegal, Ireland"
    )


def test_excel_resaved_export_with_crlf_and_name_errors():
    frame = read("excel_resaved.csv")
    # The same document as in export_2023.csv keeps its EID and its rows.
    assert doc(frame, XU_ET_AL)[["address", "weight"]].equals(
        doc(read("export_2023.csv"), XU_ET_AL)[["address", "weight"]]
    )
    chen = doc(frame, "2-s2.0-85104658767")
    assert chen["author"].tolist() == ["Chen K.", "Chen K.B."]
    assert (chen["no_address"] == "author without affiliation").all()
    assert chen["address"].isna().all() and chen["weight"].tolist() == [0.5, 0.5]


def test_line_endings_and_byte_order_mark_do_not_matter():
    data = (DATA / "export_2023.csv").read_bytes()
    plain = scopus.parse(data, file="a.csv")
    for variant in (data[3:], data.replace(b"\n", b"\r\n"), data.replace(b"\n", b"\r")):
        assert scopus.parse(variant, file="b.csv").equals(plain)


def test_document_types_option_skips_and_counts():
    frame = read("export_2023.csv", document_types=["Article"])
    # Record 2 (DAVIES) is a Review, record 7 an Editorial.
    assert not {DAVIES, EDITORIAL} & set(frame["doc_id"])
    assert frame.attrs["skipped"] == 2
    assert set(frame["row"]) == {0, 1, 3, 4, 5, 6}
    assert read("export_2023.csv", document_types=["editorial"])["doc_id"].unique().tolist() == [
        EDITORIAL
    ]


@pytest.mark.parametrize("column", ["EID", "Year", "Authors with affiliations"])
def test_a_missing_required_column_is_named(column):
    text = (DATA / "export_2023.csv").read_text("utf-8-sig")
    header, rest = text.split("\n", 1)
    bad = header.replace(f'"{column}"', '"Something else"') + "\n" + rest
    with pytest.raises(ValueError, match=rf"^missing column '{column}'$"):
        scopus.parse(bad.encode(), file="x.csv")


def test_bad_input_names_the_first_bad_line():
    # Two exports with different columns pasted together: line 3 has one field too many.
    with pytest.raises(ValueError, match=r"^line 3: 46 fields where the header has 45$"):
        read("concatenated_exports.csv")
    with pytest.raises(ValueError, match=r"^line 1: not UTF-8 text$"):
        scopus.parse(b'"Authors","EID"\xff\n', file="x.csv")
    with pytest.raises(ValueError, match=r"^missing column 'EID'$"):
        scopus.parse(b'{"id": "https://openalex.org/W1"}\n', file="x.jsonl")
    with pytest.raises(ValueError, match=r"^line 1: empty"):
        scopus.parse(b"", file="x.csv")
    # A quoted field that is never closed: the record starts on line 3.
    text = (
        '"EID","Year","Authors with affiliations"\n'
        '"2-s2.0-1","2020","A B., X, Y"\n'
        '"2-s2.0-2","2020","A B., X\n'
    )
    with pytest.raises(ValueError, match=r"^line 3: "):
        scopus.parse(text.encode(), file="x.csv")


def test_validate_records_accepts_the_output():
    frame = pd.concat(
        [read(n) for n in ("export_2023.csv", "legacy_2005.csv")], ignore_index=True
    ).assign(file="f.csv")
    checked = validate_records(frame, rounding_deg=0.01, known_countries=known_economies())
    assert len(checked) == len(frame)
    placed = frame["no_address"].isna().to_numpy()
    # Without a geocoder, rows with only an affiliation string lack a country.
    assert checked["reason"][placed].isin(["not geocoded", "missing country"]).all()
    assert (checked["reason"][~placed] == "no address").all()
    assert (checked["doc_id"] == frame["doc_id"]).all()
    assert (checked["year"] == frame["year"]).all()
    assert checked["weight"].to_numpy() == pytest.approx(frame["weight"].to_numpy())


def test_real_affiliations_geocode_in_their_country():
    from core.geocoding import geocode
    from flows.gazetteer_cache import gazetteer_index

    frame = pd.concat([read("export_2023.csv"), read("legacy_2005.csv")], ignore_index=True)
    wanted = {
        "Institute of Body & Culture, Konkuk University, Gwangjin-gu, South Korea": "KR",
        "Department of Psychology, Ferdowsi University of Mashhad, Mashhad, Iran": "IR",
        "Al-Ahliyya Amman University, Department of Physiotherapy, Faculty of Allied Medical "
        "Sciences, Amman, Jordan": "JO",
        "School of Nursing, Jinan University, Guangzhou, China": "CN",
        "UMR CNRS/UHP 7565, Université Henri Poincaré, 54506 Vandaeuvre-les-Nancy, Cedex, "
        "France": "FR",
        "Beckman Institute, University of Illinois at Urbana-Champaign, Urbana, IL 61801, "
        "United States": "US",
    }
    assert set(wanted) <= set(frame["address"].dropna())
    found = geocode(pd.DataFrame({"address": list(wanted)}), index=gazetteer_index())
    assert found["country"].str.upper().tolist() == list(wanted.values())


def test_a_record_without_a_year_goes_out_and_is_rejected_as_bad_year():
    text = (
        '"EID","Year","Authors with affiliations","Affiliations"\n'
        '"2-s2.0-1","2020","Li X., Fudan University, Shanghai, China",'
        '"Fudan University, Shanghai, China"\n'
        '"2-s2.0-2","","Li X., Fudan University, Shanghai, China",'
        '"Fudan University, Shanghai, China"\n'
    )
    frame = scopus.parse(text.encode(), file="x.csv")
    assert frame["year"].tolist()[0] == 2020 and pd.isna(frame["year"][1])
    assert frame["address"].tolist() == ["Fudan University, Shanghai, China"] * 2
    checked = validate_records(
        frame.assign(file="x.csv"), rounding_deg=0.01, known_countries=known_economies()
    )
    assert checked["reason"][1] == "bad year"
