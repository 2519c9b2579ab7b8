"""Load an artifact once and predict one URL or a batch."""

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from lib_ml.artifact import Artifact, ArtifactError, read_artifact
from lib_ml.features import LEXICAL_FEATURES, NgramConfig, lexical_matrix
from lib_ml.labels import LABEL_MAP, decode_label
from lib_ml.mutants import mutant_set
from lib_ml.scorers import (
    Contribution,
    LinearScorer,
    Stacker,
    TldPrior,
    TreeScorer,
    ViewBatch,
    read_views,
    sigmoid,
    top_items,
)
from lib_ml.urls import InvalidUrlError, NormalizedUrl, normalize_url

FAMILIES = ("linear", "gbm", "ensemble")
LINEAR_FILE = "linear.npz"
TREES_FILE = "trees.npz"
TLD_FILE = "tld.npz"


class BatchInputError(InvalidUrlError):
    """An item of a batch is not a URL; names the item so the batch length never changes."""

    def __init__(self, index: int, reason: str):
        super().__init__(f"item {index}: {reason}")
        self.index = index
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Prediction:
    url: str
    probability: float  # P(phishing)
    label: str
    explanation: list[Contribution] = field(default_factory=list)


def normalize_batch(urls: Sequence[str]) -> list[NormalizedUrl]:
    """Normalize every URL or raise BatchInputError naming the first bad item."""
    normalized = []
    for index, url in enumerate(urls):
        try:
            normalized.append(normalize_url(url))
        except InvalidUrlError as exc:
            raise BatchInputError(index, str(exc)) from exc
    return normalized


# Scorers are immutable, and artifacts can hold the very same weight file (same sha256): the
# ensemble's url view is the linear model's linear.npz. Loaded once, it is shared, which
# saves a service about 8 MB.
_SCORERS: "weakref.WeakValueDictionary[tuple[Any, ...], Any]" = weakref.WeakValueDictionary()
Scorer = TypeVar("Scorer", LinearScorer, TreeScorer)


def _shared(key: tuple[Any, ...], load: Callable[[], Scorer]) -> Scorer:
    """The scorer of a verified weight file (key: file name, sha256, featurizer), loaded once."""
    scorer: Scorer | None = _SCORERS.get(key)
    if scorer is None:
        scorer = _SCORERS[key] = load()
    return scorer


_NEGLIGIBLE = 1e-9


