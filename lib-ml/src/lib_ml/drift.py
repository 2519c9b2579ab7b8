"""Input drift: training-time histograms of simple URL features, kept in the artifact, and the
population stability index (PSI) of live traffic against them."""

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt

DRIFT_FEATURES: tuple[str, ...] = ("url_length", "digit_ratio", "letter_ratio", "special_ratio")
_EPSILON = 1e-4  # keeps empty bins finite in the PSI's logarithm
_SUM_TOLERANCE = 1e-6  # float rounding of counts / total


def drift_values(texts: Sequence[str]) -> dict[str, npt.NDArray[np.float64]]:
    """The DRIFT_FEATURES of normalized URL texts."""
    lengths = np.array([len(t) for t in texts], dtype=np.float64)
    safe = np.maximum(lengths, 1.0)
    digits = np.array([sum(c.isdigit() for c in t) for t in texts], dtype=np.float64)
    letters = np.array([sum(c.isalpha() for c in t) for t in texts], dtype=np.float64)
    return {
        "url_length": lengths,
        "digit_ratio": digits / safe,
        "letter_ratio": letters / safe,
        "special_ratio": (lengths - digits - letters) / safe,
    }


def reference_distributions(texts: Sequence[str], bins: int = 10) -> dict[str, Any]:
    """Quantile-binned histograms of the training texts, JSON-ready for model.json.
    Bins are right-closed, (e[i-1], e[i]], so a value equal to an edge stays below it."""
    out: dict[str, Any] = {}
    for name, values in drift_values(texts).items():
        inner = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
        counts = np.bincount(np.searchsorted(inner, values, side="left"), minlength=inner.size + 1)
        out[name] = {
            "edges": [float(e) for e in inner],
            "probabilities": [float(c) for c in counts / max(values.size, 1)],
        }
    return out


def check_reference(reference: Mapping[str, Any]) -> None:
    """Raise ValueError unless each feature's histogram is one `reference_distributions`
    could have written: increasing edges, and one probability more, summing to 1."""
    for name, spec in reference.items():
        edges = spec.get("edges") if isinstance(spec, dict) else None
        probabilities = spec.get("probabilities") if isinstance(spec, dict) else None
        if not (_numbers(edges) and _numbers(probabilities)):
            raise ValueError(f"{name!r} needs lists of numbers 'edges' and 'probabilities'")
        if len(probabilities) != len(edges) + 1:
            raise ValueError(
                f"{name!r} has {len(edges)} edges, so {len(edges) + 1} probabilities, "
                f"not {len(probabilities)}"
            )
        if any(later <= earlier for earlier, later in pairwise(edges)):
            raise ValueError(f"{name!r} has edges that do not increase")
        if min(probabilities) < 0 or abs(sum(probabilities) - 1.0) > _SUM_TOLERANCE:
            raise ValueError(f"{name!r} has probabilities that are not a distribution")


def _numbers(values: object) -> TypeGuard[list[float]]:
    return isinstance(values, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def histogram(values: npt.NDArray[np.float64], edges: Sequence[float]) -> npt.NDArray[np.float64]:
    counts = np.bincount(
        np.searchsorted(np.asarray(edges), values, side="left"), minlength=len(edges) + 1
    )
    return np.asarray(counts / max(values.size, 1), dtype=np.float64)


def psi(expected: Sequence[float], actual: Sequence[float] | npt.NDArray[np.float64]) -> float:
    """Population stability index: sum((a - e) * ln(a / e)); 0 for identical histograms."""
    e = np.clip(np.asarray(expected, dtype=np.float64), _EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), _EPSILON, None)
    if e.shape != a.shape:
        raise ValueError(f"histograms differ in bins: {e.shape} vs {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))


def drift_report(reference: dict[str, Any], texts: Sequence[str]) -> dict[str, float]:
    """PSI per drift feature of `texts` against the artifact's reference histograms."""
    values = drift_values(texts)
    return {
        name: psi(spec["probabilities"], histogram(values[name], spec["edges"]))
        for name, spec in reference.items()
        if name in values
    }
