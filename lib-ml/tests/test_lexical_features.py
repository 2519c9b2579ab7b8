"""Lexical features counted by hand from their definitions: the tree models of training and
serving read these values, so a change to any of them must fail here."""

import math

import pytest

from lib_ml import normalize_url
from lib_ml.features import LEXICAL_FEATURES, lexical_vector


def features(raw: str) -> dict[str, float]:
    return dict(zip(LEXICAL_FEATURES, lexical_vector(normalize_url(raw)), strict=True))


def test_a_plain_url_counted_by_hand() -> None:
    # text "www.abab.com/" (13 characters): w x3, "." x2, a x2, b x2, c, o, m, "/"
    expected = {
        "url_length": 13, "host_length": 12, "path_length": 1, "query_length": 0,
        "fragment_length": 0, "host_dots": 2, "host_hyphens": 0, "host_digits": 0,
        "subdomain_depth": 1, "subdomain_length": 3, "domain_length": 4, "domain_digits": 0,
        "domain_hyphens": 0, "suffix_length": 3, "suffix_is_common": 1.0,
        "suffix_is_country": 0.0, "host_is_ip": 0.0, "host_is_punycode": 0.0, "has_port": 0.0,
        "has_userinfo": 0.0, "path_depth": 1, "path_has_double_slash": 0.0, "path_tilde": 0.0,
        "query_params": 0, "percent_escapes": 0, "at_signs": 0, "digit_ratio": 0.0,
        "uppercase_ratio": 0.0, "special_ratio": 3 / 13,  # two dots and the slash
        "url_entropy": math.log2(13) - (3 * math.log2(3) + 3 * 2) / 13,
        "host_entropy": math.log2(12) - (3 * math.log2(3) + 3 * 2) / 12,
        "longest_token": 4, "token_count": 3, "mean_token_length": 10 / 3,
        "suspicious_words": 0, "is_shortener": 0.0, "hex_run": 0.0, "www_prefix": 1.0,
        "domain_in_path": 0.0,
        "host_vowel_ratio": 3 / 10, "domain_vowel_ratio": 2 / 4, "domain_max_consonant_run": 1,
        "url_max_digit_run": 0, "host_max_digit_run": 0, "url_max_consonant_run": 3,  # www
        "random_tokens": 0, "host_labels": 3, "longest_host_label": 4, "path_share": 1 / 13,
        "has_file_extension": 0.0, "file_extension_length": 0, "file_name_length": 0,
        "first_directory_length": 0, "letter_ratio": 10 / 13,
        "distinct_char_ratio": 8 / 13,
        # runs "www" "." "abab" "." "com" "/": five changes of character class
        "char_class_changes": 5 / 13,
        "www_or_http_in_path": 0.0, "path_tokens": 0, "query_tokens": 0,
        "domain_entropy": 1.0,  # "abab": two characters, equally often
        "domain_pronounceable": 1.0,
    }  # fmt: skip
    values = features("www.abab.com")
    assert {name: values[name] for name in expected} == pytest.approx(expected)


