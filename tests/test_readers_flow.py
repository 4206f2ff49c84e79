"""flows/readers.py: source exports through their readers in `icrank run` and `icrank convert`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from flows.cli import INPUT_FORMAT_NAMES
from flows.config import _schema
from flows.readers import SOURCE_FORMATS
from flows.run import INPUT_FORMATS
from tests.support import invoke, only_run

DATA = Path(__file__).parent / "data"
SCOPUS = DATA / "scopus"
MAPPING = DATA.parents[1] / "deploy" / "deals-mapping-example.yaml"
# The fixtures are a handful of documents: every location with one of them is a cluster.
SMALL = {"ICRANK__SOURCES__PUBLICATION__MIN_WEIGHT": "0.3"}


def one_line_failure(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    last = result.output.strip().splitlines()[-1]
    assert all(n in last for n in needles), last
    assert "Traceback" not in result.output


def test_every_place_that_names_formats_names_the_same_ones():
    schema = _schema()["properties"]["inputs"]["items"]["properties"]["format"]["enum"]
    assert INPUT_FORMAT_NAMES == INPUT_FORMATS == ("records", *SOURCE_FORMATS)
    assert tuple(schema) == INPUT_FORMATS


@pytest.mark.slow
def test_overlapping_exports_count_each_document_once_and_unplaceable_rows_are_rejects(
    tmp_path,
):
    result = invoke(
        "run",
        "--format",
        "scopus",
        "--input",
        str(SCOPUS / "export_2023.csv"),
        "--input",
        str(SCOPUS / "excel_resaved.csv"),
        "--output",
        str(tmp_path),
        "--workers",
        "1",
        env=SMALL,
    )
    assert result.exit_code == 0, result.output
    run = only_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    publications = summary["counts"]["per_source"]["publication"]
    # excel_resaved.csv repeats one document of export_2023.csv (README of the fixtures).
    assert publications["duplicate_documents_dropped"] == 1
    assert publications["duplicate_rows_dropped"] > 0
    assert [i["format"] for i in summary["inputs"]] == ["scopus", "scopus"]
    rejects = pd.read_parquet(run / "rejects.parquet")
    no_address = rejects[rejects["reason"].astype(str) == "no address"]
    assert len(no_address) > 0 and no_address["value"].str.contains("affiliation").all()
    assert summary["counts"]["rows_read"] == (
        summary["counts"]["rows_rejected"]
        + publications["rows"]
        + publications["duplicate_rows_dropped"]
    )
    assert len(pd.read_parquet(run / "rankings.parquet")) > 0


@pytest.mark.slow
def test_converted_records_rank_like_the_export_itself(tmp_path):
    export = str(SCOPUS / "export_2023.csv")
    converted = tmp_path / "scopus"
    result = invoke("convert", "--format", "scopus", "--input", export, "--output", str(converted))
    assert result.exit_code == 0, result.output
    parts = sorted(p.name for p in converted.iterdir())
    assert parts == ["part-00001-00000.parquet"]  # file 1, piece 0
    records = pd.read_parquet(converted)
    rejected = pd.read_parquet(tmp_path / "scopus-rejects")
    assert rejected["no_address"].str.len().gt(0).all() and "no_address" not in records
    # Every document still weighs 1 over its rows, placed or not.
    weights = pd.concat([records, rejected]).groupby("doc_id")["weight"].sum()
    assert weights.round(9).eq(1).all()

    rankings = []
    for args in (["--format", "scopus", "--input", export], ["--input", str(converted)]):
        out = tmp_path / f"run-{len(rankings)}"
        result = invoke("run", *args, "--output", str(out), "--workers", "1", env=SMALL)
        assert result.exit_code == 0, result.output
        rankings.append(pd.read_parquet(only_run(out) / "rankings.parquet"))
    pd.testing.assert_frame_equal(rankings[0], rankings[1])


def test_bad_formats_and_options_are_usage_errors(tmp_path):
    export = str(SCOPUS / "export_2023.csv")
    result = invoke("run", "--format", "ris", "--input", export)
    assert result.exit_code == 2 and "'ris' is not one of" in result.output
    result = invoke("run", "--format", "scopus", "--mapping", "m.yaml", "--input", export)
    one_line_failure(result, 2, "--mapping applies to --format deals")
    result = invoke("convert", "--format", "deals", "--input", export, "--output", str(tmp_path))
    one_line_failure(result, 2, "--format deals needs --mapping")


def test_a_file_not_of_the_format_is_an_input_error_naming_it(tmp_path):
    broken = SCOPUS / "concatenated_exports.csv"
    result = invoke(
        "convert", "--format", "scopus", "--input", str(broken), "--output", str(tmp_path / "o")
    )
    one_line_failure(result, 3, "concatenated_exports.csv", "not a scopus file", "line")
    result = invoke(
        "convert",
        "--format",
        "scopus",
        "--input",
        str(DATA / "ror_sample.csv"),
        "--output",
        str(tmp_path / "o2"),
    )
    one_line_failure(result, 3, "ror_sample.csv", "EID")
    result = invoke(
        "convert",
        "--format",
        "scopus",
        "--input",
        str(SCOPUS / "README.md"),
        "--output",
        str(tmp_path / "o3"),
    )
    one_line_failure(result, 3, "README.md", "not a scopus (.csv or .csv.gz) file")


@pytest.mark.slow
def test_one_run_mixes_formats_through_the_configs_inputs(tmp_path, monkeypatch):
    # The README's example: OpenAlex works, PatentsView tables and a deals table.
    monkeypatch.chdir(DATA.parents[1])
    config = "deploy/sources-example.yaml"
    result = invoke("run", "--config", config, "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    summary = json.loads((only_run(tmp_path / "out") / "summary.json").read_text())
    assert [i["format"] for i in summary["inputs"]] == ["openalex"] + ["patentsview"] * 6 + [
        "deals"
    ]
    per_source = summary["counts"]["per_source"]
    assert all(per_source[s]["documents"] > 0 for s in ("patent", "publication", "vc"))
    # Nine utility patents; 10000000's only inventor has no location.
    assert per_source["patent"]["documents"] == 8
    assert "bad source" not in summary["counts"]["rejected_by_reason"]
    assert not list((tmp_path / "out").glob(".icrank-scratch*"))
    assert summary["synthetic"] is False
    # Profiles from the exports' own columns: PatentsView assignees and CPC groups (mapped
    # to WIPO's technology fields), OpenAlex institutions and topics, deal amounts.
    folder = only_run(tmp_path / "out")
    ranked = pd.read_parquet(folder / "rankings.parquet").set_index("name")
    assert ranked.loc["Boston, MA", "top_applicant"] == "Massachusetts Institute of Technology"
    assert ranked.loc["Seoul", "top_applicant"] == "Samsung Electronics Co., Ltd."
    assert ranked.loc["Seoul", "top_tech_field"] == "Semiconductors"  # CPC H01L
    assert ranked.loc["Toronto", "top_science_org"] == "University of Toronto"
    assert ranked["top_science_field"].notna().any()
    with_deals = ranked["vc_deals"] > 0
    assert (ranked.loc[with_deals, "vc_amount"] > 0).all()
    profiles = pd.read_parquet(folder / "profiles.parquet")
    assert set(profiles["kind"]) == {"organization", "field"}
    report = (folder / "report.html").read_text()
    assert "Massachusetts Institute of Technology" in report
