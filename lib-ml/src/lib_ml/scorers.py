"""The model families, stored as plain arrays: a linear model over hashed n-grams, a tree
ensemble (converted from LightGBM's JSON dump) over lexical features, and their stacker.
Each returns logits (log-odds of phishing) for a batch.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

# onnxruntime's Linux wheels send usage telemetry to Microsoft and keep a device id under
# ~/.cache (a warning on stderr where that is read-only) unless this is set when it is first
# imported; a URL classifier should do neither. Set it to an empty value to allow them.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime  # pylint: disable=wrong-import-position

from lib_ml.artifact import Arrays, ArtifactError
from lib_ml.extras import build_extra_missing
from lib_ml.features import (
    HOST_SALT,
    WORD_SEPARATOR,
    FloatArray,
    HashedNgrams,
    NgramConfig,
    hash_entries,
    hash_words,
    view_text,
)
from lib_ml.urls import NormalizedUrl

Key = TypeVar("Key")


@dataclass(frozen=True, slots=True)
class NgramBatch:
    """A batch of URLs as a byte view reads them: the hashed n-grams of `spaces` texts per URL
    (its view text, then, with `host_ngrams`, its host in the salted space)."""

    size: int
    hashed: HashedNgrams
    spaces: int


@dataclass(frozen=True, slots=True)
class WordBatch:
    """A batch of URLs as the words view reads them: the texts, the bucket of each word and
    where each text's words start."""

    texts: list[str]
    buckets: npt.NDArray[np.int32]
    starts: npt.NDArray[np.int64]


# What `LinearScorer.read` returns, hashed once for both scoring and explaining.
ViewBatch = NgramBatch | WordBatch


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's additive share of the logit, for explanations."""

    feature: str
    kind: str  # "ngram" or "lexical"
    weight: float


def _require(arrays: Arrays, names: Sequence[str], owner_lacks: str) -> None:
    missing = [name for name in names if name not in arrays]
    if missing:
        raise ArtifactError(f"{owner_lacks} the arrays {missing}")


def top_indices(keys: npt.NDArray[np.float64], top_k: int) -> npt.NDArray[np.intp]:
    """The indices of the top_k smallest keys, in the order of a stable sort (ties keep
    index order), without sorting them all: a partition finds the k-th key, and only the
    keys up to it, ties included, are sorted."""
    if keys.size > top_k:
        kth = np.partition(keys, top_k - 1)[top_k - 1]
        candidates = np.flatnonzero(keys <= kth)
    else:
        candidates = np.arange(keys.size)
    return candidates[np.argsort(keys[candidates], kind="stable")[:top_k]]


def top_items(totals: dict[Key, float], top_k: int) -> list[tuple[Key, float]]:
    """The top_k entries by absolute value; ties keep insertion order."""
    return sorted(totals.items(), key=lambda item: abs(item[1]), reverse=True)[:top_k]


def read_views(views: Sequence["LinearScorer"], urls: Sequence[NormalizedUrl]) -> list[ViewBatch]:
    """Each view's `LinearScorer.read` of the URLs. Byte views of the same n-gram orders are
    hashed by one `hash_entries` call, whose cost is mostly per call, not per byte, and each
    takes the slice of its own texts (n-grams never cross texts)."""
    reads: dict[int, ViewBatch] = {}
    same_orders: dict[tuple[int, int], list[int]] = {}
    for index, view in enumerate(views):
        config = view.config
        if config.view == "words":
            texts = [view_text(u, config.view) for u in urls]
            reads[index] = WordBatch(texts, *hash_words(texts, config))
        else:
            same_orders.setdefault((config.ngram_min, config.ngram_max), []).append(index)
    for members in same_orders.values():
        spaces_of = [views[index].hash_spaces(urls) for index in members]
        every_space = [space for spaces in spaces_of for space in spaces]
        hashed = hash_entries(
            [text for texts, _ in every_space for text in texts],
            views[members[0]].config,
            [salt for texts, salt in every_space for _ in texts],
        )
        first = 0
        for index, spaces in zip(members, spaces_of, strict=True):
            stop = first + len(spaces) * len(urls)
            reads[index] = NgramBatch(len(urls), hashed.texts(first, stop), len(spaces))
            first = stop
    return [reads[index] for index in range(len(views))]


