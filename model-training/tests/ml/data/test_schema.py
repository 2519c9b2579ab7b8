"""Features and data follow their schema; a broken featurizer or bad examples are caught."""

import _socket
import socket
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np
import pytest

from lib_ml import features as lib_features
from lib_ml import normalize_url
from lib_ml.features import LEXICAL_FEATURES, NgramConfig, lexical_matrix
from lib_ml.matrices import ngram_counts
from model_training import data_checks
from model_training.data_checks import FEATURE_SCHEMA, feature_schema_problems, schema_problems
from model_training.sources import Example


def test_examples_follow_the_schema(examples: dict[str, list[Example]]) -> None:
    for split in examples.values():
        assert schema_problems(split) == []


def test_bad_examples_are_named() -> None:
    bad = [Example("http://a.com/", 0), Example("  ", 1), Example("http://b.com/", 2)]
    problems = schema_problems(bad)
    assert len(problems) == 2
    assert problems[0].startswith("example 1: ")
    assert problems[1] == "example 2: label 2 is not 0 or 1"


def test_the_schema_describes_every_lexical_feature_once() -> None:
    assert set(FEATURE_SCHEMA) == set(LEXICAL_FEATURES)
    assert {kind for kind, _, _ in FEATURE_SCHEMA.values()} == {"count", "binary", "ratio", "real"}


def test_lexical_features_of_real_urls_follow_the_schema(
    examples: dict[str, list[Example]],
) -> None:
    urls = [normalize_url(e.url) for split in examples.values() for e in split]
    X = lexical_matrix(urls)
    assert feature_schema_problems(X) == []


def test_ngram_features_of_real_urls_are_finite_counts(examples: dict[str, list[Example]]) -> None:
    urls = [normalize_url(e.url) for e in examples["val"]]
    counts = ngram_counts(urls, NgramConfig(1, 5, 16, host_ngrams=True))
    assert counts.shape == (len(urls), 1 << 16)
    assert np.all(np.isfinite(counts.data))
    assert set(np.unique(counts.data).tolist()) <= {0.0, 1.0}
    assert np.all(np.diff(counts.indptr) > 0)  # no URL without n-grams


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda row: [-1.0, *row[1:]], "url_length: values in"),
        (lambda row: [*row[:31], float("nan"), *row[32:]], "digit_ratio: holds NaN"),
        (lambda row: [*row[:16], 0.5, *row[17:]], "host_is_ip: a binary feature holds fractions"),
        (lambda row: row[:-1], "shape"),
    ],
)
def test_a_broken_featurizer_is_caught(
    monkeypatch: pytest.MonkeyPatch, breakage: Any, expected: str
) -> None:
    original = lib_features.lexical_vector
    monkeypatch.setattr(lib_features, "lexical_vector", lambda url: breakage(original(url)))
    X = lexical_matrix([normalize_url("http://a.com/x"), normalize_url("b.org")])
    assert any(expected in problem for problem in feature_schema_problems(X))


def test_a_feature_without_schema_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_checks, "LEXICAL_FEATURES", (*LEXICAL_FEATURES, "new_feature"))
    X = np.zeros((1, len(LEXICAL_FEATURES) + 1), dtype=np.float32)
    assert feature_schema_problems(X) == [
        "the schema does not describe the features ['new_feature']"
    ]


# Every way the socket module resolves a name or opens a connection.
RESOLVERS = ("gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getaddrinfo", "getnameinfo")
CONNECTORS = ("connect", "connect_ex")


def test_features_need_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Meta-level requirement: features come from the URL string alone (no DNS, no WHOIS,
    no page fetch), so serving never waits on the network and never leaks the URL."""
    used: list[str] = []

    def refusing(name: str) -> Callable[..., NoReturn]:
        def refuse(*args: object, **kwargs: object) -> NoReturn:
            used.append(name)  # noted too, in case the featurizer swallows the error
            raise AssertionError(f"the featurizer used the network: {name}")

        return refuse

    for name in RESOLVERS:
        # _socket too: socket re-exports these, and code may import them from either.
        monkeypatch.setattr(socket, name, refusing(name))
        monkeypatch.setattr(_socket, name, refusing(name))
    monkeypatch.setattr(socket, "create_connection", refusing("create_connection"))
    for name in CONNECTORS:
        monkeypatch.setattr(socket.socket, name, refusing(f"socket.{name}"))
    urls = [normalize_url(u) for u in ("http://unseen-domain.example/a", "10.0.0.1/login.php")]
    assert lexical_matrix(urls).shape == (2, len(LEXICAL_FEATURES))
    assert ngram_counts(urls, NgramConfig()).shape[0] == 2
    assert used == []
    # And each entry point is really refused while patched.
    calls: list[Callable[[], object]] = [
        lambda: socket.gethostbyname("localhost"),
        lambda: socket.gethostbyname_ex("localhost"),
        lambda: socket.gethostbyaddr("127.0.0.1"),
        lambda: socket.getaddrinfo("localhost", 80),
        lambda: socket.getnameinfo(("127.0.0.1", 80), 0),
        lambda: _socket.gethostbyname("localhost"),
        lambda: socket.create_connection(("127.0.0.1", 9)),
    ]
    for call in calls:
        with pytest.raises(AssertionError, match="network"):
            call()
    with socket.socket() as probe:
        for connector in (probe.connect, probe.connect_ex):
            with pytest.raises(AssertionError, match="network"):
                connector(("127.0.0.1", 9))
