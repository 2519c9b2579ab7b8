import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_ml import normalize_url
from lib_ml.drift import (
    DRIFT_FEATURES,
    check_reference,
    drift_report,
    drift_values,
    histogram,
    psi,
    reference_distributions,
)
from lib_ml.features import (
    LEXICAL_FEATURES,
    WORD_SEPARATOR,
    NgramConfig,
    hash_entries,
    hash_words,
    lexical_matrix,
    lexical_vector,
    url_words,
    view_text,
)
from lib_ml.matrices import (
    concat_row_entries,
    document_frequencies,
    hash_ngrams,
    ngram_counts,
    smoothed_idf,
    tfidf_rows,
)

CONFIG = NgramConfig(1, 3, 12)


def ngram_hash(gram: bytes, config: NgramConfig, salt: int = 0) -> int:
    """The bucket of one n-gram, written out byte by byte from the scheme `hash_entries`
    documents, on plain Python ints."""
    h = 0
    for byte in gram:
        h = ((h * 16777619) & 0xFFFFFFFF) ^ byte
    h = (h + len(gram) * 0x9E3779B9 + salt * 0x7F4A7C15) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h & (config.n_features - 1)


def reference_counts(text: str, config: NgramConfig) -> dict[int, int]:
    """Per-bucket counts computed the slow, obvious way."""
    raw = text.encode()
    counts: dict[int, int] = {}
    for n in range(config.ngram_min, config.ngram_max + 1):
        for start in range(len(raw) - n + 1):
            bucket = ngram_hash(raw[start : start + n], config)
            counts[bucket] = counts.get(bucket, 0) + 1
    return counts


@given(
    st.lists(
        st.text(alphabet=st.characters(min_codepoint=1, exclude_categories=("Cs",)), max_size=30),
        max_size=6,
    )
)
@settings(max_examples=60, deadline=None)
def test_vectorized_hashing_matches_the_scalar_reference(texts: list[str]) -> None:
    matrix = hash_ngrams(texts, CONFIG)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    assert matrix.shape == (len(texts), CONFIG.n_features)
    for row, text in enumerate(texts):
        got = dict(zip(matrix[row].indices.tolist(), matrix[row].data.tolist(), strict=True))
        assert got == reference_counts(text, CONFIG)


def test_ngram_min_skips_shorter_grams() -> None:
    config = NgramConfig(2, 3, 12)
    matrix = hash_ngrams(["abcd"], config)
    assert matrix.sum() == 3 + 2  # bigrams + trigrams


def test_empty_batch_and_empty_text_keep_rows() -> None:
    assert hash_ngrams([], CONFIG).shape == (0, CONFIG.n_features)
    assert hash_ngrams(["", "ab"], CONFIG).shape[0] == 2


def test_host_ngrams_add_a_separate_space() -> None:
    urls = [normalize_url("http://paypal.example/paypal")]
    plain = ngram_counts(urls, NgramConfig(1, 3, 16))
    with_host = ngram_counts(urls, NgramConfig(1, 3, 16, host_ngrams=True))
    assert with_host.sum() == plain.sum() + len(
        hash_ngrams(["paypal.example"], NgramConfig(1, 3, 16)).data.nonzero()[0]
    )


def test_concat_row_entries_equals_sum() -> None:
    a = hash_ngrams(["abc", "", "de"], CONFIG)
    b = hash_ngrams(["x", "yz", ""], CONFIG)
    combined = concat_row_entries(a, b)
    assert combined.nnz == a.nnz + b.nnz
    np.testing.assert_array_equal(combined.toarray(), (a + b).toarray())


def test_tfidf_rows_are_unit_length_and_idf_weighted() -> None:
    counts = hash_ngrams(["abc", "abd", ""], CONFIG)
    idf = smoothed_idf(document_frequencies(counts), counts.shape[0])
    rows = tfidf_rows(counts, idf)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    # Row norms are over entries (duplicates apart), so the summed row is unit length only
    # when no n-gram repeats, as here.
    np.testing.assert_allclose(norms[:2], 1.0, rtol=1e-5)
    assert norms[2] == 0.0
    assert idf[ngram_hash(b"c", CONFIG)] > idf[ngram_hash(b"a", CONFIG)]


