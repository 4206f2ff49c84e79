"""The OpenAlex works reader on snapshot lines and API pages in their published form."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.readers import READER_COLUMNS
from core.readers import openalex as oa
from core.records import validate_records
from core.regions import known_economies

DATA = Path(__file__).parent / "data" / "openalex"
P = "https://openalex.org/"
STATE_OF_OA = P + "W2741809807"


def read(name: str, **options: object) -> pd.DataFrame:
    return oa.parse((DATA / name).read_bytes(), file=name, options=options or None)


def institutions() -> pd.DataFrame:
    return oa.parse_institutions((DATA / "institutions.jsonl").read_bytes())


def rows_of(frame: pd.DataFrame, doc: str) -> pd.DataFrame:
    return frame[frame["doc_id"] == doc].reset_index(drop=True)


def texts(values: pd.Series) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in values]


def test_columns_source_and_types_of_the_snapshot_file():
    frame = read("works_snapshot.jsonl")
    assert tuple(frame.columns[: len(READER_COLUMNS)]) == READER_COLUMNS
    assert {"author", "institution_id", "ror"} <= set(frame.columns)
    assert set(frame["source"]) == {"publication"}
    # Five lines: the book chapter (line 2) is skipped, the other four works stay.
    assert frame["doc_id"].unique().tolist() == [
        STATE_OF_OA,
        P + "W4400000001",
        P + "W4400000003",
        P + "W4400000004",
    ]
    assert frame["row"].unique().tolist() == [0, 1, 3, 4]
    assert frame.attrs["skipped"] == 1
    assert frame.attrs["skipped_types"] == {"book-chapter": 1}


def test_three_institutions_one_abroad_give_three_rows_of_a_third():
    work = rows_of(read("works_snapshot.jsonl"), P + "W4400000001")
    assert work["weight"].tolist() == pytest.approx([1 / 3] * 3)
    assert work["country"].tolist() == ["CA", "CA", "US"]
    assert work["organization"].tolist() == [
        "University of Toronto",
        "University of Ottawa",
        "University of North Carolina at Chapel Hill",
    ]
    assert work["institution_id"].tolist() == [P + "I185261750", P + "I153718931", P + "I114027177"]
    assert work["ror"].tolist()[2] == "https://ror.org/0130frc33"
    assert set(work["field"]) == {"Computer Science"}
    assert set(work["year"]) == {2024}
    # Without the institutions table: no coordinates, the linked raw string as address.
    assert work["lat"].isna().all() and work["lon"].isna().all()
    assert work["address"][2] == (
        "Department of Computer Science, University of North Carolina at Chapel Hill, "
        "Chapel Hill, NC 27599, USA"
    )


def test_an_authorship_with_two_institutions_splits_its_share():
    # Three authorships of a third each; Larivière's third over Montréal and UQAM.
    work = rows_of(read("works_snapshot.jsonl"), STATE_OF_OA)
    assert work["weight"].tolist() == pytest.approx([1 / 3, 1 / 6, 1 / 6, 1 / 3])
    assert work["organization"].tolist()[1:3] == [
        "University of Montreal",
        "University of Quebec at Montreal",
    ]
    # Both institutions were matched from the one string: it is their address.
    assert work["address"][1] == work["address"][2]
    assert work["address"][1].endswith("Université de Montréal, Montréal, QC, Canada.")
    assert work["field"].tolist() == ["Decision Sciences"] * 4
    assert work["author"].tolist() == [P + "A1969205032", P + "A291762745", P + "A291762745"] + [
        P + "A2741312048"
    ]


def test_raw_strings_without_institutions_and_rows_without_any_place():
    frame = read("works_snapshot.jsonl")
    work = rows_of(frame, P + "W4400000003")
    # Three authorships: two unmatched strings (1/6 each), nothing (1/3), and an all-null
    # institution with one string (1/3).
    assert work["weight"].tolist() == pytest.approx([1 / 6, 1 / 6, 1 / 3, 1 / 3])
    assert texts(work["address"]) == [
        "Institut Pasteur, 28 rue du Docteur Roux, 75015 Paris, France",
        "Sorbonne Université, Paris, France",
        None,
        "Max Planck Institute for Solid State Research, Heisenbergstr. 1, 70569 Stuttgart, Germany",
    ]
    assert texts(work["country"]) == ["FR", "FR", None, "DE"]
    assert texts(work["organization"]) == [None] * 4
    assert texts(work["no_address"]) == [None, None, oa.NO_INSTITUTION, None]
    assert work["year"][2] == 2023 and work["weight"][2] == pytest.approx(1 / 3)

    empty = rows_of(frame, P + "W4400000004")
    # No authorships: one row of the whole work; publication_year is null, the date has it.
    assert len(empty) == 1 and empty["weight"][0] == 1.0
    assert empty["no_address"][0] == oa.NO_AUTHORSHIP and empty["year"][0] == 2024
    assert texts(empty["address"]) == [None] and texts(empty["field"]) == [None]


@pytest.mark.parametrize("name", ["works_snapshot.jsonl", "works_page.json", "works_2022.jsonl"])
def test_weights_of_each_work_sum_to_one(name):
    sums = read(name, work_types=None).groupby("doc_id")["weight"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)


def test_the_api_page_with_bom_and_crlf_reads_like_snapshot_lines():
    page = read("works_page.json")
    assert page["row"].tolist() == [0, 0, 0, 0, 1, 1, 1]  # result index in the page
    snapshot = rows_of(read("works_snapshot.jsonl"), STATE_OF_OA)
    same = rows_of(page, STATE_OF_OA)
    cols = ["doc_id", "year", "weight", "country", "address", "organization", "institution_id"]
    pd.testing.assert_frame_equal(same[cols], snapshot[cols])
    # One author at two institutions (1/4 each), one at one (1/2).
    other = rows_of(page, P + "W4400000005")
    assert other["weight"].tolist() == pytest.approx([1 / 4, 1 / 4, 1 / 2])
    # affiliations link each string to its institution.
    assert other["address"].tolist()[:2] == [
        "Department of Physics, University of Washington, Seattle, WA 98195, USA",
        "Department of Physics, University of Toronto, Toronto, ON, Canada",
    ]


def test_the_2022_form_crossref_type_single_raw_string_and_no_topic():
    frame = read("works_2022.jsonl")  # type "journal-article" counts as an article
    assert set(frame["doc_id"]) == {STATE_OF_OA}  # the same id as in the current files
    # Nine authorships; Larivière, Alperin and Haustein have two institutions each.
    ninth, eighteenth = 1 / 9, 1 / 18
    expected = [ninth, ninth, eighteenth, eighteenth, eighteenth, eighteenth]
    expected += [ninth, ninth, ninth, ninth, eighteenth, eighteenth]
    assert frame["weight"].tolist() == pytest.approx(expected)
    assert texts(frame["field"]) == [None] * 12
    # The Public Knowledge Project has no ROR id and no country in this form.
    pkp = frame[frame["organization"] == "Public Knowledge Project"].iloc[0]
    assert pd.isna(pkp["ror"]) and pd.isna(pkp["country"])
    assert pkp["address"].startswith("Canadian Institute for Studies in Publishing")
    # A MAG-era string in brackets loses them.
    assert frame["address"][9] == "Information School, University of Washington, Seattle, USA"
    assert len(read("works_2022.jsonl", work_types=["review"])) == 0


def test_work_types_option():
    assert len(read("works_snapshot.jsonl", work_types=None)["doc_id"].unique()) == 5
    chapters = read("works_snapshot.jsonl", work_types="book-chapter")
    assert chapters["doc_id"].unique().tolist() == [P + "W4400000002"]
    assert chapters.attrs["skipped"] == 4


def test_institutions_table_fills_coordinates_city_region_and_country():
    table = institutions()
    assert table.columns.tolist() == list(oa.INSTITUTION_COLUMNS)
    unc = table[table["id"] == P + "I114027177"].iloc[0]
    assert (unc["geo.latitude"], unc["geo.longitude"]) == (35.905163, -79.04694)
    assert (unc["geo.city"], unc["geo.region"], unc["country_code"]) == (
        "Chapel Hill",
        "North Carolina",
        "US",
    )
    work = rows_of(read("works_snapshot.jsonl", institutions=table), P + "W4400000001")
    assert work["lat"][0] == 43.66 and work["lon"][0] == -79.39
    assert texts(work["city"]) == ["Toronto", None, "Chapel Hill"]
    assert texts(work["state"]) == ["Ontario", None, "North Carolina"]
    # Ottawa is not in the table: it keeps the work's country and no coordinates.
    assert np.isnan(work["lat"][1]) and work["country"][1] == "CA"
    assert work["weight"].tolist() == pytest.approx([1 / 3] * 3)
    # Short ids (as some API clients keep them) match too.
    short = table.assign(id=table["id"].str.removeprefix(P))
    again = rows_of(read("works_snapshot.jsonl", institutions=short), P + "W4400000001")
    assert again["lat"][2] == 35.905163


def test_the_same_work_keeps_its_id_in_every_file_and_short_ids_are_completed():
    ids = {name: set(read(name)["doc_id"]) for name in ("works_snapshot.jsonl", "works_2022.jsonl")}
    assert STATE_OF_OA in ids["works_snapshot.jsonl"] and ids["works_2022.jsonl"] == {STATE_OF_OA}
    line = json.loads((DATA / "works_2022.jsonl").read_text("utf-8"))
    line["id"] = "W2741809807"
    short = oa.parse(json.dumps(line).encode(), file="short.jsonl")
    assert set(short["doc_id"]) == {STATE_OF_OA}


def test_a_work_written_twice_in_one_file_still_counts_once():
    line = (DATA / "works_2022.jsonl").read_bytes()
    twice = oa.parse(line + line, file="twice.jsonl")
    assert twice["weight"].sum() == pytest.approx(1.0)
    assert twice["row"].unique().tolist() == [0, 1]


def test_line_endings_and_blank_lines_do_not_matter():
    data = (DATA / "works_snapshot.jsonl").read_bytes()
    plain = oa.parse(data, file="a")
    for variant in (b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"), data.replace(b"\n", b"\r")):
        pd.testing.assert_frame_equal(oa.parse(variant, file="b"), plain)
    assert len(oa.parse(b"", file="empty")) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"id": "https://openalex.org/W1", "type": "article", "authorships": []}\n{"id": ',
            "line 2: not JSON",
        ),
        (b"\n\nid,title\n", "line 3: not JSON"),
        (
            b'{"id": "https://openalex.org/A5023888391", "display_name": "x"}',
            "line 1: field 'id' is not an OpenAlex work id",
        ),
        (b'{"type": "article", "authorships": []}', "line 1: missing field 'id'"),
        (
            b'{"id": "https://openalex.org/W1", "type": "article"}',
            "line 1: missing field 'authorships'",
        ),
        (
            b'{"meta": {"count": 1},\n "results": [{"id": "W1", "type": "article"}]}',
            "results[0]: missing field 'authorships'",
        ),
        (b'{"meta": {},\n "results": [\n', "line 3: not JSON"),
        (b"[1, 2]", "line 1: not a JSON object but a list"),
        (
            b'{"meta": {}, "results": [{"id": "W1", "authorships": []}, 3]}',
            "line 1: results[1]: not",
        ),
        (b'{"id": "W1"}\n\xff\n', "line 2: not UTF-8"),
    ],
)
def test_bad_input_names_the_first_bad_line_or_field(data, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)) as info:
        oa.parse(data, file="bad.jsonl")
    assert "\n" not in str(info.value)


def test_bad_institutions_name_their_line_and_bad_options_their_name():
    works = (DATA / "works_snapshot.jsonl").read_bytes()
    with pytest.raises(ValueError, match="^line 1: field 'id' is not an OpenAlex institution"):
        oa.parse_institutions(works)
    with pytest.raises(ValueError, match="option 'institutions': missing column 'id'"):
        oa.parse(works, file="w", options={"institutions": pd.DataFrame({"x": [1]})})


def test_validate_records_accepts_the_output():
    frame = read("works_snapshot.jsonl", institutions=institutions())
    raw = frame.assign(file="works_snapshot.jsonl")
    checked = validate_records(
        raw, rounding_deg=0.01, known_countries=known_economies(), geocoder=None
    )
    reasons = checked["reason"].astype(str).tolist()
    placed = frame["lat"].notna().to_numpy()
    unplaced = frame["no_address"].notna().to_numpy()
    assert all(r == "" for r in np.array(reasons)[placed])
    assert all(r == "no address" for r in np.array(reasons)[unplaced])
    assert all(r == "not geocoded" for r in np.array(reasons)[~placed & ~unplaced])
    assert checked["year"].tolist() == [2018] * 4 + [2024] * 3 + [2023] * 4 + [2024]
    assert checked["weight"].sum() == pytest.approx(4.0)
    assert checked["doc_id"].nunique() == 4


def test_geocoder_places_real_affiliation_strings_in_their_countries():
    from core.geocoding import geocode
    from flows.gazetteer_cache import gazetteer_index

    frame = pd.concat([read("works_snapshot.jsonl"), read("works_2022.jsonl")])
    wanted = {
        "Impactstory, Sanford, NC, USA": "US",
        "Information School, University of Washington, Seattle, USA": "US",
        "Canadian Institute for Studies in Publishing, Simon Fraser University, Vancouver, "
        "BC, Canada.": "CA",
        "École de bibliothéconomie et des sciences de l'information, Université de Montréal, "
        "Montréal, QC, Canada.": "CA",
        "Institut Pasteur, 28 rue du Docteur Roux, 75015 Paris, France": "FR",
    }
    rows = frame[frame["address"].isin(list(wanted))].drop_duplicates("address")
    assert len(rows) == len(wanted)
    places = pd.DataFrame({"address": rows["address"].tolist(), "country": None})
    found = geocode(places, index=gazetteer_index())
    assert found["country"].tolist() == [wanted[a] for a in places["address"]]
    assert found["lat"].notna().all()
