import json
import re
import shutil
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib_ml import (
    ArtifactError,
    BatchInputError,
    Predictor,
    TamperedArtifactError,
    find_artifacts,
    read_artifact,
    write_artifact,
)
from lib_ml.artifact import MANIFEST
from lib_ml.features import LEXICAL_FEATURES, NgramConfig, lexical_matrix
from lib_ml.matrices import ngram_counts, tfidf_rows
from lib_ml.scorers import LinearScorer, TldPrior, TreeScorer, read_views, top_indices
from lib_ml.urls import normalize_url

from .conftest import LEGITIMATE, PHISHING, sha256_of, training_set


@pytest.fixture
def copy_of(artifacts: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(name: str) -> Path:
        return Path(shutil.copytree(artifacts / name, tmp_path / name))

    return make


def test_find_artifacts_lists_each_directory(artifacts: Path) -> None:
    assert [p.name for p in find_artifacts(artifacts)] == ["ensemble", "gbm", "linear"]
    assert find_artifacts(artifacts / "linear") == [artifacts / "linear"]
    assert find_artifacts(artifacts / "missing") == []


def test_find_artifacts_refuses_weights_without_their_manifest(
    artifacts: Path, tmp_path: Path
) -> None:
    models = Path(shutil.copytree(artifacts, tmp_path / "models"))
    (models / "notes").mkdir()  # a directory without weights is simply not an artifact
    assert [p.name for p in find_artifacts(models)] == ["ensemble", "gbm", "linear"]
    (models / "gbm" / MANIFEST).unlink()
    with pytest.raises(ArtifactError, match=r"models/gbm holds weight files but no model\.json"):
        find_artifacts(models)


def test_an_artifact_is_named_by_the_sha256_of_its_manifest(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "linear")
    assert predictor.manifest_sha256 == sha256_of(artifacts / "linear" / MANIFEST)
    assert predictor.manifest_sha256 != Predictor.load(artifacts / "gbm").manifest_sha256


def test_manifest_records_sha256_of_every_weight_file(artifacts: Path) -> None:
    manifest = json.loads((artifacts / "ensemble" / MANIFEST).read_text())
    assert set(manifest["files"]) == {
        "linear.npz", "view_host.npz", "view_path.npz", "view_words.npz", "tld.npz", "trees.npz"
    }  # fmt: skip
    for name, digest in manifest["files"].items():
        assert sha256_of(artifacts / "ensemble" / name) == digest


def test_round_trip_is_byte_identical(artifacts: Path, tmp_path: Path) -> None:
    original = read_artifact(artifacts / "linear")
    write_artifact(tmp_path / "again", original.manifest, original.weights)
    for name in original.manifest["files"]:
        assert sha256_of(tmp_path / "again" / name) == sha256_of(artifacts / "linear" / name)
    again = read_artifact(tmp_path / "again")
    for key, array in original.weights["linear.npz"].items():
        np.testing.assert_array_equal(again.weights["linear.npz"][key], array)


def test_tampered_weights_are_refused(copy_of) -> None:  # type: ignore[no-untyped-def]
    directory = copy_of("linear")
    path = directory / "linear.npz"
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))
    with pytest.raises(TamperedArtifactError, match="does not match"):
        Predictor.load(directory)


