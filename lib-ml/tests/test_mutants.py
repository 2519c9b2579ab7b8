"""The URL rewrites keep the meaning of a URL, undo themselves, and the repair option of the
Predictor is the mean over the mutant set, the same from any of its members."""

import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_ml import BatchInputError, InvalidUrlError, Predictor, mutants, normalize_url
from lib_ml.mutants import REWRITES, UrlParts, follow_ups, mutant_set
from lib_ml.scorers import sigmoid
from lib_ml.urls import MAX_URL_LENGTH, UNRESERVED, trim_url

from .conftest import LEGITIMATE, PHISHING

DEFAULT_PORTS = {"": "80", "http": "80", "https": "443"}


def equivalent_form(url: str) -> str:
    """A reference normalizer (RFC 3986 section 6, plus the two server conventions the rewrites
    rely on): URLs that name the same resource get the same form."""
    parts = UrlParts.parse(url)
    scheme = parts.scheme.lower() or "http"
    userinfo, host, port = parts.host_and_port()
    if port == DEFAULT_PORTS.get(scheme):
        port = None
    path = re.sub(
        r"%([0-9A-Fa-f]{2})",
        lambda m: unquote(m.group(0)) if unquote(m.group(0)) in UNRESERVED else m[0],
        parts.path,
    )
    segments = [s for s in path.split("/") if s != "."]
    path = "/".join(segments).rstrip("/") or ""
    query = "&".join(sorted((parts.query or "").split("&")))
    netloc = userinfo + host.lower() + (f":{port}" if port else "")
    return f"{scheme}://{netloc}{path}?{query}#{parts.fragment or ''}"


label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
segment = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_~", min_size=1, max_size=8)
urls = st.builds(
    lambda scheme, host, port, path, slash, query, fragment: (
        f"{scheme}{host}{port}{path}{slash if path else ''}{query}{fragment}"
    ),
    st.sampled_from(["", "http://", "https://", "HTTP://"]),
    # Domain names: a host whose last label is a number is an IPv4 address, or no host.
    st.lists(label, min_size=2, max_size=4)
    .map(".".join)
    .filter(lambda h: h.rpartition(".")[2][0].isalpha()),
    st.sampled_from(["", ":8080"]),
    st.lists(segment, max_size=3).map(lambda s: "".join(f"/{x}" for x in s)),
    st.sampled_from(["", "/", ".html"]),
    st.lists(st.tuples(segment, segment), max_size=3).map(
        lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else ""
    ),
    st.sampled_from(["", "#top"]),
)
TRICKY = [
    "http://[2001:db8::1]:8080/a/b?x=1",
    "user:pw@Example.com/login?next=/home#frag?still",
    "https://a.com?",
    "https://a.com#",
    "a.com?q=/not/a/path",
    "  http://a.com/x  ",
    "\ufeffhttp://a.com/x\u200b",
]


@pytest.mark.parametrize("url", TRICKY)
def test_parts_join_back_to_the_url(url: str) -> None:
    assert UrlParts.parse(url).join() == trim_url(url)


def test_parts_are_cut_where_the_url_says() -> None:
    parts = UrlParts.parse(TRICKY[1])
    assert (parts.scheme, parts.netloc, parts.path) == ("", "user:pw@Example.com", "/login")
    assert (parts.query, parts.fragment) == ("next=/home", "frag?still")
    assert UrlParts.parse("/only/a/path") == UrlParts("", "", "/only/a/path", None, None)
    assert UrlParts.parse("a.com?") == UrlParts("", "a.com", "", "", None)


def test_a_backslash_ends_the_network_location_as_normalization_reads_it() -> None:
    url = "http://evil.tk\\@paypal.com/"
    parts = UrlParts.parse(url)
    assert (parts.netloc, parts.path, parts.join()) == ("evil.tk", "\\@paypal.com/", url)
    assert {m.host for m in mutant_set(url)} == {"evil.tk"}