def test_lexical_features_of_a_known_url() -> None:
    url = normalize_url("http://user@192.168.0.1:8080/paypal/login.php?a=1&b=2")
    values = dict(zip(LEXICAL_FEATURES, lexical_vector(url), strict=True))
    assert len(values) == len(LEXICAL_FEATURES)
    assert values["host_is_ip"] == 1.0
    assert values["has_port"] == 1.0
    assert values["has_userinfo"] == 1.0
    assert values["query_params"] == 2
    assert values["path_risky_extension"] == 1.0
    assert values["suspicious_words"] >= 1
    assert values["brand_in_subdomain_or_path"] == 1.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a.com/www.b.com/", 1.0),
        ("a.com/x?next=http%3A//b.com", 1.0),
        # Neither the path nor the query holds it, only the two run together.
        ("a.com/ww?w=1", 0.0),
        ("a.com/ht?tp=1", 0.0),
        ("www.a.com/", 0.0),  # the host is not the path
    ],
)
def test_www_or_http_in_path_reads_the_path_and_the_query_apart(raw: str, expected: float) -> None:
    values = dict(zip(LEXICAL_FEATURES, lexical_vector(normalize_url(raw)), strict=True))
    assert values["www_or_http_in_path"] == expected


def test_lexical_matrix_shapes() -> None:
    # float32 as the trees' ONNX inputs at serving: trees fitted on other values could split
    # between a feature and its float32 rounding.
    empty = lexical_matrix([])
    assert empty.shape == (0, len(LEXICAL_FEATURES))
    assert empty.dtype == np.float32
    matrix = lexical_matrix([normalize_url("a.com"), normalize_url("b.org/x")])
    assert matrix.shape == (2, len(LEXICAL_FEATURES))
    assert matrix.dtype == np.float32
    assert np.isfinite(matrix).all()


def test_psi_is_zero_for_identical_and_grows_with_shift() -> None:
    texts = [f"example.com/{'a' * (i % 40)}" for i in range(500)]
    reference = reference_distributions(texts)
    assert drift_report(reference, texts)["url_length"] == pytest.approx(0.0, abs=1e-9)
    shifted = [f"{t}/{'9' * 80}" for t in texts]
    assert drift_report(reference, shifted)["url_length"] > 1.0
    assert drift_report(reference, shifted)["digit_ratio"] > 0.2


def test_psi_rejects_mismatched_bins() -> None:
    with pytest.raises(ValueError, match="bins"):
        psi([0.5, 0.5], [1.0])


def test_histogram_sums_to_one() -> None:
    assert histogram(np.array([1.0, 2.0, 3.0]), [1.5, 2.5]).sum() == pytest.approx(1.0)


def test_drift_values_are_length_and_character_class_shares() -> None:
    values = drift_values(["abc1-/", "7", ""])
    assert tuple(values) == DRIFT_FEATURES
    assert all(v.dtype == np.float64 for v in values.values())
    np.testing.assert_allclose(values["url_length"], [6, 1, 0])
    np.testing.assert_allclose(values["digit_ratio"], [1 / 6, 1, 0])
    np.testing.assert_allclose(values["letter_ratio"], [3 / 6, 0, 0])
    np.testing.assert_allclose(values["special_ratio"], [2 / 6, 0, 0])


def test_reference_distributions_default_to_deciles() -> None:
    reference = reference_distributions(["x" * n for n in range(1, 101)])
    assert reference["url_length"]["edges"] == pytest.approx([1 + 9.9 * k for k in range(1, 10)])
    assert reference["url_length"]["probabilities"] == pytest.approx([0.1] * 10)


def test_a_constant_feature_has_one_edge_and_an_empty_last_bin() -> None:
    reference = reference_distributions(["ab"])
    assert reference["url_length"] == {"edges": [2.0], "probabilities": [1.0, 0.0]}
    assert reference["digit_ratio"] == {"edges": [0.0], "probabilities": [1.0, 0.0]}


def test_reference_bins_are_right_closed() -> None:
    reference = reference_distributions(["a", "bb", "cc", "ddd"], bins=2)
    assert reference["url_length"] == {"edges": [2.0], "probabilities": [0.75, 0.25]}


def test_histogram_bins_are_right_closed() -> None:
    np.testing.assert_allclose(histogram(np.array([1.0, 2.0, 2.0, 3.0]), [2.0]), [0.75, 0.25])
    np.testing.assert_allclose(histogram(np.array([5.0]), [1.0, 2.0]), [0.0, 0.0, 1.0])


def test_histogram_of_no_values_is_all_zero() -> None:
    np.testing.assert_array_equal(histogram(np.array([]), [1.0, 2.0]), [0.0, 0.0, 0.0])


def test_psi_of_small_histograms() -> None:
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * np.log(3))
    assert psi([0.5, 0.5], [0.75, 0.25]) == pytest.approx(0.25 * np.log(3))


def test_psi_counts_an_empty_bin_as_one_in_ten_thousand() -> None:
    expected = (0.5 - 1e-4) * np.log(0.5 / 1e-4) + 0.5 * np.log(2)
    assert psi([0.0, 1.0], [0.5, 0.5]) == pytest.approx(expected)
    assert psi([0, 1], [0, 1]) == 0.0


