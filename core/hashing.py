"""128-bit keys for text ids, fast enough to key every input row.

Shuffling and grouping tens of millions of rows by a string id costs more than the rest of the
ranking's aggregation; two independent 64-bit hashes of the UTF-8 bytes (computed with numba
over Arrow's buffers) stand in for the string. Two ids share both hashes with probability about
n² / 2¹²⁹ — below 10⁻²⁰ for a billion ids.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_FNV_PRIME = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SEED_A = np.uint64(0xCBF29CE484222325)
_SEED_B = np.uint64(0x243F6A8885A308D3)


@numba.njit(inline="always")
def _finalise(h: np.uint64) -> np.uint64:
    # MurmurHash3's fmix64: every input bit reaches every output bit.
    h ^= h >> np.uint64(33)
    h *= _MIX_1
    h ^= h >> np.uint64(33)
    h *= _MIX_2
    h ^= h >> np.uint64(33)
    return h


@numba.njit(cache=True, nogil=True)
def _hash_buffers(
    offsets: np.ndarray, data: np.ndarray, salt: np.ndarray, out_a: np.ndarray, out_b: np.ndarray
) -> None:
    for i in range(out_a.size):
        s = np.uint64(salt[i])
        h1 = _SEED_A ^ (s * _GOLDEN)
        h2 = _SEED_B + s
        start, stop = offsets[i], offsets[i + 1]
        for k in range(start, stop):
            byte = np.uint64(data[k])
            h1 = (h1 ^ byte) * _FNV_PRIME
            h2 = (h2 + byte + np.uint64(1)) * _GOLDEN
            h2 ^= h2 >> np.uint64(29)
        length = np.uint64(stop - start)
        out_a[i] = _finalise(h1 ^ length)
        out_b[i] = _finalise(h2 + length * _MIX_1)


def hash_text(values: pd.Series, salt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each string's UTF-8 bytes, salted per row.

    Parameters
    ----------
    values : pandas.Series
        Text (missing values hash like ``""``).
    salt : array of int
        Per-row salt (e.g. the source's code), so equal ids of different sources differ.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``uint64`` arrays.
    """
    return hash_strings(pa.array(values.astype("str").fillna(""), type=pa.large_string()), salt)


def hash_strings(
    array: pa.Array | pa.ChunkedArray, salt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hash_text` of an Arrow array of strings (missing values hash like ``""``)."""
    array = pc.fill_null(array.cast(pa.large_string()), "")
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    out_a = np.empty(len(array), np.uint64)
    out_b = np.empty(len(array), np.uint64)
    _hash_buffers(offsets, data, np.asarray(salt, dtype=np.uint64), out_a, out_b)
    return out_a, out_b


def name_keys(values: pd.Series) -> np.ndarray:
    """One int64 key per name, equal for spellings that differ only in case and spacing;
    0 for a missing or blank name.

    Organisation names and subjects are written by hand ("Univ. of Tokyo ", "UNIV. OF
    TOKYO"); only case and spacing are folded, since anything more would merge different
    organisations. Two names share a key with probability about n² / 2⁶⁵.
    """
    # Names repeat (an applicant on all its patents' rows): fold each distinct one once,
    # as the regular expression costs far more than the factorisation.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=object).astype("str") if len(uniques) else []
    text = pa.array(distinct, type=pa.large_string())
    # Most names hold single spaces only: a match is far cheaper than a replacement.
    odd = pc.match_substring_regex(text, r"\s\s|[^\S ]")
    if pc.any(odd).as_py():
        folded = pc.replace_substring_regex(text.filter(odd), r"\s+", " ")
        text = pc.replace_with_mask(text, odd, folded)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    key = hash_strings(text, np.zeros(len(text), np.uint64))[0].view(np.int64)
    key = np.where(pc.utf8_length(text).to_numpy(zero_copy_only=False) > 0, key, 0)
    return np.where(codes >= 0, key[np.maximum(codes, 0)] if len(key) else 0, 0)
