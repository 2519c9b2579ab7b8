"""Feature extraction: hashed character n-grams (linear family) and lexical URL features
(tree family). Both are pure functions of the normalized URL and a JSON-serializable config,
so an artifact reproduces them exactly without stored code.
"""

import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import groupby, pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from lib_ml.urls import MAX_URL_LENGTH, HostParts, NormalizedUrl, split_host

FloatArray = npt.NDArray[np.float32]

_FNV_PRIME = np.uint32(16777619)
_GOLDEN = 0x9E3779B9
_SALT_STEP = 0x7F4A7C15
HOST_SALT = 1


# What a linear model reads of a URL (`view_text`): the scheme-free URL text, the host alone
# between anchors, what follows the host, or words tagged by the part they come from. Models
# on separate views weigh the same text differently by where it occurs; the ensemble stacks
# them. The first three are read as byte n-grams, "words" as whole words.
VIEWS = ("url", "host", "path", "words")
# Joins the words of the words view: normalization rejects control characters, so no word
# holds it.
WORD_SEPARATOR = "\n"
_WORD = re.compile(r"[a-z0-9]+")
_SEPARATOR_RUN = re.compile(r"[^A-Za-z0-9]+")


def url_words(url: NormalizedUrl) -> list[str]:
    """Host words, subdomain words, the domain, suffix and registered domain, path and query
    words and adjacent word pairs, and runs of separators after the host, each tagged."""
    parts = split_host(url.host)
    rest = url.after_host
    path_words = _WORD.findall(rest.lower())
    return [
        *("h:" + w for w in _WORD.findall(url.host)),
        *("sd:" + w for w in _WORD.findall(parts.subdomain)),
        "d:" + parts.domain, "tld:" + parts.suffix, "rd:" + parts.registered_domain,
        *("p:" + w for w in path_words),
        *(f"p2:{a}_{b}" for a, b in pairwise(path_words)),
        *("ps:" + run for run in _SEPARATOR_RUN.findall(rest)),
    ]  # fmt: skip


def view_text(url: NormalizedUrl, view: str) -> str:
    if view == "url":
        return url.text
    if view == "host":
        return f"^{url.host}$"
    if view == "words":
        return WORD_SEPARATOR.join(url_words(url))
    return url.after_host or "/"


@dataclass(frozen=True, slots=True)
class NgramConfig:
    """Byte n-grams of one view of the scheme-free URL, hashed into 2**hash_bits buckets; with
    `host_ngrams` (url view only), the host's n-grams count once more in their own (salted)
    buckets, so that "paypal" in a host and "paypal" in a path can weigh differently."""

    ngram_min: int = 1
    ngram_max: int = 5
    hash_bits: int = 20
    host_ngrams: bool = False
    view: str = "url"

    def __post_init__(self) -> None:
        if not 1 <= self.ngram_min <= self.ngram_max:
            raise ValueError(f"n-gram orders {self.ngram_min}..{self.ngram_max} are not a range")
        if not 1 <= self.hash_bits <= 31:  # buckets are int32 indices
            raise ValueError(f"hash_bits must be within 1..31, not {self.hash_bits}")
        if self.view not in VIEWS:
            raise ValueError(f"unknown view {self.view!r}; expected one of {VIEWS}")
        if self.host_ngrams and self.view != "url":
            raise ValueError("host_ngrams adds the host's n-grams to the url view only")

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


@dataclass(frozen=True, slots=True)
class HashedNgrams:
    """Every byte n-gram of a batch of texts, before bucketing. The texts are joined with NUL
    separators (normalization rejects NUL) and each byte position p gets one entry per
    n-gram order k: `keys[p, k]` hashes the n-gram of order `ngram_min + k` that starts at p,
    and `alive[p, k]` is 0 where that n-gram would cross a separator. Text i owns positions
    `starts[i]:starts[i + 1]`, so rows are fixed-stride slices and nothing is compacted."""

    joined: bytes
    keys: npt.NDArray[np.uint32]  # (positions, orders), the full 32-bit hashes
    alive: FloatArray  # (positions, orders), 1.0 or 0.0
    starts: npt.NDArray[np.int64]  # (texts + 1,)

    def buckets(self, config: NgramConfig) -> npt.NDArray[np.int32]:
        masked = self.keys & np.uint32(config.n_features - 1)
        return masked.view(np.int32)  # hash_bits <= 31, so no bucket index turns negative

    def texts(self, first: int, stop: int) -> "HashedNgrams":
        """The entries of texts first..stop-1 alone, without copying keys. Their live entries
        are those of hashing these texts alone; dead ones (alive 0) may hash other bytes."""
        begin, end = int(self.starts[first]), int(self.starts[stop])
        return HashedNgrams(
            self.joined[begin:end],
            self.keys[begin:end],
            self.alive[begin:end],
            self.starts[first : stop + 1] - begin,
        )


