"""Feature extraction: hashed character n-grams (linear family) and lexical URL features
(tree family). Both are pure functions of the normalized URL and a JSON-serializable config,
so an artifact reproduces them exactly without stored code.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lib_ml.urls import NormalizedUrl, split_host

FloatArray = npt.NDArray[np.float32]

_FNV_PRIME_INT = 16777619
_FNV_PRIME = np.uint32(_FNV_PRIME_INT)
_MASK32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9
_SALT_STEP = 0x7F4A7C15
HOST_SALT = 1


@dataclass(frozen=True, slots=True)
class NgramConfig:
    """Byte n-grams of the scheme-free URL text, hashed into 2**hash_bits buckets; with
    `host_ngrams`, the host's n-grams count once more in their own (salted) buckets, so that
    "paypal" in a host and "paypal" in a path can weigh differently."""

    ngram_min: int = 1
    ngram_max: int = 5
    hash_bits: int = 20
    host_ngrams: bool = False

    @property
    def n_features(self) -> int:
        return 1 << self.hash_bits

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmix32(h: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """MurmurHash3's finalizer: spreads the rolling hash over all bits (in place)."""
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def _order_salt(n: int, salt: int) -> np.uint32:
    return np.uint32((n * _GOLDEN + salt * _SALT_STEP) & 0xFFFFFFFF)


def ngram_hash(gram: bytes, config: NgramConfig, salt: int = 0) -> int:
    """The bucket of one n-gram; the scalar twin of `hash_ngrams` (same 32-bit arithmetic on
    Python ints, which is far cheaper than numpy scalars), used for explanations."""
    h = 0
    for byte in gram:
        h = ((h * _FNV_PRIME_INT) & _MASK32) ^ byte
    h = (h + int(_order_salt(len(gram), salt))) & _MASK32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK32
    h ^= h >> 16
    return h & (config.n_features - 1)


def ngram_counts(urls: Sequence[NormalizedUrl], config: NgramConfig) -> sp.csr_matrix:
    """The n-gram term counts of a batch of normalized URLs under `config`."""
    return text_ngram_counts([u.text for u in urls], [u.host for u in urls], config)


