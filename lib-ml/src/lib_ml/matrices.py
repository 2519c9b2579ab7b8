"""Sparse n-gram matrices, for fitting and analysing the linear family.

Kept apart from `lib_ml.features` so that serving, which scores hashed n-grams directly
(`LinearScorer`), never imports scipy (about 20 MB of resident memory), which lib-ml installs
only with its `build` extra.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lib_ml.extras import build_extra_missing
from lib_ml.features import (
    HOST_SALT,
    FloatArray,
    NgramConfig,
    hash_entries,
    hash_words,
    view_text,
)
from lib_ml.urls import NormalizedUrl

try:
    import scipy.sparse as sp
except ModuleNotFoundError as missing:
    raise build_extra_missing(missing, "lib_ml.matrices") from missing


def ngram_counts(urls: Sequence[NormalizedUrl], config: NgramConfig) -> sp.csr_matrix:
    """The n-gram term counts of a batch of normalized URLs under `config`."""
    return text_ngram_counts(
        [view_text(u, config.view) for u in urls], [u.host for u in urls], config
    )


def text_ngram_counts(
    texts: Sequence[str], hosts: Sequence[str], config: NgramConfig
) -> sp.csr_matrix:
    """`ngram_counts` from the URLs' view texts and hosts (plain strings are lighter to keep)."""
    if config.view == "words":
        buckets, starts = hash_words(texts, config)
        ones = np.ones(buckets.size, dtype=np.float32)
        return sp.csr_matrix((ones, buckets, starts), shape=(len(texts), config.n_features))
    counts = hash_ngrams(texts, config)
    if config.host_ngrams:
        counts = concat_row_entries(counts, hash_ngrams(hosts, config, HOST_SALT))
    return counts


def concat_row_entries(first: sp.csr_matrix, second: sp.csr_matrix) -> sp.csr_matrix:
    """Row i holds first's entries of row i, then second's: like `first + second` but keeps
    entries apart (no sort, no summing), preserving the per-entry layout of `hash_ngrams`."""
    a, b = first.indptr, second.indptr
    position_first = np.arange(first.nnz) + np.repeat(b[:-1], np.diff(a))
    position_second = np.arange(second.nnz) + np.repeat(a[1:], np.diff(b))
    data = np.empty(first.nnz + second.nnz, dtype=first.data.dtype)
    indices = np.empty(first.nnz + second.nnz, dtype=first.indices.dtype)
    data[position_first], data[position_second] = first.data, second.data
    indices[position_first], indices[position_second] = first.indices, second.indices
    return sp.csr_matrix((data, indices, a + b), shape=first.shape)


def hash_ngrams(texts: Sequence[str], config: NgramConfig, salt: int = 0) -> sp.csr_matrix:
    """Term counts of all byte n-grams, one row per text (`hash_entries` bucketed). Rows may
    hold duplicate columns: products and row sums are exact; call `sum_duplicates` before
    fitting."""
    hashed = hash_entries(texts, config, salt)
    orders = hashed.keys.shape[1]
    return sp.csr_matrix(
        (hashed.alive.ravel(), hashed.buckets(config).ravel(), hashed.starts * orders),
        shape=(len(texts), config.n_features),
    )


def tfidf_rows(counts: sp.csr_matrix, idf: FloatArray) -> sp.csr_matrix:
    """idf-weighted, L2-normalized rows (the norm is taken over entries, consistent with the
    duplicate-tolerant layout of `hash_ngrams`)."""
    weighted = counts.copy()
    weighted.data = weighted.data * idf[weighted.indices]
    row_of_entry = np.repeat(np.arange(counts.shape[0]), np.diff(weighted.indptr))
    squares = np.bincount(
        row_of_entry, weights=weighted.data.astype(np.float64) ** 2, minlength=counts.shape[0]
    )
    norms = np.sqrt(squares)
    norms[norms == 0.0] = 1.0
    weighted.data /= norms[row_of_entry].astype(np.float32)
    return weighted


def document_frequencies(counts: sp.csr_matrix) -> npt.NDArray[np.int64]:
    """In how many rows each bucket occurs (chunk-wise summable for streaming training)."""
    present = counts.copy()
    present.sum_duplicates()
    present.eliminate_zeros()
    return np.bincount(present.indices, minlength=counts.shape[1]).astype(np.int64)


def smoothed_idf(df: npt.NDArray[np.int64], n_docs: int) -> FloatArray:
    """idf = ln((1 + n) / (1 + df)) + 1, as in scikit-learn's TfidfTransformer."""
    idf: FloatArray = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
    return idf