def _salt_constant(salt: int) -> np.uint32:
    return np.uint32((salt * _SALT_STEP) & 0xFFFFFFFF)


def hash_entries(
    texts: Sequence[str], config: NgramConfig, salt: int | Sequence[int] = 0
) -> HashedNgrams:
    """The n-grams of `texts` under `config`, vectorized over the whole batch. `salt` (one for
    all texts, or one per text) moves a text's n-grams into a separate hash space.

    The n-gram of order n starting at byte p hashes its bytes with 32-bit FNV-1a-style
    rolling arithmetic, plus a constant for (n, salt), through MurmurHash3's finalizer. A
    fixed number of numpy operations per batch: for one URL the cost is per call, not per byte.
    """
    orders = config.ngram_max - config.ngram_min + 1
    joined = ("\0".join(texts) + "\0").encode("utf-8")
    total = len(joined)
    buf = np.frombuffer(joined + b"\0" * config.ngram_max, dtype=np.uint8)
    separators = np.flatnonzero(buf[:total] == 0)
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    starts[1:] = separators[: len(texts)] + 1
    # Bytes left before the next separator decide which orders fit at each position.
    room = separators[np.searchsorted(separators, np.arange(total))] - np.arange(total)
    order_range = np.arange(config.ngram_min, config.ngram_max + 1)
    alive = (room[:, np.newaxis] >= order_range).astype(np.float32)
    keys = np.empty((total, orders), dtype=np.uint32)
    rolling = np.zeros(total, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for n in range(1, config.ngram_max + 1):
            rolling *= _FNV_PRIME
            rolling ^= buf[n - 1 : n - 1 + total]
            if n >= config.ngram_min:
                keys[:, n - config.ngram_min] = rolling
        keys += (order_range * _GOLDEN).astype(np.uint32)
        if isinstance(salt, int):
            keys += _salt_constant(salt)
        else:
            if len(salt) != len(texts):
                raise ValueError(f"{len(salt)} salts for {len(texts)} texts")
            # Per-text salts come in runs (one per hash space in `read_views`): one slice
            # each, where a per-position array of salts costs more than the hashing itself.
            first = 0
            for value, run in groupby(salt):
                stop = first + sum(1 for _ in run)
                if value:
                    keys[starts[first] : starts[stop]] += _salt_constant(value)
                first = stop
        _fmix32(keys)
    return HashedNgrams(joined, keys, alive, starts)


def hash_words(
    texts: Sequence[str], config: NgramConfig
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """The bucket of every word of the words-view `texts` (CRC-32, masked), and where each
    text's words start (texts + 1 offsets)."""
    mask = config.n_features - 1
    words = [text.split(WORD_SEPARATOR) if text else [] for text in texts]
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in words], out=starts[1:])
    buckets = np.fromiter(
        (zlib.crc32(word.encode("utf-8")) & mask for each in words for word in each),
        dtype=np.int32,
        count=int(starts[-1]),
    )
    return buckets, starts


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
    # character structure and randomness
    "host_vowel_ratio", "domain_vowel_ratio", "domain_max_consonant_run", "url_max_digit_run",
    "host_max_digit_run", "url_max_consonant_run", "random_tokens", "host_labels",
    "longest_host_label", "path_share", "has_file_extension", "file_extension_length",
    "brand_lookalike_in_host", "brand_lookalike_domain", "equals_signs", "ampersands",
    "subdomain_digits", "file_name_length", "first_directory_length", "path_uppercase",
    "letter_ratio", "distinct_char_ratio", "char_class_changes", "www_or_http_in_path",
    "path_tokens", "query_tokens", "domain_entropy", "domain_pronounceable",
)  # fmt: skip


