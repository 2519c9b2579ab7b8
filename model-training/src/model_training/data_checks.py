"""Checks of labelled URL data and of the features computed from it: the schema and label set,
leakage between splits, and the distributions of simple URL properties between splits.

Distribution checks pair a two-sample test (Kolmogorov-Smirnov for numbers, chi-squared for
categories) with an effect size (the KS statistic, Cramér's V): a pair of splits differs only
when the difference is both significant and large, so the verdict means the same on a sample
of hundreds and on the full corpus, where any difference is significant. Thresholds come from
the `tests:` section of params.yaml.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from lib_ml import InvalidUrlError, NormalizedUrl, normalize_url
from lib_ml.drift import drift_values
from lib_ml.features import LEXICAL_FEATURES, SUSPICIOUS_WORDS
from lib_ml.urls import MAX_URL_LENGTH, split_host
from model_training.sources import Example

SPLIT_PAIRS = (("train", "val"), ("train", "test"))
NUMERIC_PROPERTIES = ("url_length", "digit_ratio", "letter_ratio", "special_ratio")
CATEGORICAL_PROPERTIES = ("scheme", "tld")

# What each lexical feature may hold, by kind: every feature is named once, so a feature added
# without its expectation fails `feature_schema_problems`.
_COUNTS = (
    "url_length", "host_length", "path_length", "query_length", "fragment_length", "host_dots",
    "host_hyphens", "host_digits", "subdomain_depth", "subdomain_length", "domain_length",
    "domain_digits", "domain_hyphens", "suffix_length", "path_depth", "path_dots",
    "path_hyphens", "path_underscores", "path_digits", "query_params", "percent_escapes",
    "at_signs", "longest_token", "token_count", "suspicious_words",
    "domain_max_consonant_run", "url_max_digit_run", "host_max_digit_run",
    "url_max_consonant_run", "random_tokens", "host_labels", "longest_host_label",
    "file_extension_length", "equals_signs", "ampersands", "subdomain_digits",
    "file_name_length", "first_directory_length", "path_uppercase", "path_tokens",
    "query_tokens",
)  # fmt: skip
_BINARY = (
    "suffix_is_common", "suffix_is_country", "host_is_ip", "host_is_punycode", "has_port",
    "has_userinfo", "path_has_double_slash", "path_risky_extension", "path_tilde",
    "brand_in_subdomain_or_path", "brand_in_domain", "is_shortener", "hex_run", "www_prefix",
    "domain_in_path", "has_file_extension", "brand_lookalike_in_host", "brand_lookalike_domain",
    "www_or_http_in_path", "domain_pronounceable",
)  # fmt: skip
_RATIOS = (
    "digit_ratio", "uppercase_ratio", "special_ratio", "host_vowel_ratio", "domain_vowel_ratio",
    "path_share", "letter_ratio", "distinct_char_ratio", "char_class_changes",
)  # fmt: skip
_REALS = ("url_entropy", "host_entropy", "mean_token_length", "domain_entropy")
FEATURE_SCHEMA: dict[str, tuple[str, float, float]] = (
    dict.fromkeys(_COUNTS, ("count", 0.0, float(MAX_URL_LENGTH)))
    | dict.fromkeys(_BINARY, ("binary", 0.0, 1.0))
    | dict.fromkeys(_RATIOS, ("ratio", 0.0, 1.0))
    | dict.fromkeys(_REALS, ("real", 0.0, float(MAX_URL_LENGTH)))
    | {
        "url_length": ("count", 1.0, float(MAX_URL_LENGTH)),
        "host_length": ("count", 1.0, 253.0),  # DNS names are at most 253 characters
        "host_labels": ("count", 1.0, 127.0),
        "longest_host_label": ("count", 1.0, 253.0),
        "suspicious_words": ("count", 0.0, float(len(SUSPICIOUS_WORDS))),
    }
)


def schema_problems(examples: Sequence[Example]) -> list[str]:
    """Every example is a URL string that normalizes, with a label in the label set."""
    problems = []
    for index, example in enumerate(examples):
        if example.label not in (0, 1):
            problems.append(f"example {index}: label {example.label!r} is not 0 or 1")
        try:
            normalize_url(example.url)
        except InvalidUrlError as exc:
            problems.append(f"example {index}: {exc}")
    return problems


def label_problems(
    splits: Mapping[str, Sequence[Example]], phishing_share: Sequence[float]
) -> list[str]:
    """Each split holds both labels, with a phishing share inside `phishing_share` [low, high]."""
    low, high = phishing_share
    problems = []
    for name, examples in splits.items():
        labels = Counter(e.label for e in examples)
        if set(labels) != {0, 1}:
            problems.append(f"{name}: holds the labels {sorted(labels)}, not both 0 and 1")
            continue
        share = labels[1] / len(examples)
        if not low <= share <= high:
            problems.append(f"{name}: phishing share {share:.3f} outside [{low}, {high}]")
    return problems


def leakage_problems(splits: Mapping[str, Sequence[NormalizedUrl]]) -> list[str]:
    """No URL twice (by normalized text) and no registered domain in two splits."""
    problems = []
    owner_of_text: dict[str, str] = {}
    owner_of_domain: dict[str, str] = {}
    for name, urls in splits.items():
        for url in urls:
            if url.text in owner_of_text:
                problems.append(f"{url.text!r} is in {owner_of_text[url.text]} and in {name}")
            owner_of_text[url.text] = name
            domain = split_host(url.host).registered_domain
            if owner_of_domain.setdefault(domain, name) != name:
                problems.append(f"the domain {domain!r} is in {owner_of_domain[domain]} and {name}")
    return problems


def feature_schema_problems(X: npt.NDArray[np.float32]) -> list[str]:
    """The lexical feature matrix has one column per feature, each within its FEATURE_SCHEMA."""
    if set(FEATURE_SCHEMA) != set(LEXICAL_FEATURES):
        missing = sorted(set(LEXICAL_FEATURES) - set(FEATURE_SCHEMA))
        return [f"the schema does not describe the features {missing}"]
    if X.ndim != 2 or X.shape[1] != len(LEXICAL_FEATURES):
        return [f"shape {X.shape}: expected (n, {len(LEXICAL_FEATURES)})"]
    problems = []
    for column, name in enumerate(LEXICAL_FEATURES):
        kind, low, high = FEATURE_SCHEMA[name]
        values = X[:, column].astype(np.float64)
        if not np.all(np.isfinite(values)):
            problems.append(f"{name}: holds NaN or infinity")
            continue
        if values.size and (values.min() < low or values.max() > high):
            problems.append(
                f"{name}: values in [{values.min()}, {values.max()}], not [{low}, {high}]"
            )
        if kind in ("count", "binary") and np.any(values != np.round(values)):
            problems.append(f"{name}: a {kind} feature holds fractions")
    return problems


@dataclass(frozen=True)
class DistributionCheck:
    """One property compared between two splits."""

    prop: str
    pair: tuple[str, str]
    test: str  # "ks" or "chi2"
    statistic: float
    p_value: float
    effect: float  # the KS statistic or Cramér's V
    max_effect: float
    alpha: float

    @property
    def passed(self) -> bool:
        return not (self.p_value < self.alpha and self.effect > self.max_effect)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"passed": self.passed}


def url_properties(urls: Sequence[NormalizedUrl]) -> dict[str, npt.NDArray[Any]]:
    """The compared properties of normalized URLs: length and character classes of the text
    the models read, the scheme and the top-level domain."""
    values: dict[str, npt.NDArray[Any]] = dict(drift_values([u.text for u in urls]))
    values["scheme"] = np.array([u.scheme or "none" for u in urls])
    values["tld"] = np.array([u.host.rsplit(".", 1)[-1] for u in urls])
    return values


def category_table(
    groups: Sequence[npt.NDArray[Any]], top: int | None = None
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Counts per category (columns) and group (rows); beyond the `top` most frequent
    categories of all groups together, the rest count as `other`."""
    totals = Counter(value for group in groups for value in group.tolist())
    kept = [name for name, _ in totals.most_common(top)]
    columns = kept + (["other"] if len(kept) < len(totals) else [])
    table = np.zeros((len(groups), len(columns)), dtype=np.int64)
    position = {name: i for i, name in enumerate(kept)}
    for row, group in enumerate(groups):
        for value, count in Counter(group.tolist()).items():
            table[row, position.get(value, len(kept))] += count
    return columns, table