def test_host_and_port_keep_userinfo_and_ipv6_brackets() -> None:
    assert UrlParts.parse(TRICKY[0]).host_and_port() == ("", "[2001:db8::1]", "8080")
    assert UrlParts.parse(TRICKY[1]).host_and_port() == ("user:pw@", "Example.com", None)
    assert UrlParts.parse("http://[::1]/").host_and_port() == ("", "[::1]", None)


@pytest.mark.parametrize(
    ("rewrite", "url", "expected"),
    [
        ("trailing_slash", "http://a.com", "http://a.com/"),
        ("trailing_slash", "http://a.com/", "http://a.com"),
        ("trailing_slash", "http://a.com/dir?x=1", "http://a.com/dir/?x=1"),
        ("trailing_slash", "http://a.com/dir/", "http://a.com/dir"),
        ("trailing_slash", "http://a.com/page.html", "http://a.com/page.html"),
        ("trailing_slash", "http://a.com/v1.2/dir", "http://a.com/v1.2/dir/"),
        ("scheme_host_case", "http://User@a.com:8080/P", "HTTP://User@A.COM:8080/P"),
        ("scheme_host_case", "HTTP://A.COM/P", "http://a.com/P"),
        ("scheme_host_case", "http://bücher.de/", "http://bücher.de/"),
        ("default_port", "http://a.com/x", "http://a.com:80/x"),
        ("default_port", "a.com/x", "a.com:80/x"),
        ("default_port", "HTTPS://a.com:443/x", "HTTPS://a.com/x"),
        ("default_port", "https://a.com:8443/x", "https://a.com:8443/x"),
        ("default_port", "ftp://a.com/x", "ftp://a.com/x"),
        ("default_port", "http:///x", "http:///x"),
        ("query_order", "a.com/?a=1&b=2&c", "a.com/?c&b=2&a=1"),
        ("query_order", "a.com/?a=1", "a.com/?a=1"),
        ("query_order", "a.com/", "a.com/"),
        ("percent_encoding", "a.com/~x/y", "a.com/~%78/y"),
        ("percent_encoding", "a.com/%7Ex/%41%2F", "a.com/~x/A%2F"),
        ("percent_encoding", "a.com/-/", "a.com/-/"),
        ("dot_segment", "a.com/x", "a.com/./x"),
        ("dot_segment", "a.com/./x", "a.com/x"),
        ("dot_segment", "a.com?q", "a.com/./?q"),
    ],
)
def test_each_rewrite_on_known_urls(rewrite: str, url: str, expected: str) -> None:
    assert REWRITES[rewrite](url) == expected


@settings(max_examples=150, deadline=None)
@given(urls)
def test_rewrites_keep_the_meaning_and_undo_what_they_do(url: str) -> None:
    assert UrlParts.parse(url).join() == url
    for name, mutant in follow_ups(url).items():
        assert mutant != url
        assert equivalent_form(mutant) == equivalent_form(url), name
        assert REWRITES[name](REWRITES[name](mutant)) == mutant, name


@settings(max_examples=60, deadline=None)
@given(urls)
def test_the_mutant_set_is_the_same_from_each_member(url: str) -> None:
    members = mutant_set(url)
    assert members[0] == normalize_url(url)
    assert len(set(members)) == len(members) < mutants.MAX_MUTANT_SET
    for mutant in follow_ups(url).values():
        assert set(mutant_set(mutant)) == set(members)


# The RFC 3986 equivalences among the rewrites; the other two carry signal (lib_ml.urls).
NORMALIZED_AWAY = ("scheme_host_case", "default_port", "percent_encoding", "dot_segment")


@settings(max_examples=150, deadline=None)
@given(urls)
def test_normalization_reads_the_rfc_rewrites_alike(url: str) -> None:
    for name, mutant in follow_ups(url).items():
        if name in NORMALIZED_AWAY:
            assert normalize_url(mutant) == normalize_url(url), name


def test_the_mutant_set_differs_only_in_trailing_slashes_and_query_order() -> None:
    texts = {m.text for m in mutant_set("HTTP://A.com:80/./x/%79?a=1&b=2")}
    assert texts == {"a.com/x/y?a=1&b=2", "a.com/x/y/?a=1&b=2", "a.com/x/y?b=2&a=1",
                     "a.com/x/y/?b=2&a=1"}  # fmt: skip