# c * log2(c) for every count a character can reach in a URL normalization accepts.
_C_LOG2_C = [0.0] + [c * math.log2(c) for c in range(1, MAX_URL_LENGTH + 1)]


def _entropy(text: str) -> float:
    """Shannon entropy in bits: log2(n) - sum(c log2 c) / n over the character counts c."""
    if not text:
        return 0.0
    length = len(text)
    return math.log2(length) - sum(map(_C_LOG2_C.__getitem__, Counter(text).values())) / length


_TOKENS = re.compile(r"[A-Za-z0-9]+")
_DOMAIN_IN_PATH = re.compile(r"[a-z0-9-]+\.(com|net|org)\b")


# Per str predicate, the ASCII characters it holds for: on ASCII text (nearly every URL) a
# count is one bytes.translate instead of a Python call per character, with the same result.
_ASCII_MEMBERS: dict[Callable[[str], bool], bytes] = {
    predicate: bytes(c for c in range(128) if predicate(chr(c)))
    for predicate in (str.isdigit, str.isupper, str.isalpha, str.isalnum)
}


def _count(predicate: Callable[[str], bool], text: str) -> int:
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw) - len(raw.translate(None, _ASCII_MEMBERS[predicate]))
    return sum(map(predicate, text))


_VOWELS = frozenset("aeiou")
_DIGIT_RUN = re.compile(r"\d+")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]+")
_HEX_TOKEN = re.compile(r"[0-9a-fA-F]{8,}")
_BASE64ISH_TOKEN = re.compile(r"[A-Za-z0-9_\-]{12,}")
_FILE_EXTENSION = re.compile(r"\.([a-z0-9]{1,5})$")
_CLASS_RUN = re.compile(r"\d+|[^\W\d_]+|[\W_]+")


def _one_deletion(word: str) -> Iterator[str]:
    yield word
    for i in range(len(word)):
        yield word[:i] + word[i + 1 :]


# Symmetric-delete index: two words within one edit share a one-deletion variant.
_BRAND_VARIANTS: dict[str, frozenset[str]] = {}
for _brand in BRAND_WORDS:
    for _variant in _one_deletion(_brand):
        _BRAND_VARIANTS[_variant] = _BRAND_VARIANTS.get(_variant, frozenset()) | {_brand}


# A label and a brand word share a one-deletion variant only if their lengths differ by one
# at most: longer labels are no lookalikes, and most host labels are ruled out at once.
_LONGEST_LOOKALIKE = max(map(len, BRAND_WORDS)) + 1


@lru_cache(maxsize=16384)  # host labels repeat across URLs far more than they vary
def _brand_lookalike(label: str) -> bool:
    """Within about one edit of a brand word without being it (paypa1, gooogle, amazom)."""
    if not 4 <= len(label) <= _LONGEST_LOOKALIKE:
        return False
    for variant in _one_deletion(label):
        brands = _BRAND_VARIANTS.get(variant)
        if brands and (len(brands) > 1 or label not in brands):
            return True
    return False


def _longest(pattern: re.Pattern[str], text: str) -> int:
    return max(map(len, pattern.findall(text)), default=0)


def _vowel_ratio(text: str) -> float:
    letters = _count(str.isalpha, text)
    return sum(map(text.count, "aeiou")) / letters if letters else 0.0


def _random_looking(token: str) -> bool:
    """Hex of 8+ characters, or 12+ base64-like characters mixing letters and digits."""
    if _HEX_TOKEN.fullmatch(token):
        return True
    return bool(_BASE64ISH_TOKEN.fullmatch(token)) and _count(str.isdigit, token) not in (
        0,
        len(token),
    )