def _chi_squared(table: npt.NDArray[np.int64]) -> tuple[float, float, float]:
    """(chi-squared, p-value, Cramér's V) of a contingency table of two rows."""
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0, 0.0
    result = stats.chi2_contingency(table)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    return statistic, p_value, float(np.sqrt(statistic / table.sum()))


def distribution_checks(
    splits: Mapping[str, Sequence[NormalizedUrl]], thresholds: Mapping[str, Any]
) -> list[DistributionCheck]:
    """Every property, train against val and against test; `thresholds` holds `alpha`,
    `max_effect` per property and `top_tlds` (the TLDs compared one by one)."""
    properties = {name: url_properties(urls) for name, urls in splits.items()}
    alpha = float(thresholds["alpha"])
    max_effect = {prop: float(value) for prop, value in thresholds["max_effect"].items()}
    checks = []
    for pair in SPLIT_PAIRS:
        a, b = (properties[name] for name in pair)
        for prop in NUMERIC_PROPERTIES:
            ks = stats.ks_2samp(a[prop], b[prop])
            statistic, p_value = float(ks.statistic), float(ks.pvalue)
            checks.append(
                DistributionCheck(
                    prop, pair, "ks", statistic, p_value, statistic, max_effect[prop], alpha
                )
            )
        for prop in CATEGORICAL_PROPERTIES:
            top = int(thresholds["top_tlds"]) if prop == "tld" else None
            statistic, p_value, effect = _chi_squared(category_table([a[prop], b[prop]], top)[1])
            checks.append(
                DistributionCheck(
                    prop, pair, "chi2", statistic, p_value, effect, max_effect[prop], alpha
                )
            )
    return checks