def test_the_weights_loaded_are_the_bytes_verified(copy_of, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    directory = copy_of("linear")
    path = directory / "linear.npz"
    verified = read_artifact(directory).weights["linear.npz"]
    swapped = directory.parent / "swapped.npz"
    np.savez(swapped, **{key: np.zeros_like(array) for key, array in verified.items()})
    real_open, opened = Path.open, []

    def replaced_after_its_first_read(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            opened.append(self)
            return real_open(path if len(opened) == 1 else swapped, *args, **kwargs)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", replaced_after_its_first_read)
    loaded = read_artifact(directory).weights["linear.npz"]
    assert opened == [path]
    for key, array in verified.items():
        np.testing.assert_array_equal(loaded[key], array)


def test_pickled_npz_is_never_loaded(copy_of) -> None:  # type: ignore[no-untyped-def]
    directory = copy_of("linear")
    path = directory / "linear.npz"
    np.savez(path, coef=np.array([object()], dtype=object))
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"]["linear.npz"] = sha256_of(path)  # even with a matching hash
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="not a readable"):
        read_artifact(directory)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.pop("threshold"), "lacks"),
        (lambda m: m.update(format_version=99), "format_version"),
        (lambda m: m.update(family="forest"), "unknown model family"),
        (lambda m: m.update(label_map={"phishing": 0, "legitimate": 1}), "label map"),
        (lambda m: m["files"].update({"../x.npz": "0"}), "missing"),
        (lambda m: m.update(threshold="high"), "'threshold' must be int or float, not str"),
        (lambda m: m.update(name=None), "'name' must be str"),
        (lambda m: m["featurizer"].pop("ngram"), "missing or mistyped"),
        (lambda m: m.update(name=""), "'name' must be 1 to 64 letters"),
        (lambda m: m.update(name="../linear"), "'name' must be 1 to 64 letters"),
        (lambda m: m.update(threshold=1.5), "'threshold' must be a probability, not 1.5"),
        (
            lambda m: m["feature_distributions"]["digit_ratio"].update(edges=[0.1]),
            r"'digit_ratio' has 1 edges, so 2 probabilities, not \d+",
        ),
        (
            lambda m: m["feature_distributions"]["url_length"]["edges"].reverse(),
            "'url_length' has edges that do not increase",
        ),
        (
            lambda m: m["feature_distributions"]["url_length"]["probabilities"].__setitem__(0, 2),
            "'url_length' has probabilities that are not a distribution",
        ),
        (
            lambda m: m["feature_distributions"].update(url_length=[1, 2]),
            "'url_length' needs lists of numbers",
        ),
        # One list of numbers is not enough: the other must be one too, and a bool is no number.
        (
            lambda m: m["feature_distributions"].update(
                url_length={"edges": ["10"], "probabilities": [0.5, 0.5]}
            ),
            "'url_length' needs lists of numbers",
        ),
        (
            lambda m: m["feature_distributions"].update(
                url_length={"edges": [10.0], "probabilities": [True, False]}
            ),
            "'url_length' needs lists of numbers",
        ),
    ],
)
def test_invalid_manifests_are_refused(copy_of, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    directory = copy_of("linear")
    manifest = json.loads((directory / MANIFEST).read_text())
    mutate(manifest)
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=message):
        Predictor.load(directory)


def test_a_manifest_with_nan_is_refused(copy_of) -> None:  # type: ignore[no-untyped-def]
    directory = copy_of("linear")
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["metrics"]["validation"]["roc_auc"] = float("nan")
    (directory / MANIFEST).write_text(json.dumps(manifest))  # Python writes NaN, JSON has none
    with pytest.raises(ArtifactError, match="not valid JSON: NaN is not a JSON number"):
        Predictor.load(directory)


def test_writer_refuses_what_the_reader_would(artifacts: Path, tmp_path: Path) -> None:
    artifact = read_artifact(artifacts / "linear")
    manifest = {k: v for k, v in artifact.manifest.items() if k not in ("files", "format_version")}
    with pytest.raises(ArtifactError, match="non-finite number"):
        write_artifact(
            tmp_path,
            {**manifest, "metrics": {"validation": {"f1": float("nan")}}},
            artifact.weights,
        )
    with pytest.raises(ArtifactError, match="'threshold' must be a probability"):
        write_artifact(tmp_path / "new", {**manifest, "threshold": -0.1}, artifact.weights)
    assert not (tmp_path / "new").exists()


def test_a_refused_rewrite_leaves_the_artifact_as_it_was(artifacts: Path, tmp_path: Path) -> None:
    directory = shutil.copytree(artifacts / "linear", tmp_path / "linear")
    before = {path.name: path.read_bytes() for path in directory.iterdir()}
    artifact = read_artifact(directory)
    manifest = {k: v for k, v in artifact.manifest.items() if k not in ("files", "format_version")}
    retrained = {name: {key: array * 2 for key, array in arrays.items()}
                 for name, arrays in artifact.weights.items()}  # fmt: skip
    with pytest.raises(ArtifactError, match="'threshold' must be a probability"):
        write_artifact(directory, {**manifest, "threshold": 1.5}, retrained)
    assert {path.name: path.read_bytes() for path in directory.iterdir()} == before
    Predictor.load(directory)