def _structure_features(url: NormalizedUrl, parts: HostParts, lower: str) -> list[float]:
    """The second group of LEXICAL_FEATURES: character structure and randomness."""
    text, host, path, domain = url.text, url.host, url.path, parts.domain
    labels = host.split(".")
    path_tokens = _TOKENS.findall(path)
    query_tokens = _TOKENS.findall(url.query)
    file_name = path.rsplit("/", 1)[-1]
    extension = _FILE_EXTENSION.search(file_name.lower())
    first_directory = next((d for d in path.split("/") if d), "")
    # Joined by "?", so that "www" or "http" cannot be made of the path's end and the query's start.
    tail = f"{path}?{url.query}".lower()
    length = len(text)
    domain_consonants = _longest(_CONSONANT_RUN, domain)
    return [
        _vowel_ratio(host), _vowel_ratio(domain), domain_consonants,
        _longest(_DIGIT_RUN, text), _longest(_DIGIT_RUN, host), _longest(_CONSONANT_RUN, lower),
        sum(map(_random_looking, path_tokens + query_tokens)), len(labels),
        max(map(len, labels)), len(path) / length, float(extension is not None),
        len(extension.group(1)) if extension else 0,
        float(any(map(_brand_lookalike, labels[:-1] or labels))), float(_brand_lookalike(domain)),
        text.count("="), text.count("&"), _count(str.isdigit, parts.subdomain), len(file_name),
        len(first_directory), _count(str.isupper, path),
        _count(str.isalpha, text) / length, len(set(lower)) / length,
        (len(_CLASS_RUN.findall(lower)) - 1) / length, float("www" in tail or "http" in tail),
        len(path_tokens), len(query_tokens), _entropy(domain),
        float(domain_consonants <= 3 <= len(domain) and not _count(str.isdigit, domain)),
    ]  # fmt: skip


def lexical_vector(url: NormalizedUrl) -> list[float]:
    """The LEXICAL_FEATURES of one URL, in that order (plain floats, no NaN)."""
    text = url.text
    lower = text.lower()
    host = url.host
    parts = split_host(host)
    tokens = _TOKENS.findall(text)
    path = url.path
    rest = (path + "?" + url.query).lower()
    # map() over str methods: several times faster than generator expressions, same counts.
    digits = _count(str.isdigit, text)
    upper = _count(str.isupper, text)
    length = len(text)
    special = length - _count(str.isalnum, text)
    is_ip = bool(_IPV4.match(host)) or ":" in host
    suffix = parts.suffix
    return [
        length, len(host), len(path), len(url.query), len(url.fragment),
        host.count("."), host.count("-"), _count(str.isdigit, host),
        parts.subdomain.count(".") + 1 if parts.subdomain else 0, len(parts.subdomain),
        len(parts.domain), _count(str.isdigit, parts.domain), parts.domain.count("-"),
        len(suffix), float(suffix in COMMON_TLDS),
        float(len(suffix.rsplit(".", 1)[-1]) == 2 if suffix else 0.0),
        float(is_ip), float("xn--" in host), float(bool(url.port)), float(bool(url.userinfo)),
        path.count("/"), path.count("."), path.count("-"), path.count("_"),
        _count(str.isdigit, path), float("//" in path),
        float(path.lower().endswith(RISKY_EXTENSIONS)), float("~" in path),
        url.query.count("&") + 1 if url.query else 0,
        text.count("%"), text.count("@"), digits / length, upper / length, special / length,
        _entropy(lower), _entropy(host), max((len(t) for t in tokens), default=0),
        len(tokens), (sum(map(len, tokens)) / len(tokens)) if tokens else 0.0,
        sum(map(lower.__contains__, SUSPICIOUS_WORDS)),
        float(any(map(parts.subdomain.__contains__, BRAND_WORDS))
              or any(map(rest.__contains__, BRAND_WORDS))),
        float(any(map(parts.domain.__contains__, BRAND_WORDS))),
        float(parts.registered_domain in SHORTENERS), float(bool(_HEX_RUN.search(lower))),
        float(host.startswith("www.")),
        float(bool(_DOMAIN_IN_PATH.search(rest))),
        *_structure_features(url, parts, lower),
    ]  # fmt: skip


def lexical_matrix(urls: Sequence[NormalizedUrl]) -> FloatArray:
    """Lexical features of a batch, shape (len(urls), len(LEXICAL_FEATURES))."""
    if not urls:
        return np.zeros((0, len(LEXICAL_FEATURES)), dtype=np.float32)
    return np.asarray([lexical_vector(u) for u in urls], dtype=np.float32)