def test_a_busy_url_counted_by_hand() -> None:
    url = "http://u@a-b.login.pay-pal1.co.uk:8080/~x/a_b//c-d.e/Index.HTML?q=1&r=%41#top"
    # text: "u@" + host (24) + ":8080" + path (25) + "?" + query (9) + "#" + "top" = 70
    # characters, 38 of them letters and 8 digits (1 in the host, 8080, 1 and 41 in the query)
    expected = {
        "url_length": 70, "host_length": 24, "path_length": 25, "query_length": 9,
        "fragment_length": 3, "host_dots": 4, "host_hyphens": 2, "host_digits": 1,
        "subdomain_depth": 2, "subdomain_length": 9,  # "a-b.login"
        "domain_length": 8, "domain_digits": 1, "domain_hyphens": 1,  # "pay-pal1"
        "suffix_length": 5, "suffix_is_common": 0.0, "suffix_is_country": 1.0,  # "co.uk"
        "host_is_ip": 0.0, "has_port": 1.0, "has_userinfo": 1.0,
        "path_depth": 5, "path_dots": 2, "path_hyphens": 1, "path_underscores": 1,
        "path_digits": 0, "path_has_double_slash": 1.0, "path_risky_extension": 1.0,
        "path_tilde": 1.0, "query_params": 2, "percent_escapes": 1, "at_signs": 1,
        "digit_ratio": 8 / 70, "uppercase_ratio": 5 / 70,  # I, H, T, M, L
        "special_ratio": (70 - 38 - 8) / 70,
        # u a b login pay pal1 co uk 8080 x a b c d e Index HTML q 1 r 41 top
        "longest_token": 5, "token_count": 22, "mean_token_length": (38 + 8) / 22,
        "suspicious_words": 1,  # login
        "brand_in_subdomain_or_path": 0.0, "brand_in_domain": 0.0,
        "host_vowel_ratio": 7 / 17, "domain_vowel_ratio": 2 / 6, "domain_max_consonant_run": 1,
        "url_max_digit_run": 4, "host_max_digit_run": 1,
        "url_max_consonant_run": 4,  # "html"
        "random_tokens": 0, "host_labels": 5, "longest_host_label": 8, "path_share": 25 / 70,
        "has_file_extension": 1.0, "file_extension_length": 4,
        "brand_lookalike_in_host": 0.0, "brand_lookalike_domain": 0.0,
        "equals_signs": 2, "ampersands": 1, "subdomain_digits": 0,
        "file_name_length": 10, "first_directory_length": 2,  # "Index.HTML", "~x"
        "path_uppercase": 5, "letter_ratio": 38 / 70, "www_or_http_in_path": 0.0,
        "path_tokens": 8, "query_tokens": 4,
        "domain_entropy": 3 - (2 + 2) / 8,  # p and a twice, four characters once: 2.5 bits
        "domain_pronounceable": 0.0,  # a digit
    }  # fmt: skip
    values = features(url)
    assert {name: values[name] for name in expected} == pytest.approx(expected)


@pytest.mark.parametrize(
    ("url", "name", "expected"),
    [
        # hosts with no name to split
        ("http://[2001:db8::1]/", "host_is_ip", 1.0),
        ("http://192.168.0.1/", "subdomain_depth", 0),
        ("http://192.168.0.1/", "suffix_is_country", 0.0),
        ("http://192.168.0.1/", "host_vowel_ratio", 0.0),  # no letters at all
        ("http://bücher.example/", "host_is_punycode", 1.0),
        # "-" is a host too, and its text "-/" holds no token
        ("-", "longest_token", 0),
        ("-", "token_count", 0),
        ("-", "mean_token_length", 0.0),
        ("bit.ly/x", "is_shortener", 1.0),
        ("a.com/0123456789abcdef", "hex_run", 1.0),
        ("a.com/0123456789abcde", "hex_run", 0.0),  # 15 hex digits
        ("a.org/paypal.com", "domain_in_path", 1.0),
        ("a.com/go?to=www.b.org", "www_or_http_in_path", 1.0),
        ("a.com/r?u=http%3A%2F%2Fb.org", "www_or_http_in_path", 1.0),
        ("a.com/deadbeef", "random_tokens", 1),  # 8 hex digits
        ("a.com/Xy7kQ9zLm2Pw", "random_tokens", 1),  # 12 letters and digits mixed
        ("a.com/Xy7kQ9zLm2P", "random_tokens", 0),  # 11 of them
        ("a.com/passwordreset", "random_tokens", 0),  # long, but letters only
        ("a.com/a1", "random_tokens", 0),  # mixed, but short
        # every host label but the last is read, and a host's only label too
        ("http://paypa1/", "brand_lookalike_in_host", 1.0),
        ("http://login.paypa1.com/", "brand_lookalike_in_host", 1.0),
        ("http://www.example.paypa1/", "brand_lookalike_in_host", 0.0),
        ("http://micr0soft.com/", "brand_lookalike_domain", 1.0),  # one character replaced
        # at least 3 letters, no digits, no run of more than 3 consonants
        ("abc.com", "domain_pronounceable", 1.0),
        ("ab.com", "domain_pronounceable", 0.0),
        ("strength.com", "domain_pronounceable", 0.0),  # "ngth"
    ],
)
def test_one_feature_of_a_url(url: str, name: str, expected: float) -> None:
    assert features(url)[name] == pytest.approx(expected)