def test_missing_or_broken_manifest(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="missing"):
        read_artifact(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        read_artifact(tmp_path)
    (tmp_path / MANIFEST).write_text("[]")
    with pytest.raises(ArtifactError, match="JSON object"):
        read_artifact(tmp_path)


def test_writer_refuses_nested_or_incomplete(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="flat"):
        write_artifact(tmp_path, {}, {"sub/w.npz": {}})
    with pytest.raises(ArtifactError, match="lacks the keys"):
        write_artifact(tmp_path, {"name": "x"}, {})
    assert not (tmp_path / MANIFEST).exists()


def test_tree_scorer_matches_lightgbm_exactly(artifacts: Path) -> None:
    booster = lgb.Booster(model_str=(artifacts / "booster.txt").read_text())
    predictor = Predictor.load(artifacts / "gbm")
    urls, _ = training_set(size=200, seed=7)
    X = lexical_matrix([normalize_url(u) for u in urls])
    assert predictor.trees is not None
    np.testing.assert_allclose(
        predictor.trees.logits(X), booster.predict(X, raw_score=True), rtol=0, atol=1e-9
    )


def test_tree_contributions_sum_to_the_logit_minus_root_values(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "gbm")
    assert predictor.trees is not None
    X = lexical_matrix([normalize_url(u) for u in PHISHING + LEGITIMATE])
    bias = predictor.trees.value[predictor.trees.roots].sum()
    np.testing.assert_allclose(
        predictor.trees.contributions(X).sum(axis=1) + bias, predictor.trees.logits(X), atol=1e-9
    )


def test_one_pass_through_the_trees_gives_logits_and_contributions(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    trees = predictor.trees
    assert trees is not None
    X = predictor.tree_inputs([normalize_url(u) for u in PHISHING + LEGITIMATE])
    logits, contributions = trees.logits_and_contributions(X)
    np.testing.assert_array_equal(logits, trees.logits(X))
    np.testing.assert_array_equal(contributions, trees.contributions(X))


def test_explained_predictions_score_and_explain_as_each_alone(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    urls = PHISHING + LEGITIMATE
    results = predictor.predict(urls, explain_top_k=4)
    assert [r.probability for r in results] == predictor.predict_proba(urls).tolist()
    explained = predictor.explain_batch([normalize_url(u) for u in urls], top_k=4)
    assert [r.explanation for r in results] == explained


@pytest.mark.parametrize("family", ["linear", "gbm", "ensemble"])
def test_every_family_separates_clear_cases(artifacts: Path, family: str) -> None:
    predictor = Predictor.load(artifacts / family)
    results = predictor.predict(PHISHING + LEGITIMATE, explain_top_k=3)
    labels = [r.label for r in results]
    assert labels == ["phishing"] * len(PHISHING) + ["legitimate"] * len(LEGITIMATE)
    assert all(0.0 <= r.probability <= 1.0 for r in results)
    assert all(len(r.explanation) == 3 for r in results)


def test_batch_equals_single_predictions(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    urls = PHISHING + LEGITIMATE
    batch = predictor.predict_proba(urls)
    singles = [predictor.predict_one(u).probability for u in urls]
    np.testing.assert_allclose(batch, singles, rtol=1e-6)


def test_invalid_item_raises_with_its_index_and_never_shrinks_the_batch(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "linear")
    with pytest.raises(BatchInputError) as caught:
        predictor.predict_proba(["https://a.com/", "   ", "https://b.com/"])
    assert caught.value.index == 1
    assert predictor.predict_proba([]).shape == (0,)


def test_linear_explanations_name_ngrams_and_host_space(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "linear")
    explanation = predictor.predict_one(PHISHING[0], explain_top_k=50).explanation
    assert {c.kind for c in explanation} == {"ngram"}
    assert any(c.feature.startswith("host:") for c in explanation)
    assert predictor.linear is not None
    # The shares add up to the logit (the intercept aside).
    url = normalize_url(PHISHING[0])
    total = sum(c.weight for c in predictor.linear.explain(url, top_k=10_000))
    logit = predictor.linear.logits([url])[0] - predictor.linear.intercept
    assert total == pytest.approx(logit, rel=1e-4)


def test_properties(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    assert (predictor.name, predictor.family, predictor.version) == (
        "ensemble",
        "ensemble",
        "0.1.0",
    )
    assert predictor.metrics["validation"]["f1"] == 1.0
    assert predictor.label_of(0.5) == "phishing"
    assert predictor.label_of(0.49) == "legitimate"


def test_truncated_weights_with_a_matching_hash_are_refused_clearly(copy_of) -> None:  # type: ignore[no-untyped-def]
    directory = copy_of("linear")
    path = directory / "linear.npz"
    path.write_bytes(path.read_bytes()[:100])
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"]["linear.npz"] = sha256_of(path)
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="not a readable"):
        read_artifact(directory)


def _stump(threshold: float) -> dict[str, np.ndarray]:
    """One split on feature 0 (left leaf -1, right leaf +1) and a single-leaf tree (0.25)."""
    return {
        "feature": np.array([0, -1, -1, -1], dtype=np.int32),
        "threshold": np.array([threshold, 0.0, 0.0, 0.0]),
        "left": np.array([1, -1, -1, -1], dtype=np.int32),
        "right": np.array([2, -1, -1, -1], dtype=np.int32),
        "value": np.array([0.0, -1.0, 1.0, 0.25]),
        "roots": np.array([0, 3], dtype=np.int32),
    }


def test_thresholds_compare_exactly_on_float32_inputs() -> None:
    # A float64 threshold just below a float32 value rounds *up* to it in float32; the
    # scorer must still send that value right, as LightGBM does.
    boundary = np.float32(0.1)
    threshold = float(np.nextafter(np.float64(boundary), -np.inf))
    assert np.float32(threshold) == boundary
    trees = TreeScorer.from_node_arrays(_stump(threshold), n_features=1)
    X = np.array([[boundary], [np.nextafter(boundary, np.float32(0))]], dtype=np.float32)
    np.testing.assert_array_equal(trees.logits(X), [1.25, -0.75])
    np.testing.assert_array_equal(trees.contributions(X), [[1.0], [-1.0]])


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda a: a.update(left=np.array([0, -1, -1, -1], dtype=np.int32)),  # a loop
        lambda a: a.update(right=np.array([3, -1, -1, -1], dtype=np.int32)),  # another tree
        lambda a: a.update(value=np.zeros(3)),
        lambda a: a.update(roots=np.array([1, 3], dtype=np.int32)),
        lambda a: a.update(roots=np.array([], dtype=np.int32)),
        lambda a: a.update(roots=np.array([0, 0], dtype=np.int32)),
        lambda a: a.update(roots=np.array(0, dtype=np.int32)),  # not a list
    ],
)
def test_malformed_tree_arrays_are_refused(corrupt) -> None:  # type: ignore[no-untyped-def]
    arrays = TreeScorer.from_node_arrays(_stump(0.5), n_features=1).to_arrays()
    corrupt(arrays)
    with pytest.raises(ArtifactError, match=r"^the tree arrays do not describe a tree ensemble$"):
        TreeScorer(arrays, n_features=1)


def test_an_onnx_model_that_does_not_fit_the_arrays_is_refused() -> None:
    arrays = TreeScorer.from_node_arrays(_stump(0.5), n_features=1).to_arrays()
    with pytest.raises(ArtifactError, match="cannot be loaded"):
        TreeScorer({**arrays, "onnx": np.frombuffer(b"not onnx", dtype=np.uint8)}, n_features=1)
    wider = TreeScorer.from_node_arrays(_stump(0.5), n_features=2).to_arrays()
    message = "the trees' ONNX model maps [2] features to [2] trees; the node arrays have 1 and 2"
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$"):
        TreeScorer({**arrays, "onnx": wider["onnx"]}, n_features=1)


def test_the_onnx_model_needs_no_newer_runtime_than_lib_ml_declares() -> None:
    """The trees' model states the IR version and opsets onnxruntime 1.18 reads (lib-ml's
    lowest), whatever onnx version built it."""
    import onnx  # pylint: disable=import-outside-toplevel  # training-side dependency

    arrays = TreeScorer.from_node_arrays(_stump(0.5), n_features=1).to_arrays()
    model = onnx.load_model_from_string(arrays["onnx"].tobytes())
    assert model.ir_version == 8
    assert {(o.domain, o.version) for o in model.opset_import} == {("", 17), ("ai.onnx.ml", 3)}


def test_linear_explanation_sums_a_repeated_ngram_once(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "linear")
    assert predictor.linear is not None
    url = normalize_url("http://abab.example/abab")
    explanation = predictor.linear.explain(url, top_k=10_000)
    names = [c.feature for c in explanation]
    assert len(names) == len(set(names))  # "ab" occurs four times, listed once
    for name in names:
        space, _, gram = name.partition(":")
        assert gram in {"url": url.text, "host": url.host}[space]
    assert predictor.linear.explain(url, top_k=2) == explanation[:2]


def test_members_with_the_same_weight_files_are_loaded_once(artifacts: Path, copy_of) -> None:  # type: ignore[no-untyped-def]
    linear, ensemble = (Predictor.load(artifacts / f) for f in ("linear", "ensemble"))
    assert ensemble.linear is linear.linear  # the url view is the linear family's linear.npz
    assert Predictor.load(artifacts / "gbm").trees is Predictor.load(artifacts / "gbm").trees
    retrained = copy_of("linear")
    arrays = dict(read_artifact(retrained).weights["linear.npz"])
    arrays["intercept"] = arrays["intercept"] + 1.0
    write_artifact(retrained, read_artifact(retrained).manifest, {"linear.npz": arrays})
    other = Predictor.load(retrained)
    assert other.linear is not linear.linear
    assert other.linear is not None
    assert linear.linear is not None
    assert other.linear.intercept == linear.linear.intercept + 1.0


def test_ensemble_stacks_view_logits_into_the_trees(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    assert [v.config.view for v in predictor.views] == ["url", "host", "path", "words"]
    urls = [normalize_url(u) for u in PHISHING + LEGITIMATE]
    inputs = predictor.tree_inputs(urls)
    assert inputs.shape == (len(urls), len(LEXICAL_FEATURES) + 2 + 4)
    assert predictor.tld_prior is not None
    np.testing.assert_array_equal(
        inputs[:, len(LEXICAL_FEATURES) : len(LEXICAL_FEATURES) + 2],
        predictor.tld_prior.features(urls),
    )
    np.testing.assert_allclose(inputs[:, -3], predictor.views[1].logits(urls), rtol=1e-6)
    assert predictor.trees is not None
    assert predictor.stacker is not None
    expected = predictor.stacker.logits([predictor.trees.logits(inputs)])
    np.testing.assert_allclose(predictor.logits_normalized(urls), expected)


def test_ensemble_explanations_pass_view_shares_to_their_ngrams(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    assert predictor.trees is not None
    url = normalize_url(PHISHING[0])
    path_share = predictor.trees.contributions(predictor.tree_inputs([url]))[0, -2]
    explanation = predictor.predict_one(PHISHING[0], explain_top_k=500).explanation
    names = [c.feature for c in explanation]
    assert len(names) == len(set(names))
    assert "lexical" in {c.kind for c in explanation}
    of_path_view = [c for c in explanation if c.feature.startswith("path:")]
    assert bool(of_path_view) == (path_share != 0.0)
    assert all(type(c.weight) is float for c in explanation)
    weights = [abs(c.weight) for c in explanation]
    assert weights == sorted(weights, reverse=True)


def test_views_other_than_url_take_no_host_ngrams() -> None:
    with pytest.raises(ValueError, match="url view only"):
        NgramConfig(view="path", host_ngrams=True)
    with pytest.raises(ValueError, match="unknown view"):
        NgramConfig(view="query")


def test_views_read_together_score_and_explain_as_each_alone(artifacts: Path) -> None:
    views = list(Predictor.load(artifacts / "ensemble").views)
    # A byte view of other n-gram orders is hashed apart from the rest (own call).
    url = views[0]
    views.append(LinearScorer(NgramConfig(2, 3, url.config.hash_bits), url.coef, 0.5, url.idf))
    urls = [normalize_url(u) for u in PHISHING[:3] + LEGITIMATE[:3]]
    for view, together in zip(views, read_views(views, urls), strict=True):
        alone = view.read(urls)
        assert view.logits_of(together).tolist() == view.logits_of(alone).tolist()
        assert view.ranked(together, top_k=5) == view.ranked(alone, top_k=5)


def test_tld_prior_smooths_rates_and_knows_unseen_domains() -> None:
    hosts = ["a.tk", "b.tk", "c.tk", "d.com", "e.com", "10.0.0.1"]
    y = np.array([1, 1, 0, 0, 0, 1])
    prior = TldPrior.fit(hosts, y, smoothing=2.0)
    urls = [normalize_url(u) for u in ("x.tk/", "y.COM/", "z.museum/", "10.9.9.1/")]
    features = prior.features(urls)
    np.testing.assert_allclose(
        features[0], [(2 + 2 * 0.5) / (3 + 2), np.log1p(3 / 6 * 1e4)], rtol=1e-6
    )
    np.testing.assert_allclose(features[1, 0], (0 + 2 * 0.5) / (2 + 2), rtol=1e-6)
    np.testing.assert_allclose(features[2], [0.5, 0.0])  # never seen: the overall rate
    np.testing.assert_allclose(features[3, 0], (1 + 2 * 0.5) / (1 + 2), rtol=1e-6)  # "1"
    again = TldPrior(prior.to_arrays())
    np.testing.assert_array_equal(again.features(urls), features)
    with pytest.raises(ArtifactError, match="lacks"):
        TldPrior({"labels": prior.labels})


@pytest.mark.parametrize("view", range(4), ids=["url", "host", "path", "words"])
def test_each_view_scores_like_its_training_matrix(artifacts: Path, view: int) -> None:
    scorer = Predictor.load(artifacts / "ensemble").views[view]
    urls = [normalize_url(u) for u in PHISHING + LEGITIMATE]
    expected = tfidf_rows(ngram_counts(urls, scorer.config), scorer.idf) @ scorer.coef
    np.testing.assert_allclose(scorer.logits(urls), expected + scorer.intercept, rtol=1e-5)


def test_the_words_view_explains_words(artifacts: Path) -> None:
    predictor = Predictor.load(artifacts / "ensemble")
    words = predictor.views[-1]
    urls = [normalize_url(u) for u in PHISHING + LEGITIMATE]
    explanation = words.explain(urls[0], top_k=10_000)
    assert all(c.feature.startswith("words:") for c in explanation)
    assert sum(c.weight for c in explanation) == pytest.approx(
        words.logits(urls[:1])[0] - words.intercept, rel=1e-5
    )


@pytest.mark.parametrize("family", ["linear", "gbm", "ensemble"])
def test_a_batch_explains_each_url_as_it_would_alone(artifacts: Path, family: str) -> None:
    predictor = Predictor.load(artifacts / family)
    urls = [normalize_url(u) for u in PHISHING + LEGITIMATE]
    batch = predictor.explain_batch(urls, top_k=7)
    assert batch == [predictor.explain_batch([url], top_k=7)[0] for url in urls]
    assert all(0 < len(explanation) <= 7 for explanation in batch)
    assert predictor.explain_batch([], top_k=7) == []


def test_views_explain_urls_of_no_known_ngram_by_nothing(artifacts: Path) -> None:
    ensemble = Predictor.load(artifacts / "ensemble")
    urls = [normalize_url(u) for u in PHISHING[:2]]
    for view in ensemble.views:
        unknown = LinearScorer(view.config, view.coef, view.intercept, np.zeros_like(view.idf))
        assert unknown.explain_batch(urls, top_k=5) == [[], []]
        assert view.explain_batch(urls, top_k=5) != [[], []]


@given(st.lists(st.integers(-3, 3), max_size=40), st.integers(1, 8))
def test_top_indices_rank_like_a_stable_sort(values: list[int], top_k: int) -> None:
    keys = np.array(values, dtype=np.float64)  # few distinct values: many ties
    expected = np.argsort(keys, kind="stable")[:top_k]
    np.testing.assert_array_equal(top_indices(keys, top_k), expected)
