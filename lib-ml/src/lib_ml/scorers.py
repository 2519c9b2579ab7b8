"""The model families as plain numpy arrays: a linear model over hashed n-grams, a tree
ensemble (converted from LightGBM's JSON dump) over lexical features, and their stacker.
Each returns logits (log-odds of phishing) for a batch.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lib_ml.artifact import Arrays, ArtifactError
from lib_ml.features import (
    HOST_SALT,
    LEXICAL_FEATURES,
    FloatArray,
    NgramConfig,
    ngram_counts,
    ngram_hash,
    tfidf_rows,
)
from lib_ml.urls import NormalizedUrl


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's additive share of the logit, for explanations."""

    feature: str
    kind: str  # "ngram" or "lexical"
    weight: float


def top_contributions(contributions: Sequence[Contribution], top_k: int) -> list[Contribution]:
    return sorted(contributions, key=lambda c: abs(c.weight), reverse=True)[:top_k]


class LinearScorer:
    """Logistic regression over idf-weighted, L2-normalized hashed byte n-grams."""

    def __init__(self, config: NgramConfig, coef: FloatArray, intercept: float, idf: FloatArray):
        if coef.shape != (config.n_features,) or idf.shape != (config.n_features,):
            raise ArtifactError(
                f"linear weights have shape {coef.shape}/{idf.shape}, "
                f"expected ({config.n_features},) for hash_bits={config.hash_bits}"
            )
        self.config = config
        self.coef = coef.astype(np.float32)
        self.intercept = float(intercept)
        self.idf = idf.astype(np.float32)

    @classmethod
    def from_arrays(cls, config: NgramConfig, arrays: Arrays) -> "LinearScorer":
        try:
            return cls(config, arrays["coef"], float(arrays["intercept"][0]), arrays["idf"])
        except KeyError as exc:
            raise ArtifactError(f"linear weights lack the array {exc}") from exc

    def to_arrays(self) -> Arrays:
        return {
            "coef": self.coef,
            "intercept": np.array([self.intercept]),
            "idf": self.idf,
        }

    def logits(self, urls: Sequence[NormalizedUrl]) -> npt.NDArray[np.float64]:
        features = tfidf_rows(ngram_counts(urls, self.config), self.idf)
        return np.asarray(features @ self.coef, dtype=np.float64) + self.intercept

    def _grams(self, text: str, salt: int, counts: dict[tuple[bytes, int], int]) -> None:
        raw = text.encode("utf-8")
        for n in range(self.config.ngram_min, self.config.ngram_max + 1):
            for start in range(len(raw) - n + 1):
                counts[raw[start : start + n], salt] += 1

    def explain(self, url: NormalizedUrl) -> list[Contribution]:
        """Each distinct n-gram's share of the logit (bucket collisions are shared alike).
        Host n-grams of the extra host space are named `host:<gram>`."""
        counts: dict[tuple[bytes, int], int] = defaultdict(int)
        self._grams(url.text, 0, counts)
        if self.config.host_ngrams:
            self._grams(url.host, HOST_SALT, counts)
        buckets = {key: ngram_hash(key[0], self.config, key[1]) for key in counts}
        # The norm is taken over entries, as in `tfidf_rows`: sum of count * idf^2.
        norm = float(np.sqrt(sum(c * float(self.idf[buckets[k]]) ** 2 for k, c in counts.items())))
        if norm == 0.0:
            return []
        return [
            Contribution(
                feature=("host:" if salt else "") + gram.decode("utf-8", "replace"),
                kind="ngram",
                weight=count
                * float(self.idf[buckets[gram, salt]] * self.coef[buckets[gram, salt]])
                / norm,
            )
            for (gram, salt), count in counts.items()
        ]


