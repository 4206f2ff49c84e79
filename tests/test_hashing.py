"""128-bit keys of text ids (core/hashing.py), in the shapes core.records passes them.

``core.records.keyed_rows`` hashes a boolean-masked slice of the checked ``doc_id`` column
(pandas' string dtype, or Arrow-backed text read from Parquet) with the source's category
code as the per-row salt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core.hashing import hash_text, name_keys

REPO = Path(__file__).resolve().parents[1]
MASK = (1 << 64) - 1
SAMPLE = ["", "a", "b", "ab", "ba", "W2741809807", "10.1038/nature14539", "München", "東京", "🙂"]


def keys(values: pd.Series, salt: np.ndarray | int = 0) -> list[tuple[int, int]]:
    """(first, second) hash of each value, as Python ints."""
    salt = np.broadcast_to(np.asarray(salt, dtype=np.int64), (len(values),))
    a, b = hash_text(values, salt)
    assert a.dtype == np.uint64 and b.dtype == np.uint64
    assert a.shape == b.shape == (len(values),)
    return list(zip(a.tolist(), b.tolist(), strict=True))


def _fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK
    return h ^ (h >> 33)


def reference_key(text: str, salt: int) -> tuple[int, int]:
    """The module's two hashes written out in plain Python integers, one byte at a time."""
    h1 = 0xCBF29CE484222325 ^ ((salt * 0x9E3779B97F4A7C15) & MASK)
    h2 = (0x243F6A8885A308D3 + salt) & MASK
    data = text.encode("utf-8")
    for byte in data:
        h1 = ((h1 ^ byte) * 0x100000001B3) & MASK
        h2 = ((h2 + byte + 1) * 0x9E3779B97F4A7C15) & MASK
        h2 ^= h2 >> 29
    n = len(data)
    return _fmix64(h1 ^ n), _fmix64((h2 + n * 0xFF51AFD7ED558CCD) & MASK)


def test_keys_are_the_documented_hashes_of_the_utf8_bytes():
    values = pd.Series(SAMPLE, dtype=object)
    for salt in (0, 1, 2):
        assert keys(values, salt) == [reference_key(t, salt) for t in SAMPLE]