class LinearScorer:
    """Logistic regression over idf-weighted, L2-normalized hashed byte n-grams.

    Scoring works on the n-gram entries directly (`hash_entries`), with no sparse matrix:
    for a few URLs, building one costs more than the arithmetic. The sums match
    `tfidf_rows(ngram_counts(...)) @ coef` of `lib_ml.matrices`, which training fits on.
    """

    def __init__(self, config: NgramConfig, coef: FloatArray, intercept: float, idf: FloatArray):
        if coef.shape != (config.n_features,) or idf.shape != (config.n_features,):
            raise ArtifactError(
                f"linear weights have shape {coef.shape}/{idf.shape}, "
                f"expected ({config.n_features},) for hash_bits={config.hash_bits}"
            )
        self.config = config
        # How explanations name n-grams of views other than the whole URL: "path:/login".
        self._prefix = f"{config.view}:"
        self.coef = coef.astype(np.float32)
        self.intercept = float(intercept)
        self.idf = idf.astype(np.float32)

    @classmethod
    def from_arrays(cls, config: NgramConfig, arrays: Arrays) -> "LinearScorer":
        try:
            coef, intercept, idf = arrays["coef"], arrays["intercept"], arrays["idf"]
        except KeyError as exc:
            raise ArtifactError(f"linear weights lack the array {exc}") from exc
        if intercept.shape != (1,):
            raise ArtifactError(f"the linear intercept has shape {intercept.shape}, expected (1,)")
        return cls(config, coef, float(intercept[0]), idf)

    def to_arrays(self) -> Arrays:
        return {
            "coef": self.coef,
            "intercept": np.array([self.intercept]),
            "idf": self.idf,
        }

    def read(self, urls: Sequence[NormalizedUrl]) -> ViewBatch:
        """What this scorer reads of the URLs, hashed once for both `logits_of` and `ranked`."""
        return read_views([self], urls)[0]

    def hash_spaces(self, urls: Sequence[NormalizedUrl]) -> list[tuple[list[str], int]]:
        """What a byte view hashes, one text per URL in each space, with the space's salt: the
        URLs' view texts, then, with `host_ngrams`, their hosts in their own salted space."""
        spaces = [([view_text(u, self.config.view) for u in urls], 0)]
        if self.config.host_ngrams:
            spaces.append(([u.host for u in urls], HOST_SALT))
        return spaces

    def logits(self, urls: Sequence[NormalizedUrl]) -> npt.NDArray[np.float64]:
        return self.logits_of(self.read(urls))

    def logits_of(self, batch: ViewBatch) -> npt.NDArray[np.float64]:
        if isinstance(batch, WordBatch):
            size = len(batch.texts)
            rows = np.repeat(np.arange(size), np.diff(batch.starts))
            idf = self.idf[batch.buckets].astype(np.float64)
            return self._logits(
                np.bincount(rows, weights=idf * self.coef[batch.buckets], minlength=size),
                np.bincount(rows, weights=idf * idf, minlength=size),
            )
        hashed = batch.hashed
        buckets = hashed.buckets(self.config)
        weighted = hashed.alive * self.idf[buckets]
        # Every text owns at least its separator's position, so no segment is empty.
        row_starts = hashed.starts[:-1] * hashed.keys.shape[1]
        dot = np.add.reduceat((weighted * self.coef[buckets]).ravel(), row_starts, dtype=np.float64)
        squares = np.add.reduceat((weighted * weighted).ravel(), row_starts, dtype=np.float64)
        return self._logits(
            dot.reshape(batch.spaces, batch.size).sum(axis=0),
            squares.reshape(batch.spaces, batch.size).sum(axis=0),
        )

    def _logits(self, dot: npt.NDArray[Any], squares: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Per URL, from the sums over its entries of weight * coef and of weight**2: the
        logit of its L2-normalized row (an empty row scores the intercept)."""
        norms = np.sqrt(squares)
        norms[norms == 0.0] = 1.0
        return np.asarray(dot / norms + self.intercept, dtype=np.float64)

    def explain(self, url: NormalizedUrl, top_k: int) -> list[Contribution]:
        """The top_k distinct n-grams by absolute share of the logit; a repeated n-gram counts
        once with its summed share. Host n-grams of the extra host space are named
        `host:<gram>`, n-grams of other views `<view>:<gram>`. N-grams are told apart by
        their full 32-bit hash and order, not by their bucket. The words view explains words.
        """
        return self.explain_batch([url], top_k)[0]

    def explain_batch(self, urls: Sequence[NormalizedUrl], top_k: int) -> list[list[Contribution]]:
        """`explain` of each URL: the batch's n-grams are grouped with a fixed number of numpy
        calls, then each URL's top k is picked from its own groups."""
        return [
            [Contribution(name, "ngram", share) for name, share in ranked]
            for ranked in self.ranked(self.read(urls), top_k)
        ]

    def ranked(self, batch: ViewBatch, top_k: int) -> list[list[tuple[str, float]]]:
        """Per URL, its top_k (name, share) pairs of `explain`, as plain tuples: callers that
        merge views' explanations build objects only for what they keep."""
        if isinstance(batch, WordBatch):
            return self._ranked_words(batch, top_k)
        hashed = batch.hashed
        n_urls = batch.size
        positions, order_index = np.nonzero(hashed.alive)
        # URL i owns text i and, with host_ngrams, text n_urls + i (see `hash_spaces`).
        text = np.searchsorted(hashed.starts, positions, side="right") - 1
        owner, in_host = text % n_urls, text >= n_urls
        buckets = hashed.buckets(self.config)[positions, order_index]
        weighted = self.idf[buckets].astype(np.float64)
        norms = np.sqrt(np.bincount(owner, weights=weighted * weighted, minlength=n_urls))
        # One group per URL and distinct n-gram: its full hash, order and hash space. A
        # stable sort keeps a group's entries in text order, so `first` is its first one.
        keys = (
            (owner.astype(np.uint64) << np.uint64(41))
            | (in_host.astype(np.uint64) << np.uint64(40))
            | (order_index.astype(np.uint64) << np.uint64(32))
            | hashed.keys[positions, order_index].astype(np.uint64)
        )
        by_key = np.argsort(keys, kind="stable")
        sorted_keys = keys[by_key]
        starts_group = np.empty(sorted_keys.size, dtype=bool)
        starts_group[:1] = True
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts_group[1:])
        first = by_key[starts_group]
        group_owner = owner[first]
        with np.errstate(divide="ignore", invalid="ignore"):  # URLs of norm 0 explain nothing
            totals = (
                np.bincount(
                    np.cumsum(starts_group) - 1,
                    weights=(weighted * self.coef[buckets])[by_key],
                    minlength=first.size,
                )
                / norms[group_owner]
            )
        # Groups are in key order, so each URL's are a contiguous run.
        group_bounds = np.searchsorted(group_owner, np.arange(n_urls + 1)).tolist()
        rank_keys = -np.abs(totals)
        explanations: list[list[tuple[str, float]]] = []
        for url_index, (a, b) in enumerate(pairwise(group_bounds)):
            if norms[url_index] == 0.0:
                explanations.append([])
                continue
            top = a + top_indices(rank_keys[a:b], top_k)
            explanations.append([
                (self._ngram(hashed.joined, position, order, host_space), share)
                for position, order, host_space, share in zip(
                    positions[first[top]].tolist(), order_index[first[top]].tolist(),
                    in_host[first[top]].tolist(), totals[top].tolist(), strict=True,
                )
            ])  # fmt: skip
        return explanations

    def _ngram(self, joined: bytes, position: int, order_index: int, in_host: bool) -> str:
        """The name of the n-gram of the given order that starts at `position`, by its space."""
        gram = joined[position : position + order_index + self.config.ngram_min]
        # An n-gram that cuts a character names its loose bytes (`\xc3`): a replacement
        # character would give distinct n-grams one name, listed twice in an explanation.
        return ("host:" if in_host else self._prefix) + gram.decode("utf-8", "backslashreplace")

    def _ranked_words(self, batch: WordBatch, top_k: int) -> list[list[tuple[str, float]]]:
        texts, buckets, starts = batch.texts, batch.buckets, batch.starts
        weighted = self.idf[buckets].astype(np.float64)
        shares = weighted * self.coef[buckets]
        explanations: list[list[tuple[str, float]]] = []
        for i, text in enumerate(texts):
            own = slice(starts[i], starts[i + 1])
            norm = float(np.sqrt(weighted[own] @ weighted[own]))
            if norm == 0.0:
                explanations.append([])
                continue
            totals: dict[str, float] = {}
            for word, share in zip(
                text.split(WORD_SEPARATOR), (shares[own] / norm).tolist(), strict=True
            ):
                totals[word] = totals.get(word, 0.0) + share
            explanations.append(
                [(self._prefix + word, share) for word, share in top_items(totals, top_k)]
            )
        return explanations