class TreeScorer:
    """A boosted tree ensemble flattened into node arrays and evaluated level by level."""

    ARRAYS = ("feature", "threshold", "left", "right", "value", "roots")

    def __init__(self, arrays: Arrays, n_features: int):
        missing = [key for key in self.ARRAYS if key not in arrays]
        if missing:
            raise ArtifactError(f"tree weights lack the arrays {missing}")
        self.feature = arrays["feature"].astype(np.int32)
        self.threshold = arrays["threshold"].astype(np.float64)
        self.left = arrays["left"].astype(np.int32)
        self.right = arrays["right"].astype(np.int32)
        self.value = arrays["value"].astype(np.float64)
        self.roots = arrays["roots"].astype(np.int32)
        self.n_features = n_features
        if self.feature.size and int(self.feature.max()) >= n_features:
            raise ArtifactError("a tree splits on a feature the featurizer does not produce")
        self.depth = self._max_depth()
        leaf = self.feature < 0
        itself = np.arange(self.feature.size, dtype=np.int32)
        self._walk_feature = np.where(leaf, 0, self.feature)
        self._walk_threshold = np.where(leaf, np.inf, self.threshold)
        self._walk_left = np.where(leaf, itself, self.left)
        self._walk_right = np.where(leaf, itself, self.right)

    def _max_depth(self) -> int:
        depth = 0
        frontier = self.roots
        while True:
            internal = frontier[self.feature[frontier] >= 0]
            if internal.size == 0:
                return depth
            frontier = np.concatenate([self.left[internal], self.right[internal]])
            depth += 1

    def to_arrays(self) -> Arrays:
        return {key: getattr(self, key) for key in self.ARRAYS}

    @classmethod
    def from_lightgbm_dump(cls, dump: dict[str, Any]) -> "TreeScorer":
        """Flatten LightGBM's `Booster.dump_model()` (numerical `<=` splits only)."""
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        value: list[float] = []

        def add(node: dict[str, Any]) -> int:
            index = len(feature)
            feature.append(-1)
            threshold.append(0.0)
            left.append(-1)
            right.append(-1)
            if "leaf_value" in node:
                value.append(float(node["leaf_value"]))
                return index
            if node.get("decision_type") != "<=":
                raise ArtifactError(f"unsupported split {node.get('decision_type')!r}")
            value.append(float(node.get("internal_value", 0.0)))
            feature[index] = int(node["split_feature"])
            threshold[index] = float(node["threshold"])
            left[index] = add(node["left_child"])
            right[index] = add(node["right_child"])
            return index

        roots = [add(tree["tree_structure"]) for tree in dump["tree_info"]]
        arrays: Arrays = {
            "feature": np.asarray(feature, dtype=np.int32),
            "threshold": np.asarray(threshold, dtype=np.float64),
            "left": np.asarray(left, dtype=np.int32),
            "right": np.asarray(right, dtype=np.int32),
            "value": np.asarray(value, dtype=np.float64),
            "roots": np.asarray(roots, dtype=np.int32),
        }
        return cls(arrays, n_features=int(dump["max_feature_idx"]) + 1)

    def _walk(
        self, X: FloatArray, contributions: npt.NDArray[np.float64] | None
    ) -> npt.NDArray[np.int32]:
        """Leaf index per (row, tree). Leaves loop to themselves (feature 0, threshold +inf,
        both children = self), so every level is the same few gathers with no masks, and
        the walk stops as soon as no node moves."""
        X = np.asarray(X, dtype=np.float64)
        n_columns = X.shape[1]
        flat = X.ravel()
        rows = np.arange(X.shape[0])[:, np.newaxis]
        nodes = np.broadcast_to(self.roots, (X.shape[0], self.roots.size)).copy()
        for _ in range(self.depth):
            features = self._walk_feature[nodes]
            go_left = flat[rows * n_columns + features] <= self._walk_threshold[nodes]
            following = np.where(go_left, self._walk_left[nodes], self._walk_right[nodes])
            if contributions is not None:
                # A leaf's self-loop adds 0: value[following] - value[nodes] vanishes.
                np.add.at(
                    contributions,
                    (np.broadcast_to(rows, features.shape), features),
                    self.value[following] - self.value[nodes],
                )
            if np.array_equal(following, nodes):
                break
            nodes = following
        return nodes

    def logits(self, X: FloatArray) -> npt.NDArray[np.float64]:
        return np.asarray(self.value[self._walk(X, None)].sum(axis=1), dtype=np.float64)

    def contributions(self, X: FloatArray) -> npt.NDArray[np.float64]:
        """Per-feature path contributions (Saabas); rows sum to logit minus the bias below."""
        out = np.zeros((X.shape[0], self.n_features), dtype=np.float64)
        self._walk(X, out)
        return out

    def explain(self, x: FloatArray) -> list[Contribution]:
        shares = self.contributions(x[np.newaxis, :])[0]
        return [
            Contribution(feature=name, kind="lexical", weight=float(share))
            for name, share in zip(LEXICAL_FEATURES, shares, strict=True)
            if share != 0.0
        ]


@dataclass(frozen=True, slots=True)
class Stacker:
    """Logistic calibration over member logits: sigmoid(coef . logits + intercept)."""

    coef: tuple[float, ...]
    intercept: float

    def logits(self, member_logits: Sequence[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
        combined = np.full_like(member_logits[0], self.intercept)
        for weight, logits in zip(self.coef, member_logits, strict=True):
            combined += weight * logits
        return combined

    def to_dict(self) -> dict[str, Any]:
        return {"coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Stacker":
        return cls(tuple(float(c) for c in raw["coef"]), float(raw["intercept"]))


def sigmoid(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * logits)), dtype=np.float64)