def text_ngram_counts(
    texts: Sequence[str], hosts: Sequence[str], config: NgramConfig
) -> sp.csr_matrix:
    """`ngram_counts` from the URLs' texts and hosts (plain strings are lighter to keep)."""
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
    """Term counts of all byte n-grams, one row per text, vectorized over the whole batch.

    Texts are joined with NUL separators (normalization rejects NUL) and every position gets
    one entry per n-gram order; entries that would cross a separator get the value 0, so each
    row is a fixed-stride slice and no compaction is needed. Rows may hold duplicate columns:
    products and row sums are exact; call `sum_duplicates` before fitting.
    """
    orders = config.ngram_max - config.ngram_min + 1
    joined = ("\0".join(texts) + "\0").encode("utf-8")
    total = len(joined)
    buf = np.frombuffer(joined + b"\0" * config.ngram_max, dtype=np.uint8)
    ends = np.flatnonzero(buf[:total] == 0)
    lengths = np.diff(ends, prepend=-1)  # bytes per text, its separator included
    cols = np.empty((total, orders), dtype=np.uint32)
    values = np.zeros((total, orders), dtype=np.float32)
    rolling = np.zeros(total, dtype=np.uint32)
    alive = np.ones(total, dtype=bool)
    mask = np.uint32(config.n_features - 1)
    with np.errstate(over="ignore"):
        for n in range(1, config.ngram_max + 1):
            window = buf[n - 1 : n - 1 + total]
            alive &= window != 0
            rolling *= _FNV_PRIME
            rolling ^= window
            if n < config.ngram_min:
                continue
            column = n - config.ngram_min
            mixed = _fmix32(rolling + _order_salt(n, salt))
            cols[:, column] = mixed & mask
            values[:, column] = alive
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths * orders, out=indptr[1:])
    return sp.csr_matrix(
        (values.ravel(), cols.ravel().view(np.int32), indptr),
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


# --- lexical features -------------------------------------------------------------------

SUSPICIOUS_WORDS: tuple[str, ...] = (
    "login", "signin", "sign-in", "logon", "verify", "verification", "account", "update",
    "secure", "security", "banking", "confirm", "password", "webscr", "cmd=", "suspend",
    "unlock", "wallet", "billing", "support", "recover", "authenticate", "validation",
    "invoice", "payment", "limited", "alert", "free", "bonus", "lucky",
)  # fmt: skip
BRAND_WORDS: tuple[str, ...] = (
    "paypal", "apple", "icloud", "microsoft", "office365", "outlook", "google", "gmail",
    "facebook", "amazon", "netflix", "ebay", "chase", "wellsfargo", "bankofamerica", "dropbox",
    "docusign", "dhl", "fedex", "yahoo", "instagram", "whatsapp", "linkedin", "adobe", "itau",
    "santander", "steam", "binance", "coinbase", "blockchain",
)  # fmt: skip
COMMON_TLDS = frozenset({"com", "org", "net", "edu", "gov", "mil", "int"})
RISKY_EXTENSIONS = (".php", ".html", ".htm", ".asp", ".aspx", ".exe", ".zip", ".js", ".cgi")
SHORTENERS = frozenset({
    "bit.ly", "bitly.com", "goo.gl", "tinyurl.com", "ow.ly", "t.co", "is.gd", "buff.ly",
    "adf.ly", "cutt.ly", "rb.gy", "shorturl.at", "tiny.cc", "rebrand.ly", "x.co",
})  # fmt: skip
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_HEX_RUN = re.compile(r"[0-9a-f]{16,}")

LEXICAL_FEATURES: tuple[str, ...] = (
    "url_length", "host_length", "path_length", "query_length", "fragment_length",
    "host_dots", "host_hyphens", "host_digits", "subdomain_depth", "subdomain_length",
    "domain_length", "domain_digits", "domain_hyphens", "suffix_length", "suffix_is_common",
    "suffix_is_country", "host_is_ip", "host_is_punycode", "has_port", "has_userinfo",
    "path_depth", "path_dots", "path_hyphens", "path_underscores", "path_digits",
    "path_has_double_slash", "path_risky_extension", "path_tilde", "query_params",
    "percent_escapes", "at_signs", "digit_ratio", "uppercase_ratio", "special_ratio",
    "url_entropy", "host_entropy", "longest_token", "token_count", "mean_token_length",
    "suspicious_words", "brand_in_subdomain_or_path", "brand_in_domain", "is_shortener",
    "hex_run", "www_prefix", "domain_in_path",
)  # fmt: skip


def _entropy(text: str) -> float:
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    length = len(text)
    return -sum(c / length * math.log2(c / length) for c in counts.values())


_TOKENS = re.compile(r"[A-Za-z0-9]+")


def lexical_vector(url: NormalizedUrl) -> list[float]:
    """The LEXICAL_FEATURES of one URL, in that order (plain floats, no NaN)."""
    text = url.text
    lower = text.lower()
    host = url.host
    parts = split_host(host)
    tokens = _TOKENS.findall(text)
    path = url.path
    rest = (path + "?" + url.query).lower()
    digits = sum(ch.isdigit() for ch in text)
    upper = sum(ch.isupper() for ch in text)
    special = sum(not ch.isalnum() for ch in text)
    length = len(text)
    is_ip = bool(_IPV4.match(host)) or ":" in host
    suffix = parts.suffix
    return [
        length, len(host), len(path), len(url.query), len(url.fragment),
        host.count("."), host.count("-"), sum(ch.isdigit() for ch in host),
        parts.subdomain.count(".") + 1 if parts.subdomain else 0, len(parts.subdomain),
        len(parts.domain), sum(ch.isdigit() for ch in parts.domain), parts.domain.count("-"),
        len(suffix), float(suffix in COMMON_TLDS),
        float(len(suffix.rsplit(".", 1)[-1]) == 2 if suffix else 0.0),
        float(is_ip), float("xn--" in host), float(bool(url.port)), float(bool(url.userinfo)),
        path.count("/"), path.count("."), path.count("-"), path.count("_"),
        sum(ch.isdigit() for ch in path), float("//" in path),
        float(path.lower().endswith(RISKY_EXTENSIONS)), float("~" in path),
        url.query.count("&") + 1 if url.query else 0,
        text.count("%"), text.count("@"), digits / length, upper / length, special / length,
        _entropy(lower), _entropy(host), max((len(t) for t in tokens), default=0),
        len(tokens), (sum(map(len, tokens)) / len(tokens)) if tokens else 0.0,
        sum(word in lower for word in SUSPICIOUS_WORDS),
        float(any(b in parts.subdomain or b in rest for b in BRAND_WORDS)),
        float(any(b in parts.domain for b in BRAND_WORDS)),
        float(parts.registered_domain in SHORTENERS), float(bool(_HEX_RUN.search(lower))),
        float(host.startswith("www.")),
        float(bool(re.search(r"[a-z0-9-]+\.(com|net|org)\b", rest))),
    ]  # fmt: skip


def lexical_matrix(urls: Sequence[NormalizedUrl]) -> FloatArray:
    """Lexical features of a batch, shape (len(urls), len(LEXICAL_FEATURES))."""
    if not urls:
        return np.zeros((0, len(LEXICAL_FEATURES)), dtype=np.float32)
    return np.asarray([lexical_vector(u) for u in urls], dtype=np.float32)