class Predictor:
    """A verified, loaded artifact of any family:

    - linear: a `LinearScorer` over the url view (`featurizer.ngram`, `linear.npz`);
    - gbm: a `TreeScorer` over the lexical features (`featurizer.lexical`, `trees.npz`);
    - ensemble: linear scorers over several views (`featurizer.views`: each names its weight
      file and n-gram config), whose logits join the lexical features (and, with
      `featurizer.tld_prior`, the `TldPrior` of `tld.npz`) as inputs of a `TreeScorer`
      (`trees.npz`), calibrated by a one-input `Stacker`. Training fits the trees
      on out-of-fold logits of the views, so they learn how far to trust each view.
    """

    def __init__(self, artifact: Artifact):
        manifest = artifact.manifest
        self.manifest = manifest
        self.manifest_sha256 = artifact.manifest_sha256
        self.family: str = manifest["family"]
        if self.family not in FAMILIES:
            raise ArtifactError(f"unknown model family {self.family!r}; expected {FAMILIES}")
        if manifest["label_map"] != LABEL_MAP:
            raise ArtifactError(f"label map {manifest['label_map']} differs from {LABEL_MAP}")
        featurizer = manifest["featurizer"]
        self.views: tuple[LinearScorer, ...] = ()
        if self.family == "linear":
            self.views = (self._linear(artifact, LINEAR_FILE, featurizer["ngram"]),)
        if self.family == "ensemble":
            self.views = tuple(
                self._linear(artifact, view["file"], view["ngram"]) for view in featurizer["views"]
            )
            if not self.views:
                raise ArtifactError("an ensemble needs at least one view")
        self.tld_prior: TldPrior | None = None
        if self.family == "ensemble" and featurizer.get("tld_prior", False):
            self.tld_prior = TldPrior(self._weights(artifact, TLD_FILE))
        self.trees: TreeScorer | None = None
        if self.family in ("gbm", "ensemble"):
            if list(featurizer["lexical"]) != list(LEXICAL_FEATURES):
                raise ArtifactError("the artifact's lexical features differ from this lib-ml's")
            n_inputs = len(self.tree_input_names) + len(self.views)
            self.trees = _shared(
                (TREES_FILE, manifest["files"].get(TREES_FILE), n_inputs),
                lambda: TreeScorer(self._weights(artifact, TREES_FILE), n_inputs),
            )
        self.stacker = Stacker.from_dict(manifest["stacker"]) if self.family == "ensemble" else None
        if self.stacker is not None and len(self.stacker.coef) != 1:
            raise ArtifactError("the ensemble's stacker calibrates one input, the trees' logit")
        self.threshold = float(manifest["threshold"])

    def _linear(self, artifact: Artifact, file_name: str, ngram: dict[str, Any]) -> LinearScorer:
        config = NgramConfig(**ngram)
        return _shared(
            (file_name, self.manifest["files"].get(file_name), config),
            lambda: LinearScorer.from_arrays(config, self._weights(artifact, file_name)),
        )

    @staticmethod
    def _weights(artifact: Artifact, file_name: str) -> dict[str, npt.NDArray[Any]]:
        try:
            return artifact.weights[file_name]
        except KeyError:
            raise ArtifactError(f"the artifact has no {file_name}") from None

    @classmethod
    def load(cls, directory: Path | str) -> "Predictor":
        """Read, verify and load an artifact; any defect is an ArtifactError naming it."""
        artifact = read_artifact(Path(directory))
        try:
            return cls(artifact)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(
                f"{directory}: model.json holds a missing or mistyped value ({exc!r})"
            ) from exc

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.manifest["metrics"])

    @property
    def linear(self) -> LinearScorer | None:
        """The url-view linear model: the linear family's, or the ensemble's first view."""
        return self.views[0] if self.views else None

    @property
    def tree_input_names(self) -> tuple[str, ...]:
        """The named inputs of the trees; an ensemble's views' logits follow them."""
        return LEXICAL_FEATURES + (TldPrior.FEATURES if self.tld_prior is not None else ())

    def tree_inputs(self, urls: Sequence[NormalizedUrl]) -> npt.NDArray[np.float32]:
        """What the trees read: the lexical features, then (ensemble) the TLD prior's
        features and each view's logit."""
        return self._tree_inputs(urls, self._read_views(urls))

    def _read_views(self, urls: Sequence[NormalizedUrl]) -> list[ViewBatch]:
        """The ensemble's views' reads of the URLs; other families feed no view to trees."""
        return read_views(self.views, urls) if self.family == "ensemble" else []

    def _tree_inputs(
        self, urls: Sequence[NormalizedUrl], reads: list[ViewBatch]
    ) -> npt.NDArray[np.float32]:
        lexical = lexical_matrix(urls)
        if self.family != "ensemble":
            return lexical
        prior = [self.tld_prior.features(urls)] if self.tld_prior is not None else []
        logits = [view.logits_of(read) for view, read in zip(self.views, reads, strict=True)]
        return np.column_stack([lexical, *prior, *logits]).astype(np.float32)

    def logits_normalized(self, urls: Sequence[NormalizedUrl]) -> npt.NDArray[np.float64]:
        if not urls:
            return np.zeros(0, dtype=np.float64)
        if self.trees is None:
            return self.views[0].logits(urls)
        return self._tree_logits(self.tree_inputs(urls))

    def _tree_logits(self, inputs: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        assert self.trees is not None  # noqa: S101 - callers check
        return self._stacked(self.trees.logits(inputs))

    def _stacked(self, tree_logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return self.stacker.logits([tree_logits]) if self.stacker is not None else tree_logits

    def predict_proba(
        self, urls: Sequence[str], *, repair: bool = False
    ) -> npt.NDArray[np.float64]:
        """P(phishing) per URL, same length and order as `urls`; raises BatchInputError.
        With `repair`, each URL's is the mean over its mutant set (`lib_ml.mutants`)."""
        return self._probabilities(urls, normalize_batch(urls), repair)

    def _probabilities(
        self, urls: Sequence[str], normalized: list[NormalizedUrl], repair: bool
    ) -> npt.NDArray[np.float64]:
        if not repair:
            return sigmoid(self.logits_normalized(normalized))
        # One batch over all mutants of all URLs, then the mean per URL.
        groups = [mutant_set(url) for url in urls]
        sizes = np.array([len(group) for group in groups], dtype=np.int64)
        probabilities = sigmoid(self.logits_normalized([m for group in groups for m in group]))
        owner = np.repeat(np.arange(len(groups)), sizes)
        return np.bincount(owner, weights=probabilities) / sizes

    def label_of(self, probability: float) -> str:
        return decode_label(int(probability >= self.threshold))

    def explain_batch(self, urls: Sequence[NormalizedUrl], top_k: int) -> list[list[Contribution]]:
        """Per URL, the top features by absolute share of the logit. Trees share their logit
        among their inputs by path contributions (Saabas); an ensemble view's share is passed
        on to its n-grams in proportion to their shares of that view's logit. Each scorer is
        called once for the batch."""
        if not urls:
            return []
        if self.trees is None:
            return self.views[0].explain_batch(urls, top_k)
        reads = self._read_views(urls)
        inputs = self._tree_inputs(urls, reads)
        return self._explain(top_k, inputs, reads, self.trees.contributions(inputs))

    def _explain(
        self,
        top_k: int,
        inputs: npt.NDArray[np.float32],
        reads: list[ViewBatch],
        shares: npt.NDArray[np.float64],
    ) -> list[list[Contribution]]:
        """`explain_batch`, from the URLs' tree inputs, the views' reads of them and the trees'
        path contributions (`shares`)."""
        names = self.tree_input_names
        scale = self.stacker.coef[0] if self.stacker is not None else 1.0
        # Named inputs never merge with n-grams, so only their top_k can make the final
        # top_k: the rest are not turned into objects (kept in input order).
        named = shares[:, : len(names)] * scale
        top_named = np.sort(np.argsort(-np.abs(named), axis=1, kind="stable")[:, :top_k], axis=1)
        view_ranked = [
            view.ranked(read, top_k) for view, read in zip(self.views, reads, strict=True)
        ]
        # Each view's n-gram shares, scaled to its share of the trees' logit (see above).
        ngram_sums = inputs[:, len(names) :].astype(np.float64) - [v.intercept for v in self.views]
        view_shares = shares[:, len(names) :]
        explanations = []
        for i, (top, named_row) in enumerate(zip(top_named.tolist(), named.tolist(), strict=True)):
            totals: dict[tuple[str, str], float] = {
                (names[j], "lexical"): named_row[j] for j in top if named_row[j] != 0.0
            }
            for v, ranked in enumerate(view_ranked):
                share, ngram_sum = view_shares[i, v], ngram_sums[i, v]
                if share == 0.0 or abs(ngram_sum) <= _NEGLIGIBLE:
                    continue
                factor = share / ngram_sum
                for gram, weight in ranked[i]:
                    key = (gram, "ngram")
                    totals[key] = totals.get(key, 0.0) + float(scale * float(factor * weight))
            explanations.append([
                Contribution(feature, kind, weight)
                for (feature, kind), weight in top_items(totals, top_k)
            ])  # fmt: skip
        return explanations

    def predict(
        self, urls: Sequence[str], explain_top_k: int = 0, *, repair: bool = False
    ) -> list[Prediction]:
        normalized = normalize_batch(urls)
        explanations: list[list[Contribution]] = [[] for _ in urls]
        # Explained tree models read the URLs and walk the trees once, for scores and
        # explanations.
        if explain_top_k and normalized and self.trees and not repair:
            reads = self._read_views(normalized)
            inputs = self._tree_inputs(normalized, reads)
            tree_logits, shares = self.trees.logits_and_contributions(inputs)
            probabilities = sigmoid(self._stacked(tree_logits))
            explanations = self._explain(explain_top_k, inputs, reads, shares)
        else:
            probabilities = self._probabilities(urls, normalized, repair)
            if explain_top_k:
                explanations = self.explain_batch(normalized, explain_top_k)
        return [
            Prediction(
                url=raw, probability=float(p), label=self.label_of(float(p)), explanation=explained
            )
            for raw, p, explained in zip(urls, probabilities, explanations, strict=True)
        ]

    def predict_one(self, url: str, explain_top_k: int = 5) -> Prediction:
        return self.predict([url], explain_top_k)[0]