# The IR version written, not the newest the installed onnx knows (its default): otherwise
# each upgrade of onnx at training would raise the onnxruntime that artifacts need above the
# one lib-ml declares (1.18 reads IR 8 with opset 17 and ai.onnx.ml 3; 1.31 does not read 14).
ONNX_IR_VERSION = 8


def tree_ensemble_onnx(arrays: Arrays, n_features: int) -> bytes:
    """The trees as a serialized ONNX model whose output j for a row is the leaf that tree j
    reaches: its index among the leaves in node order, as a float (exact below 2**24).

    ONNX compares float32 inputs with float32 thresholds: each threshold is rounded down to
    the largest float32 not above it, which keeps `x <= threshold` exact for every float32 x.
    Built once at training time; serving only deserializes it, so it never imports `onnx`.
    """
    try:
        import onnx.helper  # pylint: disable=import-outside-toplevel  # training-time only
    except ModuleNotFoundError as missing:
        raise build_extra_missing(missing, "building the trees' ONNX model") from missing

    feature, roots = arrays["feature"], arrays["roots"]
    n_nodes = feature.size
    tree = np.repeat(np.arange(roots.size), np.diff(np.append(roots, n_nodes)))
    local = np.arange(n_nodes) - roots[tree]
    leaf = feature < 0
    exact = np.asarray(arrays["threshold"], dtype=np.float64)
    threshold = exact.astype(np.float32)
    rounded_up = threshold.astype(np.float64) > exact
    threshold[rounded_up] = np.nextafter(threshold[rounded_up], np.float32(-np.inf))
    leaves = np.flatnonzero(leaf)
    node = onnx.helper.make_node(
        "TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml",
        n_targets=roots.size, aggregate_function="SUM", post_transform="NONE",
        nodes_treeids=tree.tolist(), nodes_nodeids=local.tolist(),
        nodes_featureids=np.where(leaf, 0, feature).tolist(),
        nodes_modes=np.where(leaf, "LEAF", "BRANCH_LEQ").tolist(),
        nodes_values=np.where(leaf, 0.0, threshold).tolist(),
        nodes_truenodeids=np.where(leaf, 0, arrays["left"] - roots[tree]).tolist(),
        nodes_falsenodeids=np.where(leaf, 0, arrays["right"] - roots[tree]).tolist(),
        target_treeids=tree[leaves].tolist(), target_nodeids=local[leaves].tolist(),
        target_ids=tree[leaves].tolist(), target_weights=np.arange(leaves.size, dtype=np.float64).tolist(),
    )  # fmt: skip
    tensor = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph(
        [node],
        "trees",
        [tensor("X", onnx.TensorProto.FLOAT, [None, n_features])],
        [tensor("Y", onnx.TensorProto.FLOAT, [None, roots.size])],
    )
    opsets = [onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("ai.onnx.ml", 3)]
    model = onnx.helper.make_model(
        graph, opset_imports=opsets, producer_name="phishline lib-ml", ir_version=ONNX_IR_VERSION
    )
    return bytes(model.SerializeToString())


