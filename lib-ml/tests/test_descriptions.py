"""Explanations in words: every feature an explanation can name is described, by what it
measures or where in the link it occurs."""

from pathlib import Path

import pytest

from lib_ml import Contribution, Predictor, describe_feature, explanation_items, normalize_url
from lib_ml.descriptions import NAMED_INPUT_DESCRIPTIONS
from lib_ml.features import LEXICAL_FEATURES, url_words
from lib_ml.scorers import TldPrior

from .conftest import LEGITIMATE, PHISHING


def test_every_named_input_of_the_trees_is_described_once() -> None:
    assert set(NAMED_INPUT_DESCRIPTIONS) == set(LEXICAL_FEATURES + TldPrior.FEATURES)
    descriptions = list(NAMED_INPUT_DESCRIPTIONS.values())
    assert len(set(descriptions)) == len(descriptions)


@pytest.mark.parametrize(
    ("feature", "described"),
    [
        ("url:login", "“login” in the link"),
        ("url:path:", "“path:” in the link"),  # the view's prefix, not the gram, decides
        ("url:words:", "“words:” in the link"),
        ("host:pal.c", "“pal.c” in the host name"),
        ("host:^www", "“www” at the start of the host name"),
        ("host:.com$", "“.com” at the end of the host name"),
        ("host:^a.tk$", "the host name “a.tk”"),
        ("host:^", "the start of the host name"),
        ("host:$", "the end of the host name"),
        ("path:/wp-", "“/wp-” after the host name"),
        ("words:h:secure", "the word “secure” in the host name"),
        ("words:sd:www", "the word “www” in the subdomain"),
        ("words:d:paypal", "the domain name “paypal”"),
        ("words:d:", "no domain name"),
        ("words:tld:co.uk", "the domain ending “co.uk”"),
        ("words:tld:", "no domain ending"),
        ("words:rd:bbc.co.uk", "the registered domain “bbc.co.uk”"),
        ("words:p:verify", "the word “verify” after the host name"),
        ("words:p2:sign_in", "the words “sign in” in a row after the host name"),
        ("words:ps:/?", "the separator “/?” after the host name"),
        ("host:8080/", "“8080/” in the host name"),  # the name alone cannot tell
    ],
)
def test_an_ngram_is_described_by_where_it_occurs(feature: str, described: str) -> None:
    assert describe_feature(feature, "ngram") == described


def test_a_lexical_feature_is_described_by_what_it_measures() -> None:
    assert describe_feature("host_is_ip", "lexical") == "an IP address instead of a host name"
    assert describe_feature("tld_phishing_rate", "lexical").startswith("how often links")


def test_names_from_elsewhere_are_kept_as_they_are() -> None:
    assert describe_feature("num_dots", "lexical") == "num_dots"
    assert describe_feature("anything", "other") == "anything"
    # A view's prefix describes an n-gram only: the same name of another kind is kept.
    assert describe_feature("url:login", "other") == "url:login"
    assert describe_feature("words:h:secure", "other") == "words:h:secure"
    assert describe_feature("login", "ngram") == "login"
    assert describe_feature("title:login", "ngram") == "title:login"


def test_every_word_tag_of_the_words_view_is_described() -> None:
    tags = {
        word.split(":", 1)[0]
        for url in PHISHING + LEGITIMATE
        for word in url_words(normalize_url(url))
    }
    assert tags == {"h", "sd", "d", "tld", "rd", "p", "p2", "ps"}
    for tag in tags:
        assert "in the link" not in describe_feature(f"words:{tag}:x", "ngram")


def test_explanations_of_every_family_are_described(artifacts: Path) -> None:
    for family in ("linear", "gbm", "ensemble"):
        predictor = Predictor.load(artifacts / family)
        for prediction in predictor.predict(PHISHING + LEGITIMATE, explain_top_k=10):
            for contribution in prediction.explanation:
                described = describe_feature(contribution.feature, contribution.kind)
                assert described != contribution.feature
                if contribution.kind == "ngram":
                    gram = contribution.feature.rsplit(":", 1)[-1].strip("^$")
                    if contribution.feature.startswith("words:p2:"):
                        gram = gram.replace("_", " ")
                    assert gram in described


def test_explanation_items_carry_each_feature_with_its_description() -> None:
    explanation = [
        Contribution("url:login", "ngram", 0.5),
        Contribution("host_is_ip", "lexical", -1.0),
    ]
    assert explanation_items(explanation) == [
        {
            "feature": "url:login",
            "kind": "ngram",
            "weight": 0.5,
            "description": "“login” in the link",
        },
        {
            "feature": "host_is_ip",
            "kind": "lexical",
            "weight": -1.0,
            "description": "an IP address instead of a host name",
        },
    ]
