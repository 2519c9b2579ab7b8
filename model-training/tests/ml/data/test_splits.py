"""The splits: label set, no leakage, and the same URL distributions (statistical tests with
thresholds from params.yaml); a broken split is caught by each check."""

from typing import Any

import numpy as np

from lib_ml import normalize_url
from model_training.data_checks import (
    CATEGORICAL_PROPERTIES,
    NUMERIC_PROPERTIES,
    SPLIT_PAIRS,
    category_table,
    distribution_checks,
    label_problems,
    leakage_problems,
)
from model_training.sources import Example

Splits = dict[str, list[Example]]


def normalized(examples: Splits) -> dict[str, list[Any]]:
    return {name: [normalize_url(e.url) for e in split] for name, split in examples.items()}


def test_each_split_holds_both_labels_in_balance(
    examples: Splits, thresholds: dict[str, Any]
) -> None:
    assert label_problems(examples, thresholds["data"]["phishing_share"]) == []


def test_a_split_with_one_label_or_out_of_balance_is_caught(examples: Splits) -> None:
    only_phishing = {"test": [e for e in examples["test"] if e.label == 1]}
    assert label_problems(only_phishing, [0.3, 0.7]) == [
        "test: holds the labels [1], not both 0 and 1"
    ]
    skewed = {"val": examples["val"]}
    assert "phishing share" in label_problems(skewed, [0.9, 1.0])[0]


def test_no_url_and_no_registered_domain_in_two_splits(examples: Splits) -> None:
    assert leakage_problems(normalized(examples)) == []


def test_a_split_that_ignores_domains_is_caught(examples: Splits) -> None:
    everything = [e for split in examples.values() for e in split]
    # A random split by URL, as a naive pipeline would do: sites end up on both sides.
    order = np.random.default_rng(0).permutation(len(everything))
    cut = len(everything) * 7 // 10
    naive = {
        "train": [everything[i] for i in order[:cut]],
        "test": [everything[i] for i in order[cut:]],
    }
    problems = leakage_problems(normalized(naive))
    assert problems
    assert all("the domain" in p for p in problems)
    duplicated = {"train": examples["train"], "test": examples["test"] + examples["train"][:3]}
    assert (
        sum("is in train and in test" in p for p in leakage_problems(normalized(duplicated))) == 3
    )


def test_url_distributions_match_between_splits(
    examples: Splits, thresholds: dict[str, Any]
) -> None:
    checks = distribution_checks(normalized(examples), thresholds["data"])
    assert len(checks) == len(SPLIT_PAIRS) * (len(NUMERIC_PROPERTIES) + len(CATEGORICAL_PROPERTIES))
    failed = [c.to_dict() for c in checks if not c.passed]
    assert failed == []


def test_a_split_by_url_length_is_caught(examples: Splits, thresholds: dict[str, Any]) -> None:
    everything = sorted((e for split in examples.values() for e in split), key=lambda e: len(e.url))
    size = len(everything) // 3
    by_length = {
        "train": everything[:size],
        "val": everything[size : 2 * size],
        "test": everything[2 * size :],
    }
    failed = {
        (c.prop, c.pair)
        for c in distribution_checks(normalized(by_length), thresholds["data"])
        if not c.passed
    }
    assert ("url_length", ("train", "val")) in failed
    assert ("url_length", ("train", "test")) in failed


def test_a_split_by_top_level_domain_is_caught(
    examples: Splits, thresholds: dict[str, Any]
) -> None:
    everything = [e for split in examples.values() for e in split]
    is_generic = [normalize_url(e.url).host.endswith((".com", ".org", ".net")) for e in everything]
    generic = [e for e, flag in zip(everything, is_generic, strict=True) if flag]
    others = [e for e, flag in zip(everything, is_generic, strict=True) if not flag]
    by_tld = {
        "train": generic,
        "val": others[: len(others) // 2],
        "test": others[len(others) // 2 :],
    }
    failed = {
        c.prop for c in distribution_checks(normalized(by_tld), thresholds["data"]) if not c.passed
    }
    assert "tld" in failed


def test_a_split_by_scheme_is_caught(examples: Splits, thresholds: dict[str, Any]) -> None:
    everything = [e for split in examples.values() for e in split]
    https = [e for e in everything if e.url.startswith("https")]
    http = [e for e in everything if not e.url.startswith("https")]
    by_scheme = {"train": http, "val": https[: len(https) // 2], "test": https[len(https) // 2 :]}
    failed = {
        c.prop
        for c in distribution_checks(normalized(by_scheme), thresholds["data"])
        if not c.passed
    }
    assert "scheme" in failed


def test_category_table_keeps_the_top_categories_and_pools_the_rest() -> None:
    columns, table = category_table([np.array(["a", "a", "b", "c"]), np.array(["a", "d"])], top=2)
    assert columns == ["a", "b", "other"]
    assert table.tolist() == [[2, 1, 1], [1, 0, 1]]
    columns, _ = category_table([np.array(["a"]), np.array(["b"])])
    assert columns == ["a", "b"]


def test_identical_categories_in_one_column_do_not_differ(thresholds: dict[str, Any]) -> None:
    same = [normalize_url("http://a.com/x")] * 40
    splits = {"train": same, "val": same, "test": same}
    assert all(c.passed for c in distribution_checks(splits, thresholds["data"]))
