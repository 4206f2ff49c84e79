"""What every reader shares: its output columns and fractional counting by author."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Columns of a reader's output, in order: the record contract (``weight`` always set), the
#: optional profile columns, where the row came from, and why a reader could not place it.
READER_COLUMNS: tuple[str, ...] = (
    "source",
    "doc_id",
    "year",
    "lat",
    "lon",
    "country",
    "city",
    "state",
    "address",
    "weight",
    "organization",
    "field",
    "amount",
    "row",
    "no_address",
)


def author_weights(doc: Sequence[Any], author: Sequence[Any]) -> np.ndarray:
    """Fractional counts: each document counts 1, split equally over its authors (or
    inventors, or authorships), and each author's part equally over that author's rows
    (addresses, institutions).

    Parameters
    ----------
    doc, author : sequence
        Per row: the document and the author (any hashable ids; an author id only needs to
        be unique within its document).

    Returns
    -------
    numpy.ndarray of float64
        One weight per row; the weights of a document sum to 1.

    Examples
    --------
    >>> author_weights(["w1", "w1", "w1", "w2"], [0, 0, 1, 0]).tolist()
    [0.25, 0.25, 0.5, 1.0]
    """
    frame = pd.DataFrame({"doc": list(doc), "author": list(author)})
    if frame.empty:
        return np.zeros(0, np.float64)
    rows_per_author = frame.groupby(["doc", "author"], sort=False)["doc"].transform("size")
    authors_per_doc = frame.groupby("doc", sort=False)["author"].transform("nunique")
    return 1.0 / (authors_per_doc.to_numpy(np.float64) * rows_per_author.to_numpy(np.float64))


def reader_frame(columns: Mapping[str, Any], n: int) -> pd.DataFrame:
    """A reader's output with every ``READER_COLUMNS`` column: given ones as given, the
    others empty (None for text, NaN for numbers)."""
    numeric = {"lat", "lon", "weight", "amount"}
    out = {}
    for name in READER_COLUMNS:
        if name in columns:
            out[name] = columns[name]
        elif name in numeric:
            out[name] = np.full(n, np.nan)
        elif name == "row":
            out[name] = np.arange(n, dtype=np.int64)
        else:
            out[name] = np.full(n, None, dtype=object)
    extra = {k: v for k, v in columns.items() if k not in READER_COLUMNS}
    return pd.DataFrame({**out, **extra})
