"""Source formats → the record contract: one module per format, pure functions on text.

Each reader turns one piece of its source's files (already read into memory by
``flows/inputs.py``: a chunk of lines, records or table rows) into a frame of the record
contract (``core.records``) plus the optional profile columns, with an explicit ``weight``
(fractional counting as the source defines authorship) and the source's identifiers. Rows a
reader cannot place keep their document and carry ``no_address`` (the reader's reason); they
become rejects, never silently dropped.
"""

from __future__ import annotations

from core.readers.common import READER_COLUMNS, author_weights, reader_frame

__all__ = ["READER_COLUMNS", "author_weights", "reader_frame"]