def test_equivalent_form_tells_different_resources_apart() -> None:
    # The oracle of the test above is not vacuous: other paths, hosts or ports differ.
    base = equivalent_form("http://a.com/x?q=1")
    for other in ("http://a.com/y?q=1", "http://b.com/x?q=1", "http://a.com:81/x?q=1"):
        assert equivalent_form(other) != base


def test_follow_ups_leave_out_rewrites_that_change_nothing() -> None:
    assert set(follow_ups("http://a.com/page.html")) == {
        "scheme_host_case", "default_port", "percent_encoding", "dot_segment",
    }  # fmt: skip


def test_mutants_that_are_not_urls_are_left_out() -> None:
    # At the length limit, writing the default port makes the URL too long to normalize.
    url = "a.com/" + "x" * (MAX_URL_LENGTH - 6)
    assert len(url) == MAX_URL_LENGTH
    texts = {m.text for m in mutant_set(url)}
    assert not any(":80" in t for t in texts)
    assert url in texts


def test_a_mutant_that_is_no_url_does_not_stop_the_others() -> None:
    # One character under the limit: the default port (3 more) and the percent-encoding and
    # dot segment (2 more) make it too long; the query order (as long) still counts.
    tail = ".html?a=1&b=2"
    url = "a.com/" + "x" * (MAX_URL_LENGTH - 1 - 6 - len(tail)) + tail
    assert len(url) == MAX_URL_LENGTH - 1
    assert [m.text for m in mutant_set(url)] == [url, url.replace("a=1&b=2", "b=2&a=1")]


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_the_mutant_set_is_capped(monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    # Four mutants, two of them one rewrite away: the cap cuts within a round of rewrites
    # (2) as well as at its end (3); the first found are kept.
    url = "http://a.com/x/y?a=1&b=2"
    everything = [m.text for m in mutant_set(url)]
    assert len(everything) == 4
    monkeypatch.setattr(mutants, "MAX_MUTANT_SET", cap)
    assert [m.text for m in mutant_set(url)] == everything[:cap]


def test_the_mutant_set_of_a_non_url_raises() -> None:
    with pytest.raises(InvalidUrlError):
        mutant_set("   ")


def test_repair_is_the_mean_over_the_mutant_set(artifacts: Path) -> None:
    # The linear model: the small test ensemble's trees are too coarse to see the rewrites.
    predictor = Predictor.load(artifacts / "linear")
    urls = PHISHING + LEGITIMATE
    repaired = predictor.predict_proba(urls, repair=True)
    expected = [sigmoid(predictor.logits_normalized(mutant_set(u))).mean() for u in urls]
    np.testing.assert_allclose(repaired, expected, rtol=1e-12)
    assert not np.allclose(repaired, predictor.predict_proba(urls))


@pytest.mark.parametrize("family", ["linear", "gbm", "ensemble"])
def test_repaired_predictions_are_invariant_to_the_rewrites(artifacts: Path, family: str) -> None:
    predictor = Predictor.load(artifacts / family)
    for url in PHISHING + LEGITIMATE:
        mutated = list(follow_ups(url).values())
        repaired = predictor.predict_proba([url, *mutated], repair=True)
        np.testing.assert_allclose(repaired, repaired[0], rtol=1e-9)


def test_repaired_predict_labels_the_repaired_probability(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    urls = PHISHING + LEGITIMATE
    results = predictor.predict(urls, explain_top_k=2, repair=True)
    np.testing.assert_allclose(
        [r.probability for r in results], predictor.predict_proba(urls, repair=True)
    )
    assert [r.label for r in results] == [predictor.label_of(r.probability) for r in results]
    assert [r.url for r in results] == urls
    assert all(len(r.explanation) == 2 for r in results)


def test_repair_keeps_batch_errors_and_empty_batches(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "linear")
    with pytest.raises(BatchInputError) as caught:
        predictor.predict_proba(["https://a.com/", "   "], repair=True)
    assert caught.value.index == 1
    assert predictor.predict_proba([], repair=True).shape == (0,)
    assert predictor.predict([], repair=True) == []
