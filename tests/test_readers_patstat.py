"""The PATSTAT reader on tests/data/patstat (data catalogue layout; see its README)."""

from __future__ import annotations

from pathlib import Path

from core.readers import patstat
from tests.support import table_records

FOLDER = Path(__file__).parent / "data" / "patstat"


def by_application(frame):
    return frame.sort_values(["doc_id", "invt_seq_nr"]).set_index("doc_id")


def test_pct_applications_by_default_three_inventors_one_abroad():
    out = by_application(table_records(patstat, FOLDER))
    assert sorted(set(out.index)) == ["500002", "500005", "500008"]
    pct = out.loc["500002"]
    assert pct["weight"].round(6).tolist() == [0.333333] * 3
    assert pct["country"].tolist() == ["US", "US", "DE"]
    assert pct["address"].tolist()[2] == "Leopoldstraße 8, 80802 München"
    assert set(pct["organization"]) == {"Acme Wireless, Inc."}
    assert set(pct["field"]) == {"H04W72/04"}  # the 'F' symbol, spaces removed
    assert out.groupby(level=0)["weight"].sum().round(9).eq(1).all()


def test_first_filings_and_all_applications_by_option():
    firsts = table_records(patstat, FOLDER, {"applications": "first-filings"})
    assert sorted(set(firsts["doc_id"])) == [
        "500001",
        "500004",
        "500005",
        "500006",
        "500008",
        "500009",
        "500010",
    ]
    assert len(firsts) == 14
    assert len(table_records(patstat, FOLDER, {"applications": "all"})) == 22


def test_an_inventor_without_address_or_country_is_unplaced():
    out = by_application(table_records(patstat, FOLDER, {"applications": "all"}))
    spr = out.loc["500006"]
    assert spr["country"].tolist()[0] == "FR"
    assert spr["no_address"].tolist()[1] == patstat.NO_ADDRESS
    priority = by_application(
        table_records(patstat, FOLDER, {"applications": "all", "year": "priority"})
    )
    assert out.loc["500002", "year"].iloc[0] == 2019
    assert priority.loc["500002", "year"].iloc[0] == 2018
