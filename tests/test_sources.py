"""The table of sources (core.sources) and what must follow it: columns, labels, defaults."""

from __future__ import annotations

from dataclasses import fields
from importlib import resources

import yaml

from core.measures import RANKING_COLUMNS
from core.sources import (
    COUNT_COLUMNS,
    PER_MILLION_COLUMNS,
    SHARE_COLUMNS,
    SOURCE_TABLE,
    SOURCES,
    Source,
)


def _columns(source: Source) -> tuple[str, str, str]:
    return source.count_column, source.share_column, source.per_million_column


def test_names_are_unique_and_in_the_gii_order():
    names = [s.name for s in SOURCE_TABLE]
    assert len(set(names)) == len(names)
    assert SOURCES == ("patent", "publication", "vc")
    assert tuple(names) == SOURCES


def test_columns_are_unique_across_sources_and_kinds():
    columns = [c for s in SOURCE_TABLE for c in _columns(s)]
    assert len(columns) == 3 * len(SOURCE_TABLE)
    assert len(set(columns)) == len(columns)
    # No output column is also a source name (the record contract's ``source`` values).
    assert not set(columns) & set(SOURCES)


def test_derived_dicts_agree_with_the_table():
    for mapping, attribute in (
        (COUNT_COLUMNS, "count_column"),
        (SHARE_COLUMNS, "share_column"),
        (PER_MILLION_COLUMNS, "per_million_column"),
    ):
        assert list(mapping) == list(SOURCES)
        assert mapping == {s.name: getattr(s, attribute) for s in SOURCE_TABLE}
    assert COUNT_COLUMNS == {"patent": "patents", "publication": "publications", "vc": "vc_deals"}


def test_every_field_of_every_source_is_set():
    for source in SOURCE_TABLE:
        for field in fields(Source):
            value = getattr(source, field.name)
            assert isinstance(value, str), (source.name, field.name)
            if field.name != "counted":  # "" when a deal needs no explanation
                assert value.strip() == value and value, (source.name, field.name)


def test_labels_read_as_the_report_headings():
    by_name = {s.name: s for s in SOURCE_TABLE}
    patent, publication, vc = by_name["patent"], by_name["publication"], by_name["vc"]
    assert patent.count_label == "Patents (PCT applications, fractional count)"
    assert patent.share_label == "Share of world patents (%)"
    assert patent.per_million_label == "Patents per million inhabitants"
    assert publication.count_label == "Publications (scientific articles, fractional count)"
    assert publication.per_million_label == "Publications per million inhabitants"
    assert vc.count_label == "VC deals (fractional count)"
    assert vc.share_label == "Share of world VC deals (%)"
    assert vc.per_million_label == "VC deals per million inhabitants"


def test_ranking_columns_hold_every_column_of_every_source():
    assert len(set(RANKING_COLUMNS)) == len(RANKING_COLUMNS)
    for source in SOURCE_TABLE:
        for column in _columns(source):
            assert column in RANKING_COLUMNS, (source.name, column)
    # Counts before shares before the per-million columns, each in source order.
    position = {c: RANKING_COLUMNS.index(c) for s in SOURCE_TABLE for c in _columns(s)}
    ordered = [*COUNT_COLUMNS.values(), *SHARE_COLUMNS.values(), *PER_MILLION_COLUMNS.values()]
    assert sorted(position, key=position.get) == ordered


def test_defaults_have_an_entry_for_every_source():
    text = resources.files("flows").joinpath("defaults.yaml").read_text(encoding="utf-8")
    defaults = yaml.safe_load(text)["sources"]
    assert set(defaults) == set(SOURCES)
    keys = set(defaults[SOURCES[0]])
    assert keys >= {"eps-km", "min-weight", "min-share", "share-weight"}
    for name in SOURCES:
        assert set(defaults[name]) == keys, name
