"""Cutting source files into pieces of whole records (core/readers/pieces.py), and reading
real exports piece by piece as if whole (flows.readers.iter_source_frames)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core.readers import openalex, scopus
from core.readers.pieces import Piece, header_end, iter_pieces, record_end
from flows.errors import InputError
from flows.readers import iter_source_frames

DATA = Path(__file__).parent / "data"

cells = st.text(alphabet=st.sampled_from(list('ab,"\n\r é')), max_size=8)
tables = st.lists(st.lists(cells, min_size=3, max_size=3), min_size=0, max_size=25)


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["h1", "h,2", 'h"3'])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def records_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@settings(max_examples=150, deadline=None)
@given(rows=tables, piece_bytes=st.integers(1, 64))
def test_csv_pieces_hold_whole_records_whatever_the_piece_size(rows, piece_bytes):
    data = csv_bytes(rows)
    pieces = list(iter_pieces(io.BytesIO(data), kind="csv", piece_bytes=piece_bytes))
    header = records_of(data)[0]
    got = []
    for piece in pieces:
        records = records_of(piece.data)
        # Every piece parses on its own, starting with the header.
        assert records[0] == header
        got += records[1:]
    assert got == records_of(data)[1:]
    # The pieces' records are the file's bytes, in order, each exactly once.
    head = header_end(data, kind="csv")
    assert b"".join(p.data[head if p.index else 0 :] for p in pieces) == data


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.text(alphabet="ab{}", max_size=10), max_size=20), size=st.integers(1, 30))
def test_line_pieces_keep_every_line_and_count_lines_before(lines, size):
    data = "".join(line + "\n" for line in lines).encode()
    pieces = list(iter_pieces(io.BytesIO(data), kind="jsonl", piece_bytes=size))
    # Only trailing blank lines (no record) may be left out.
    joined = b"".join(p.data for p in pieces)
    assert data.startswith(joined) and not data[len(joined) :].strip()
    before = 0
    for piece in pieces:
        assert piece.lines_before == before and piece.data.endswith(b"\n") or not piece.data
        before += piece.data.count(b"\n")


def test_record_ends_by_kind():
    assert record_end(b'a\n"b\nc",d\n"e', kind="csv") == 10
    assert record_end(b'a\n"b\nc', kind="csv") == 2
    assert record_end(b"PT J\nER\n\nPT J\nAU x\n", kind="tagged") == 8
    assert record_end(b"x\ty\nz", kind="tsv") == 4
    with pytest.raises(ValueError, match="unknown piece kind"):
        record_end(b"", kind="xml")


def test_a_line_of_a_later_piece_is_named_by_its_line_in_the_file():
    piece = Piece(b"h\nr\nbad\n", header_lines=1, lines_before=40, index=3)
    assert piece.file_line(1) == 1 and piece.file_line(3) == 42


def test_an_empty_file_is_one_empty_piece():
    assert [p.data for p in iter_pieces(io.BytesIO(b""), kind="csv", piece_bytes=8)] == [b""]


def values(frame: pd.DataFrame) -> pd.DataFrame:
    # Missing text is None or NaN depending on which pieces a column's values came from.
    frame = frame.reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


DEALS_EXAMPLE = yaml.safe_load(
    (DATA.parents[1] / "deploy" / "deals-mapping-example.yaml").read_text("utf-8")
)
FIXTURES = [
    ("wos", DATA / "wos" / "savedrecs_2024.txt", {}),
    ("wos", DATA / "wos" / "savedrecs_2013_crlf.txt", {}),
    ("wos", DATA / "wos" / "savedrecs_tab.txt", {}),
    ("scopus", DATA / "scopus" / "export_2023.csv", {}),
    ("scopus", DATA / "scopus" / "legacy_2005.csv", {}),
    ("scopus", DATA / "scopus" / "excel_resaved.csv", {}),
    ("openalex", DATA / "openalex" / "works_snapshot.jsonl", {}),
    ("openalex", DATA / "openalex" / "works_page.json", {}),
    ("deals", DATA / "deals" / "funding_rounds.csv", {"mapping": DEALS_EXAMPLE}),
]


@pytest.mark.parametrize(("fmt", "path", "options"), FIXTURES, ids=lambda v: getattr(v, "name", v))
def test_real_exports_read_in_small_pieces_as_if_whole(fmt, path, options):
    whole = pd.concat(list(iter_source_frames(str(path), fmt, options, {}, piece_bytes=1 << 30)))
    frames = list(iter_source_frames(str(path), fmt, options, {}, piece_bytes=300))
    if path.suffix != ".json":
        assert len(frames) > 1
    pd.testing.assert_frame_equal(values(pd.concat(frames)), values(whole))


def test_a_bad_line_deep_in_a_file_is_named_by_its_line_in_the_file(tmp_path):
    lines = (DATA / "openalex" / "works_snapshot.jsonl").read_bytes().splitlines(keepends=True)
    broken = tmp_path / "part_000.jsonl"
    broken.write_bytes(b"".join(lines * 3) + b'{"id": "W1", \n')
    bad_line = len(lines) * 3 + 1
    for size in (200, 1 << 30):
        with pytest.raises(
            InputError, match=rf"part_000.jsonl: not a openalex file: line {bad_line}\b"
        ):
            list(iter_source_frames(str(broken), "openalex", {}, {}, piece_bytes=size))


def test_rows_count_through_the_pieces_of_a_file():
    path = DATA / "scopus" / "export_2023.csv"
    frames = list(iter_source_frames(str(path), "scopus", {}, {}, piece_bytes=300))
    rows = pd.concat(frames)["row"]
    whole = scopus.parse(path.read_bytes(), file=path.name)
    assert rows.tolist() == whole["row"].tolist() and rows.max() > 1
    assert openalex.piece_kind(b'{\n  "meta": {}', file="page.txt") is None


def test_rows_of_a_deal_in_different_pieces_share_it_as_in_the_whole_file(tmp_path):
    # d1's rows are the first and the last of the file; d2's middle row names two cities.
    rows = ["d1,2020,Boston", "d2,2021,Lyon; Nice"] + [f"x{i},2022,Paris" for i in range(40)]
    path = tmp_path / "deals.csv"
    path.write_text("deal,year,city\n" + "\n".join([*rows, "d1,2020,Berlin"]) + "\n")
    mapping = {"id": "deal", "year": "year", "city": "city", "multi_valued": {"city": ";"}}
    options = {"mapping": mapping}
    frames = list(iter_source_frames(str(path), "deals", options, {}, piece_bytes=100))
    assert len(frames) > 3
    out = pd.concat(frames, ignore_index=True)
    weight = out.set_index(["doc_id", "city"])["weight"]
    assert weight[("d1", "Boston")] == weight[("d1", "Berlin")] == 0.5
    assert weight[("d2", "Lyon")] == weight[("d2", "Nice")] == 0.5
    assert (out.loc[out["doc_id"].str.startswith("x"), "weight"] == 1.0).all()
    assert out["row"].tolist() == [0, 1, 1, *range(2, 43)]
    whole = pd.concat(
        list(iter_source_frames(str(path), "deals", options, {}, piece_bytes=1 << 30))
    )
    pd.testing.assert_frame_equal(values(out), values(whole))


def test_a_utf16_export_reads_as_one_piece_like_its_utf8_form(tmp_path):
    text = (DATA / "wos" / "savedrecs_tab.txt").read_bytes().decode("utf-8-sig")
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))
    (tmp_path / "utf8.txt").write_bytes(text.encode("utf-8"))
    got, want = (
        pd.concat(list(iter_source_frames(str(tmp_path / n), "wos", {}, {}, piece_bytes=300)))
        for n in ("utf16.txt", "utf8.txt")
    )
    pd.testing.assert_frame_equal(
        values(got.drop(columns="file")), values(want.drop(columns="file"))
    )