def test_keys_are_deterministic_across_calls_and_processes():
    values = pd.Series(SAMPLE, dtype=object)
    first = keys(values, 1)
    assert keys(values, 1) == first
    # Another interpreter with another str-hash seed: nothing may depend on the process.
    script = (
        "import json, sys; import numpy as np, pandas as pd; from core.hashing import hash_text; "
        "ids = json.load(sys.stdin); a, b = hash_text(pd.Series(ids, dtype=object), "
        "np.ones(len(ids), np.int64)); print(json.dumps([a.tolist(), b.tolist()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        input=json.dumps(SAMPLE),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == [[k[0] for k in first], [k[1] for k in first]]


def test_equal_ids_get_equal_keys_and_salts_separate_sources():
    values = pd.Series(["x-1", "x-2", "x-1", "x-1", "x-2"], dtype=object)
    salt = np.array([0, 0, 0, 2, 2])
    k = keys(values, salt)
    assert k[0] == k[2] and k[1] != k[0]
    # The same id in another source is another document.
    assert k[3] != k[0] and k[4] != k[1] and k[3] != k[4]


def test_many_distinct_ids_never_collide():
    n = 200_000
    # Ids that differ in one character, by a permutation, or by a suffix: the cheap ways
    # a weak hash collides.
    ids = [f"W{i}" for i in range(n // 2)] + [f"{i:08d}"[::-1] + "x" for i in range(n // 2)]
    assert len(set(ids)) == n
    a, b = hash_text(pd.Series(ids, dtype="str"), np.zeros(n, np.int64))
    # Each 64-bit half alone is unique too (a collision of either would be a 1-in-10^9 event).
    assert np.unique(a).size == n and np.unique(b).size == n


def test_empty_and_near_empty_strings_are_distinct():
    values = pd.Series(["", "\x00", "\x00\x00", " ", "  "], dtype=object)
    k = keys(values)
    assert len(set(k)) == len(k)
    assert k[0] == reference_key("", 0)


def test_non_ascii_text_hashes_its_utf8_bytes():
    values = pd.Series(["München", "Munchen", "Mu\u0308nchen", "東京", "東京都", "🙂", "\u00e9"])
    k = keys(values)
    assert len(set(k)) == len(k)
    # Text is not normalised: the precomposed and combining forms of ü are different ids.
    assert k[0] != k[2]
    assert k[6] == reference_key("é", 0) != reference_key("e\u0301", 0)


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA], ids=["None", "NaN", "NA"])
def test_missing_values_hash_like_the_empty_string(missing):
    values = pd.Series(["a", missing, ""], dtype=object)
    k = keys(values)
    assert k[1] == k[2] == reference_key("", 0)
    # Missing is not the text of its name.
    assert k[1] not in keys(pd.Series(["None", "nan", "<NA>"], dtype=object))
    for dtype in ("str", "string", "string[pyarrow]", pd.ArrowDtype(pa.large_string())):
        assert keys(pd.Series(["a", None, ""], dtype=dtype)) == k


def test_non_text_values_hash_like_their_text():
    assert keys(pd.Series([1, 22, 333], dtype=object)) == keys(pd.Series(["1", "22", "333"]))


@pytest.mark.parametrize(
    "dtype",
    [
        "str",
        "string",
        "string[pyarrow]",
        pd.ArrowDtype(pa.string()),
        pd.ArrowDtype(pa.large_string()),
    ],
)
def test_arrow_backed_and_object_text_give_the_same_keys(dtype):
    salt = np.arange(len(SAMPLE)) % 3
    assert keys(pd.Series(SAMPLE, dtype=dtype), salt) == keys(pd.Series(SAMPLE, dtype=object), salt)


def test_chunked_arrow_arrays_give_the_same_keys():
    chunks = [SAMPLE[:3], SAMPLE[3:4], [], SAMPLE[4:]]
    for arrow_type in (pa.string(), pa.large_string()):
        chunked = pa.chunked_array(chunks, type=arrow_type)
        assert chunked.num_chunks == 4
        values = pd.Series(pd.arrays.ArrowExtensionArray(chunked))
        assert keys(values) == keys(pd.Series(SAMPLE, dtype=object))


def test_slices_and_masks_of_a_column_keep_their_rows_keys():
    # Like keyed_rows: a masked column, whose Arrow data may start at an offset.
    column = pd.Series(SAMPLE * 3, dtype=pd.ArrowDtype(pa.large_string()))
    whole = keys(column)
    tail = column.iloc[7:]
    assert keys(tail) == whole[7:]
    mask = np.arange(len(column)) % 4 != 1
    assert keys(column[mask]) == [k for k, m in zip(whole, mask, strict=True) if m]
    assert keys(pd.Series(SAMPLE, dtype="str").iloc[3:5]) == whole[3:5]


def test_no_rows_give_empty_keys():
    a, b = hash_text(pd.Series([], dtype="str"), np.zeros(0, np.int64))
    assert a.dtype == b.dtype == np.uint64 and a.size == b.size == 0
    only_empty = keys(pd.Series(["", ""], dtype=pd.ArrowDtype(pa.string())))
    assert only_empty == [reference_key("", 0)] * 2


def test_name_keys_fold_case_and_spacing_only():
    keys = name_keys(
        pd.Series(
            [
                "Univ. of Tokyo",
                " UNIV. OF  TOKYO ",
                "Univ of Tokyo",
                "",
                None,
                "  ",
                "univ.\tof tokyo",
            ]
        )
    )
    assert keys[0] == keys[1] == keys[6] != keys[2]
    assert keys[0] != 0 and keys[2] != 0
    assert keys[3:6].tolist() == [0, 0, 0]
    assert name_keys(pd.Series([], dtype=object)).tolist() == []