def test_check_reference_refuses_probabilities_that_do_not_sum_to_one() -> None:
    check_reference({"url_length": {"edges": [1.0], "probabilities": [0.5, 0.5 + 1e-7]}})
    with pytest.raises(ValueError, match="not a distribution"):
        check_reference({"url_length": {"edges": [1.0], "probabilities": [0.5, 1.0]}})


def test_check_reference_refuses_negative_probabilities_and_repeated_edges() -> None:
    with pytest.raises(ValueError, match="not a distribution"):
        check_reference({"url_length": {"edges": [1.0], "probabilities": [-0.5, 1.5]}})
    with pytest.raises(ValueError, match="do not increase"):
        check_reference({"url_length": {"edges": [1.0, 1.0], "probabilities": [0.5, 0.0, 0.5]}})


@pytest.mark.parametrize("salts", [[0, 1, 1, 0], [2, 1, 1, 2], [1, 0, 2, 1]])
def test_per_text_salts_equal_separate_calls(salts: list[int]) -> None:
    texts = ["abc", "de", "abc", "fgh"]
    together = hash_entries(texts, CONFIG, salts)
    for index, (text, salt) in enumerate(zip(texts, salts, strict=True)):
        alone = hash_entries([text], CONFIG, salt)
        rows = slice(together.starts[index], together.starts[index + 1])
        np.testing.assert_array_equal(together.alive[rows], alone.alive[: len(text) + 1])
        live = together.alive[rows] > 0  # dead entries cross into the next text: no meaning
        np.testing.assert_array_equal(together.keys[rows][live], alone.keys[: len(text) + 1][live])
    assert not np.array_equal(together.keys[0], together.keys[7])  # same "abc", other salt


def test_per_text_salts_name_every_text() -> None:
    with pytest.raises(ValueError, match="2 salts for 3 texts"):
        hash_entries(["abc", "de", "fgh"], CONFIG, [0, 1])


def test_a_slice_of_texts_holds_their_ngrams_as_if_hashed_alone() -> None:
    texts, salts = ["abc", "de", "fgh", "ij"], [0, 1, 0, 1]
    part = hash_entries(texts, CONFIG, salts).texts(1, 3)
    alone = hash_entries(texts[1:3], CONFIG, salts[1:3])
    assert part.joined == alone.joined
    np.testing.assert_array_equal(part.starts, alone.starts)
    np.testing.assert_array_equal(part.alive, alone.alive)
    live = alone.alive > 0
    np.testing.assert_array_equal(part.keys[live], alone.keys[live])


@pytest.mark.parametrize(("orders", "bits"), [((3, 2), 12), ((0, 2), 12), ((1, 2), 32)])
def test_invalid_ngram_configs_are_refused(orders: tuple[int, int], bits: int) -> None:
    with pytest.raises(ValueError, match=r"range|hash_bits"):
        NgramConfig(*orders, hash_bits=bits)


@pytest.mark.parametrize(("orders", "bits"), [((3, 3), 12), ((1, 2), 1), ((1, 2), 31)])
def test_ngram_configs_at_the_limits_are_accepted(orders: tuple[int, int], bits: int) -> None:
    assert NgramConfig(*orders, hash_bits=bits).n_features == 2**bits


def test_hashing_without_a_salt_is_salt_zero() -> None:
    config = NgramConfig(1, 2, 12)
    hashed = hash_entries(["ab"], config)
    # Positions a, b and the closing separator; orders 1 and 2. Only "a", "ab" and "b" fit.
    np.testing.assert_array_equal(hashed.alive, [[1, 1], [1, 0], [0, 0]])
    assert hashed.alive.dtype == np.float32  # the dtype of the count matrices and weights
    live = hashed.buckets(config)[hashed.alive > 0]
    assert live.tolist() == [ngram_hash(g, config) for g in (b"a", b"ab", b"b")]


