"""The model's features at run time, in numpy alone: scikit-learn is needed to fit the model
(:mod:`socialops.classification.training`), not to use it. Importing scikit-learn took about
1.5 s of the model's 2-3 s load; this module takes numpy only.

The two views are computed exactly as the scikit-learn objects that were fitted compute them
(a test compares the two on every labelled text, to 1e-9):

- word 1-2-grams: ``TfidfVectorizer`` with its default token pattern, lower-cased, a fixed
  vocabulary, sublinear tf, idf, l2 norm;
- character 3-5-grams within words (``char_wb``), hashed into ``n_features`` columns with
  32-bit MurmurHash3 (seed 0) of their UTF-8 bytes, as ``HashingVectorizer(alternate_sign=
  False, norm=None)`` does, then ``TfidfTransformer(sublinear_tf=True)``.

The hashing is vectorised over a whole batch (every n-gram of every text at once), which is
also faster than scikit-learn's loop over one Python string per n-gram.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# TfidfVectorizer's default token_pattern.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_C1, _C2 = 0xCC9E2D51, 0x1B873593
_TAIL_MASK = np.asarray([0, 0xFF, 0xFFFF, 0xFFFFFF], dtype=np.uint32)
_pair = "{} {}".format


@dataclass
class Block:
    """One view of a batch of texts: the non-zeros, sorted by text then column (as a CSR
    matrix's rows with sorted indices), with their tf-idf values, l2-normalised per text."""

    rows: np.ndarray  # int64, the text each non-zero belongs to
    columns: np.ndarray  # int64, within the block
    values: np.ndarray  # float64


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def murmurhash3_32(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """MurmurHash3 x86 32-bit, seed 0, of the byte ranges ``data[start:start + length]``, as
    signed 32-bit integers (scikit-learn's ``murmurhash3_32(key, positive=False)``)."""
    padded = np.concatenate([data, np.zeros(4, dtype=np.uint8)]).astype(np.uint32)
    # The little-endian 32-bit word at every byte offset.
    words = padded[:-3] | (padded[1:-2] << 8) | (padded[2:-1] << 16) | (padded[3:] << 24)
    h = np.zeros(len(starts), dtype=np.uint32)
    blocks = lengths >> 2
    for i in range(int(blocks.max()) if len(blocks) else 0):
        which = np.flatnonzero(blocks > i)
        k = words[starts[which] + 4 * i] * np.uint32(_C1)
        k = _rotl(k, 15) * np.uint32(_C2)
        hi = _rotl(h[which] ^ k, 13)
        h[which] = hi * np.uint32(5) + np.uint32(0xE6546B64)
    # The 1-3 bytes left: a zero tail leaves h unchanged, so no selection is needed.
    k = words[starts + 4 * blocks] & _TAIL_MASK[lengths & 3]
    k = _rotl(k * np.uint32(_C1), 15) * np.uint32(_C2)
    h ^= k
    h ^= lengths.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


def _counted(rows: np.ndarray, columns: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """Distinct (row, column) pairs, sorted, with how often each occurs."""
    keys, counts = np.unique(rows * width + columns, return_counts=True)
    return keys // width, keys % width, counts


def _tfidf(
    rows: np.ndarray, columns: np.ndarray, counts: np.ndarray, idf: np.ndarray, n_texts: int
) -> Block:
    values = (np.log(counts.astype(np.float64)) + 1.0) * idf[columns]
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_texts))
    norms[norms == 0.0] = 1.0
    return Block(rows, columns, values / norms[rows])


def word_block(
    lowered: Sequence[str], vocabulary: dict[str, int], idf: np.ndarray, ngrams: tuple[int, int]
) -> Block:
    """Word n-grams in the vocabulary (``TfidfVectorizer(ngram_range=ngrams, sublinear_tf=True)``
    of texts already lower-cased)."""
    low, high = ngrams
    get = vocabulary.get
    rows: list[int] = []
    columns: list[int] = []
    for row, text in enumerate(lowered):
        tokens = _TOKEN.findall(text)
        grams: list[str] = tokens if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            if n == 2:  # the common case, about twice as fast as joining slices
                grams = grams + list(map(_pair, tokens, tokens[1:]))
            else:
                grams = grams + [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        found = [c for c in map(get, grams) if c is not None]
        columns.extend(found)
        rows.extend([row] * len(found))
    r, c, counts = _counted(
        np.asarray(rows, dtype=np.int64), np.asarray(columns, dtype=np.int64), len(idf)
    )
    return _tfidf(r, c, counts, idf, len(lowered))


def char_block(
    lowered: Sequence[str], idf: np.ndarray, ngrams: tuple[int, int], n_features: int
) -> Block:
    """Hashed character n-grams within words, padded with a space each side (``char_wb``)."""
    low, high = ngrams
    pieces: list[str] = []
    lengths: list[int] = []
    words_per_text: list[int] = []
    for text in lowered:
        words = text.split()
        words_per_text.append(len(words))
        if words:
            pieces.append(" " + "  ".join(words) + " ")
            lengths.extend(map(len, words))
    joined = "".join(pieces)
    # Each word is a segment " word " of the joined text; n-grams never cross segments.
    size = np.asarray(lengths, dtype=np.int64) + 2
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    word_row = np.repeat(np.arange(len(lowered), dtype=np.int64), words_per_text)
    # Character offsets to UTF-8 byte offsets (lone surrogates pass through as 3 bytes).
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    width = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    offset = np.concatenate([[0], np.cumsum(width, dtype=np.int64)])
    data = np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    starts, ends, rows = [], [], []
    # A segment of length L gives its L - n + 1 n-grams for each n up to min(high, L): a
    # segment of length n is counted once, and no longer n-grams follow (scikit-learn's rule).
    for n in range(low, high + 1):
        keep = size >= n
        count = size[keep] - n + 1
        ramp = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(count) - count, count
        )
        first = np.repeat(start[keep], count) + ramp
        starts.append(first)
        ends.append(first + n)
        rows.append(np.repeat(word_row[keep], count))
    first_char = np.concatenate(starts)
    byte_start = offset[first_char]
    byte_length = offset[np.concatenate(ends)] - byte_start
    hashed = murmurhash3_32(data, byte_start, byte_length).astype(np.int64)
    columns = np.abs(hashed) % n_features
    r, c, counts = _counted(np.concatenate(rows), columns, n_features)
    return _tfidf(r, c, counts, idf, len(lowered))
