"""Cutting a source file into pieces of whole records, so that a reader parses a file of
any size piece by piece with bounded memory.

A piece is the file's header (for tables: the first record) followed by whole records,
never a record cut in two. Where records end depends on the form of the file:

- ``"jsonl"``: one record per line (OpenAlex snapshot lines).
- ``"tsv"``: a header line, then one record per line (fields never quoted: Web of Science
  tab-delimited exports).
- ``"csv"``: a header record, then records that may hold line breaks inside quoted fields;
  quotes inside quoted fields are doubled, so a line break ends a record exactly when the
  number of quotes before it is even (Scopus exports, deal tables).
- ``"tagged"``: field-tagged records that each end with an ``ER`` line (Web of Science plain
  text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

PIECE_KINDS = ("jsonl", "tsv", "csv", "tagged")
_RECORD_END = re.compile(rb"\nER[ \t]*\r?\n")


@dataclass(frozen=True)
class Piece:
    """Bytes a reader parses as a file of their own.

    Attributes
    ----------
    data : bytes
        ``header + records``.
    header_lines : int
        Lines of ``data`` that are the repeated header (0 in the first piece).
    lines_before : int
        Lines of the file before this piece's records.
    index : int
        0-based position of the piece in its file.
    """

    data: bytes
    header_lines: int
    lines_before: int
    index: int

    def file_line(self, line: int) -> int:
        """The file's 1-based line number of line ``line`` of :attr:`data`."""
        if line <= self.header_lines:
            return line
        return line - self.header_lines + self.lines_before


def _csv_break_before(data: bytes, stop: int, quotes: int) -> int:
    # The last line break before ``stop`` with an even number of quotes before it, given
    # ``quotes`` quotes in data[:stop]; -1 when there is none.
    while True:
        nl = data.rfind(b"\n", 0, stop)
        if nl < 0:
            return -1
        quotes -= data.count(b'"', nl, stop)
        if quotes % 2 == 0:
            return nl
        stop = nl


def record_end(data: bytes, *, kind: str) -> int:
    """The offset just past the last whole record of ``data`` (0 when there is none).

    ``data`` must start at a record boundary.

    Examples
    --------
    >>> record_end(b'a,b\\n"x\\ny",1\\n"z', kind="csv")
    11
    """
    if kind in ("jsonl", "tsv"):
        return data.rfind(b"\n") + 1
    if kind == "csv":
        return _csv_break_before(data, len(data), data.count(b'"')) + 1
    if kind == "tagged":
        # Only the tail is searched: records are short, and a miss widens the search.
        for start in (max(0, len(data) - 65536), 0):
            ends = [m.end() for m in _RECORD_END.finditer(data, max(0, start - 1))]
            if ends:
                return ends[-1]
        return 0
    raise ValueError(f"unknown piece kind {kind!r} (known: {', '.join(PIECE_KINDS)})")


def header_end(data: bytes, *, kind: str) -> int:
    """The offset just past the file's header in its first bytes: the header line of a
    table, nothing for JSON lines and tagged records (their pieces need none)."""
    if kind == "tsv":
        return data.find(b"\n") + 1
    if kind == "csv":
        stop = 0
        while True:
            nl = data.find(b"\n", stop)
            if nl < 0:
                return 0
            if data.count(b'"', 0, nl) % 2 == 0:
                return nl + 1
            stop = nl + 1
    return 0


def iter_pieces(
    stream: BinaryIO,
    *,
    kind: str | None | Callable[[bytes], str | None],
    piece_bytes: int,
) -> Iterator[Piece]:
    """The pieces of a file read from ``stream``, each of about ``piece_bytes`` of records
    (more when one record is longer).

    Parameters
    ----------
    stream : binary file object
        The file, decompressed.
    kind : str, None or callable
        One of :data:`PIECE_KINDS`; None: the whole file is one piece; a callable: decides
        from the file's first ``piece_bytes`` (a reader's ``piece_kind``).
    piece_bytes : int
        Bytes read at a time.
    """
    if piece_bytes <= 0:
        raise ValueError(f"piece_bytes must be positive, got {piece_bytes}")
    buffer = stream.read(piece_bytes)
    eof = not buffer
    if callable(kind):
        kind = kind(buffer)
    if kind is None:
        yield Piece(buffer + stream.read(), 0, 0, 0)
        return
    # The header must be whole before it can be repeated.
    while kind in ("csv", "tsv") and not eof and header_end(buffer, kind=kind) == 0:
        more = stream.read(piece_bytes)
        eof, buffer = not more, buffer + more
    header = buffer[: header_end(buffer, kind=kind)]
    header_lines = header.count(b"\n")
    index, lines_before = 0, 0
    while True:
        while not eof and len(buffer) < piece_bytes:
            more = stream.read(piece_bytes)
            eof, buffer = not more, buffer + more
        end = len(buffer) if eof else record_end(buffer, kind=kind)
        # A record longer than a piece: read on until it ends (the first piece must also
        # hold a record past its header).
        if not eof and end <= (len(header) if index == 0 else 0):
            more = stream.read(piece_bytes)
            eof, buffer = not more, buffer + more
            continue
        # Trailing line breaks, or the ``EF`` that closes tagged records, hold no record.
        if index > 0 and eof and buffer.strip() in (b"", b"EF"):
            return
        body, buffer = buffer[:end], buffer[end:]
        if index == 0:
            yield Piece(body, 0, 0, 0)
        else:
            yield Piece(header + body, header_lines, lines_before, index)
        lines_before += body.count(b"\n")
        index += 1
        if eof and not buffer:
            return
