"""The PatentsView reader on tests/data/patentsview (published layout; see its README)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.readers import patentsview
from tests.support import table_records

FOLDER = Path(__file__).parent / "data" / "patentsview"


def by_patent(frame):
    return frame.sort_values(["doc_id", "inventor_sequence"]).set_index("doc_id")


def test_three_inventors_one_abroad_give_three_thirds():
    out = by_patent(table_records(patentsview, FOLDER))
    acme = out.loc["13000001"]
    assert acme["weight"].round(6).tolist() == [0.333333] * 3
    assert acme["country"].tolist() == ["US", "US", "CA"]
    assert acme["city"].tolist() == ["San Jose", "Cambridge", "Toronto"]
    # The first of two assignees, the first current CPC group.
    assert set(acme["organization"]) == {"Acme Wireless, Inc."}
    assert set(acme["field"]) == {"H04B7/0617"}
    assert out.groupby(level=0)["weight"].sum().round(9).eq(1).all()


def test_design_and_plant_patents_count_only_when_asked():
    assert len(table_records(patentsview, FOLDER)) == 17
    every = table_records(patentsview, FOLDER, {"patent_types": None})
    assert len(every) == 19 and {"D1200001", "PP34001"} <= set(every["doc_id"])


def test_years_are_filing_years_or_grant_years_by_option():
    filing = by_patent(table_records(patentsview, FOLDER))
    grant = by_patent(table_records(patentsview, FOLDER, {"year": "grant"}))
    assert filing.loc["10000000", "year"] == 2015 and grant.loc["10000000", "year"] == 2018
    assert filing.loc["13000001", "year"].tolist() == [2019] * 3
    assert grant.loc["13000001", "year"].tolist() == [2021] * 3


def test_unplaced_inventors_and_locations_without_coordinates():
    out = by_patent(table_records(patentsview, FOLDER))
    assert out.loc["10000000", "no_address"] == patentsview.NO_LOCATION
    boston = out.loc["13000003"]
    # No coordinates: the city, state and country go to the geocoder.
    assert (boston["city"], boston["state"], boston["country"]) == ("Boston", "MA", "US")
    assert pd.isna(boston["lat"]) and pd.isna(boston["organization"])
    assert out.loc["13000002", "city"].tolist() == ["München", "São Paulo"]
    with pytest.raises(ValueError, match="year must be one of filing, grant"):
        patentsview.check_options({"year": "publication"})