def test_structure_features_of_a_known_url() -> None:
    url = normalize_url("http://secure.paypa1.example.com/A1b2C3d4e5/verify-login.php?id=99&x=y")
    values = dict(zip(LEXICAL_FEATURES, lexical_vector(url), strict=True))
    text_length = 25 + 28 + 10  # host, path, "?" + query
    expected = {
        "host_vowel_ratio": 9 / 21,  # y is not a vowel, digits are not letters
        "domain_vowel_ratio": 3 / 7,
        "domain_max_consonant_run": 3,  # "mpl"
        "url_max_digit_run": 2,  # "99"
        "host_max_digit_run": 1,
        "url_max_consonant_run": 3,  # "mpl", "php"
        "random_tokens": 1,  # the 10 hex digits "A1b2C3d4e5"
        "host_labels": 4,
        "longest_host_label": 7,
        "path_share": 28 / text_length,
        "has_file_extension": 1.0,
        "file_extension_length": 3,
        "brand_lookalike_in_host": 1.0,  # paypa1
        "brand_lookalike_domain": 0.0,
        "equals_signs": 2,
        "ampersands": 1,
        "subdomain_digits": 1,
        "file_name_length": 16,
        "first_directory_length": 10,
        "path_uppercase": 2,
        "letter_ratio": 44 / text_length,
        "www_or_http_in_path": 0.0,
        "path_tokens": 4,
        "query_tokens": 4,
        "domain_pronounceable": 1.0,
    }
    assert {name: values[name] for name in expected} == pytest.approx(expected)


@pytest.mark.parametrize(
    ("label", "lookalike"),
    [("paypa1", True), ("gooogle", True), ("amazom", True), ("paypal", False),
     ("example", False), ("pay", False), ("bankofamericas", True), ("bankofamericass", False)],
)  # fmt: skip
def test_brand_lookalikes_are_one_edit_from_a_brand(label: str, lookalike: bool) -> None:
    url = normalize_url(f"http://{label}.net/")
    values = dict(zip(LEXICAL_FEATURES, lexical_vector(url), strict=True))
    assert values["brand_lookalike_domain"] == float(lookalike)


def test_character_counts_follow_unicode_outside_ascii() -> None:
    """ASCII text is counted by byte tables, other text by the str predicates themselves."""
    ascii_url, unicode_url = (
        normalize_url(f"http://example.com/{path}") for path in ("ab12", "²٣Ä")
    )
    ascii_values, unicode_values = (
        dict(zip(LEXICAL_FEATURES, lexical_vector(url), strict=True))
        for url in (ascii_url, unicode_url)
    )
    assert ascii_values["path_digits"] == 2
    assert unicode_values["path_digits"] == 2  # superscript two and Arabic-Indic three
    assert unicode_values["path_uppercase"] == 1
    assert unicode_values["letter_ratio"] == pytest.approx(
        len("examplecomÄ") / len("example.com/²٣Ä")
    )


def test_url_words_tag_each_part() -> None:
    url = normalize_url("http://login.bank.co.uk:8443/My-Account/update?x=1")
    assert url_words(url) == [
        "h:login", "h:bank", "h:co", "h:uk", "sd:login", "d:bank", "tld:co.uk", "rd:bank.co.uk",
        "p:8443", "p:my", "p:account", "p:update", "p:x", "p:1",
        "p2:8443_my", "p2:my_account", "p2:account_update", "p2:update_x", "p2:x_1",
        "ps::", "ps:/", "ps:-", "ps:/", "ps:?", "ps:=",
    ]  # fmt: skip
    buckets, starts = hash_words([view_text(url, "words"), ""], NgramConfig(view="words"))
    assert starts.tolist() == [0, 25, 25]
    assert buckets.max() < NgramConfig().n_features


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("url", "sub.example.com:8080/P/a?q=1#f"),
        ("host", "^sub.example.com$"),
        ("path", ":8080/P/a?q=1#f"),
    ],
)
def test_each_view_reads_its_part_of_the_url(view: str, expected: str) -> None:
    assert view_text(normalize_url("HTTP://Sub.Example.com:8080/P/a?q=1#f"), view) == expected


def test_the_path_view_of_an_empty_path_is_the_root() -> None:
    # normalize_url never leaves the path empty; a NormalizedUrl built without one reads alike.
    url = normalize_url("a.com")._replace(path="")
    assert view_text(url, "path") == "/"


def test_word_buckets_are_the_crc32_of_each_word() -> None:
    config = NgramConfig(hash_bits=12, view="words")
    # CRC-32 check values: 0xCBF43926 for "123456789" (the standard check), 0xE8B7BE43 for "a"
    buckets, starts = hash_words(["123456789" + WORD_SEPARATOR + "a", ""], config)
    assert buckets.tolist() == [0x926, 0xE43]
    assert starts.tolist() == [0, 2, 2]
    # A separator run after the host can be a space: words are split at newlines only.
    url = normalize_url("a.com/a b")
    words = ["h:a", "h:com", "d:a", "tld:com", "rd:a.com", "p:a", "p:b", "p2:a_b", "ps:/", "ps: "]
    assert url_words(url) == words
    buckets, _ = hash_words([view_text(url, "words")], config)
    assert buckets.tolist() == [zlib.crc32(word.encode()) & 0xFFF for word in words]