def _session(model: bytes, n_features: int, n_trees: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    # One scoring call is microseconds of work: threads would cost more than they save,
    # and servers scale by processes.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's errors share no public base class
        raise ArtifactError(f"the trees' ONNX model cannot be loaded: {exc}") from exc
    (inputs,), (outputs,) = session.get_inputs(), session.get_outputs()
    if inputs.shape[1:] != [n_features] or outputs.shape[1:] != [n_trees]:
        raise ArtifactError(
            f"the trees' ONNX model maps {inputs.shape[1:]} features to {outputs.shape[1:]} "
            f"trees; the node arrays have {n_features} and {n_trees}"
        )
    return session


class TreeScorer:
    """A boosted tree ensemble, flattened into node arrays, and evaluated by ONNX Runtime's
    tree ensemble operator (`tree_ensemble_onnx`, stored next to the arrays as `onnx`).

    Each tree's reached leaf comes back, so logits and path contributions (Saabas) are
    lookups into per-leaf tables computed once at load time.
    """

    ARRAYS = ("feature", "threshold", "left", "right", "value", "roots", "onnx")
    NODE_ARRAYS = ARRAYS[:-1]

    def __init__(self, arrays: Arrays, n_features: int):
        _require(arrays, self.ARRAYS, "tree weights lack")
        self.feature = arrays["feature"].astype(np.int32)
        self.threshold = arrays["threshold"].astype(np.float64)
        self.left = arrays["left"].astype(np.int32)
        self.right = arrays["right"].astype(np.int32)
        self.value = arrays["value"].astype(np.float64)
        self.roots = arrays["roots"].astype(np.int32)
        self.onnx = np.asarray(arrays["onnx"], dtype=np.uint8)
        self.n_features = n_features
        self._check_structure()
        leaves = np.flatnonzero(self.feature < 0)
        self._leaf_value = self.value[leaves]
        self._leaf_contributions = self._leaf_path_contributions(leaves)
        self._session = _session(self.onnx.tobytes(), n_features, self.roots.size)

    def _check_structure(self) -> None:
        """Trees in pre-order, as `from_lightgbm_dump` writes them: each tree a contiguous
        run starting at its root, children after their parent (so no walk can loop)."""
        n_nodes = self.feature.size
        same_length = all(
            getattr(self, key).shape == (n_nodes,) for key in self.NODE_ARRAYS if key != "roots"
        )
        if not same_length or self.roots.ndim != 1 or self.roots.size == 0 or n_nodes >= 1 << 24:
            raise ArtifactError("the tree arrays do not describe a tree ensemble")
        if int(self.feature.max()) >= self.n_features:
            raise ArtifactError("a tree splits on a feature the featurizer does not produce")
        internal = np.flatnonzero(self.feature >= 0)
        tree_end = np.append(self.roots[1:], n_nodes)
        tree = np.searchsorted(self.roots, internal, side="right") - 1
        ordered = self.roots[0] == 0 and bool(np.all(np.diff(self.roots) > 0))
        for children in (self.left[internal], self.right[internal]):
            if not ordered or np.any(children <= internal) or np.any(children >= tree_end[tree]):
                raise ArtifactError("the tree arrays do not describe a tree ensemble")

    def _leaf_path_contributions(self, leaves: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """Per leaf, the change of the running value along the path from its root, by the
        feature of each split passed (Saabas). Walks all leaves up to their roots together,
        so memory stays at the (leaves x features) result."""
        parent = np.full(self.feature.size, -1, dtype=np.intp)
        internal = np.flatnonzero(self.feature >= 0)
        parent[self.left[internal]] = internal
        parent[self.right[internal]] = internal
        contributions = np.zeros((leaves.size, self.n_features))
        rows = np.arange(leaves.size)
        node = leaves.copy()
        while True:  # ends: parents come before their children, roots have none
            climbing = parent[node] >= 0
            if not climbing.any():
                return contributions
            rows, node = rows[climbing], node[climbing]
            above = parent[node]
            np.add.at(
                contributions, (rows, self.feature[above]), self.value[node] - self.value[above]
            )
            node = above

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
        return cls.from_node_arrays(arrays, n_features=int(dump["max_feature_idx"]) + 1)

    @classmethod
    def from_node_arrays(cls, arrays: Arrays, n_features: int) -> "TreeScorer":
        """A scorer over node arrays, with their ONNX model built now (needs `onnx`)."""
        model = tree_ensemble_onnx(arrays, n_features)
        return cls({**arrays, "onnx": np.frombuffer(model, dtype=np.uint8)}, n_features)

    def _leaves(self, X: FloatArray) -> npt.NDArray[np.intp]:
        """Per (row, tree), the row in the per-leaf tables of the leaf it reaches."""
        inputs = np.ascontiguousarray(X, dtype=np.float32)
        (reached,) = self._session.run(None, {"X": inputs})
        return np.asarray(reached, dtype=np.intp)

    def logits(self, X: FloatArray) -> npt.NDArray[np.float64]:
        return self._logits_of(self._leaves(X))

    def contributions(self, X: FloatArray) -> npt.NDArray[np.float64]:
        """Per-feature path contributions (Saabas); rows sum to logit minus the roots' values."""
        return self._contributions_of(self._leaves(X))

    def logits_and_contributions(
        self, X: FloatArray
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """`logits` and `contributions` of the same rows, from one pass through the trees."""
        leaves = self._leaves(X)
        return self._logits_of(leaves), self._contributions_of(leaves)

    def _logits_of(self, leaves: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        return np.asarray(self._leaf_value[leaves].sum(axis=1), dtype=np.float64)

    def _contributions_of(self, leaves: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        return np.asarray(self._leaf_contributions[leaves].sum(axis=1), dtype=np.float64)


def top_label(host: str) -> str:
    """The host's last label: its top-level domain, or the last number of an IPv4 host."""
    return host.rsplit(".", 1)[-1]


class TldPrior:
    """What the training data says about a top-level domain: its phishing rate, smoothed
    towards the overall rate, and the log of its share of the training URLs (per 10,000).
    A domain never seen gets the overall rate and share 0."""

    FEATURES = ("tld_phishing_rate", "tld_log_share")
    ARRAYS = ("labels", "rates", "log_shares", "default")

    def __init__(self, arrays: Arrays):
        _require(arrays, self.ARRAYS, "TLD prior lacks")
        self.labels = np.asarray(arrays["labels"], dtype=np.str_)
        self.rates = np.asarray(arrays["rates"], dtype=np.float64)
        self.log_shares = np.asarray(arrays["log_shares"], dtype=np.float64)
        self.default = np.asarray(arrays["default"], dtype=np.float64)
        if not self.labels.shape == self.rates.shape == self.log_shares.shape:
            raise ArtifactError("the TLD prior's arrays differ in length")
        if self.default.shape != (len(self.FEATURES),):
            raise ArtifactError("the TLD prior's default holds one value per feature")
        self._rows = {str(label): row for row, label in enumerate(self.labels.tolist())}
        # One row per label, then the default for labels never seen.
        columns = np.column_stack([self.rates, self.log_shares])
        self._table = np.vstack([columns, self.default]).astype(np.float32)

    @classmethod
    def fit(cls, hosts: Sequence[str], y: npt.NDArray[np.int64], smoothing: float) -> "TldPrior":
        """Counts over training hosts; `smoothing` URLs' worth of the overall rate is mixed in."""
        labels, inverse, counts = np.unique(
            [top_label(h) for h in hosts], return_inverse=True, return_counts=True
        )
        phishing = np.bincount(inverse, weights=y, minlength=labels.size)
        overall = float(np.mean(y))
        return cls({
            "labels": labels,
            "rates": (phishing + smoothing * overall) / (counts + smoothing),
            "log_shares": np.log1p(counts / len(hosts) * 1e4),
            "default": np.array([overall, 0.0]),
        })  # fmt: skip

    def to_arrays(self) -> Arrays:
        return {key: getattr(self, key) for key in self.ARRAYS}

    def features(self, urls: Sequence[NormalizedUrl]) -> FloatArray:
        rows = [self._rows.get(top_label(u.host), len(self.labels)) for u in urls]
        return self._table[rows]


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
