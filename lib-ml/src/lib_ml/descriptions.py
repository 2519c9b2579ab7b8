"""Explanations in words, for people: what each lexical feature measures, and where in the
link an n-gram occurs, read from the names `Predictor.explain_batch` gives them.

N-grams of the whole URL are named `url:`; those of its host hash space and of the host view
`host:` (the host view reads `^host$`, so `^` and `$` anchor a fragment to the host name's
start and end), those of the path view `path:`, and the words view's tagged words `words:`
(see `lib_ml.features.url_words`).
"""

from collections.abc import Callable, Sequence
from typing import Any

from lib_ml.scorers import Contribution

# What each named input of the trees (LEXICAL_FEATURES, TldPrior.FEATURES) measures.
NAMED_INPUT_DESCRIPTIONS: dict[str, str] = {
    "url_length": "length of the link",
    "host_length": "length of the host name",
    "path_length": "length of the path",
    "query_length": "length of the query",
    "fragment_length": "length of the fragment (after #)",
    "host_dots": "dots in the host name",
    "host_hyphens": "hyphens in the host name",
    "host_digits": "digits in the host name",
    "subdomain_depth": "levels of subdomains",
    "subdomain_length": "length of the subdomain",
    "domain_length": "length of the domain name",
    "domain_digits": "digits in the domain name",
    "domain_hyphens": "hyphens in the domain name",
    "suffix_length": "length of the domain ending (such as com or co.uk)",
    "suffix_is_common": "a common domain ending (com, org, net, edu, gov, mil, int)",
    "suffix_is_country": "a country's domain ending",
    "host_is_ip": "an IP address instead of a host name",
    "host_is_punycode": "an internationalized (punycode) host name",
    "has_port": "an explicit port",
    "has_userinfo": "a user name before the host (user@host)",
    "path_depth": "slashes in the path",
    "path_dots": "dots in the path",
    "path_hyphens": "hyphens in the path",
    "path_underscores": "underscores in the path",
    "path_digits": "digits in the path",
    "path_has_double_slash": "a double slash in the path",
    "path_risky_extension": "a path ending in .php, .html, .asp, .exe, .zip or the like",
    "path_tilde": "a tilde in the path",
    "query_params": "parameters in the query",
    "percent_escapes": "percent-escapes in the link",
    "at_signs": "@ signs in the link",
    "digit_ratio": "share of digits in the link",
    "uppercase_ratio": "share of capital letters in the link",
    "special_ratio": "share of characters other than letters and digits",
    "url_entropy": "how random the link's characters look (entropy)",
    "host_entropy": "how random the host name's characters look (entropy)",
    "longest_token": "length of the link's longest word",
    "token_count": "words in the link",
    "mean_token_length": "mean length of the link's words",
    "suspicious_words": "words phishing often uses (login, verify, account, ...)",
    "brand_in_subdomain_or_path": "a brand name (paypal, apple, ...) in the subdomain or path",
    "brand_in_domain": "a brand name in the domain name",
    "is_shortener": "a link-shortening service",
    "hex_run": "a long run of hexadecimal characters",
    "www_prefix": "a host name starting with www.",
    "domain_in_path": "a domain name (.com, .net, .org) in the path",
    "host_vowel_ratio": "share of vowels among the host name's letters",
    "domain_vowel_ratio": "share of vowels among the domain name's letters",
    "domain_max_consonant_run": "longest run of consonants in the domain name",
    "url_max_digit_run": "longest run of digits in the link",
    "host_max_digit_run": "longest run of digits in the host name",
    "url_max_consonant_run": "longest run of consonants in the link",
    "random_tokens": "random-looking words in the path or query",
    "host_labels": "dot-separated parts of the host name",
    "longest_host_label": "length of the host name's longest part",
    "path_share": "share of the link taken by the path",
    "has_file_extension": "a file extension at the end of the path",
    "file_extension_length": "length of the file extension",
    "brand_lookalike_in_host": "a part of the host name one edit away from a brand (paypa1)",
    "brand_lookalike_domain": "a domain name one edit away from a brand name",
    "equals_signs": "= signs in the link",
    "ampersands": "& signs in the link",
    "subdomain_digits": "digits in the subdomain",
    "file_name_length": "length of the file name at the end of the path",
    "first_directory_length": "length of the path's first directory",
    "path_uppercase": "capital letters in the path",
    "letter_ratio": "share of letters in the link",
    "distinct_char_ratio": "share of distinct characters in the link",
    "char_class_changes": "switches between letters, digits and symbols in the link",
    "www_or_http_in_path": "“www” or “http” after the host name",
    "path_tokens": "words in the path",
    "query_tokens": "words in the query",
    "domain_entropy": "how random the domain name's characters look (entropy)",
    "domain_pronounceable": "a pronounceable domain name",
    "tld_phishing_rate": "how often links with this domain ending were phishing in training",
    "tld_log_share": "how common this domain ending was in training",
}
_WORD_TAGS = {
    "h": "the word “{}” in the host name",
    "sd": "the word “{}” in the subdomain",
    "d": "the domain name “{}”",
    "tld": "the domain ending “{}”",
    "rd": "the registered domain “{}”",
    "p": "the word “{}” after the host name",
    "ps": "the separator “{}” after the host name",
}


def _host_fragment(gram: str) -> str:
    starts, ends = gram.startswith("^"), gram.endswith("$")
    core = gram.removeprefix("^").removesuffix("$")
    if not core:
        return "the start of the host name" if starts else "the end of the host name"
    if starts and ends:
        return f"the host name “{core}”"
    if starts:
        return f"“{core}” at the start of the host name"
    if ends:
        return f"“{core}” at the end of the host name"
    return f"“{core}” in the host name"


def _in_link(gram: str) -> str:
    return f"“{gram}” in the link"


def _after_host(gram: str) -> str:
    return f"“{gram}” after the host name"


def _word(tagged: str) -> str:
    tag, _, word = tagged.partition(":")
    if tag == "p2":
        return f"the words “{word.replace('_', ' ')}” in a row after the host name"
    if tag in ("d", "tld", "rd") and not word:
        return "no domain name" if tag == "d" else "no domain ending"
    return _WORD_TAGS.get(tag, "the word “{}” in the link").format(word)


# How each view's n-grams (or words) read, by the prefix that names the view.
_VIEWS: dict[str, Callable[[str], str]] = {
    "url": _in_link,
    "host": _host_fragment,
    "path": _after_host,
    "words": _word,
}


def describe_feature(feature: str, kind: str) -> str:
    """An explanation's feature in words, for people: a lexical feature by what it measures,
    an n-gram by where it occurs in the link. Names this lib-ml does not give are returned
    as they are."""
    if kind == "lexical":
        return NAMED_INPUT_DESCRIPTIONS.get(feature, feature)
    view, separator, gram = feature.partition(":")
    describe = _VIEWS.get(view) if kind == "ngram" and separator else None
    return describe(gram) if describe else feature


def explanation_items(explanation: Sequence[Contribution]) -> list[dict[str, Any]]:
    """An explanation as JSON-ready items, as model-service answers it: each feature's name,
    kind, weight and description in words."""
    return [
        {
            "feature": item.feature,
            "kind": item.kind,
            "weight": item.weight,
            "description": describe_feature(item.feature, item.kind),
        }
        for item in explanation
    ]
