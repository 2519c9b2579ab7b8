"""`phishline bench predictor`: what one lib-ml predictor call costs at the batch sizes the
service's micro-batches reach, split into a cost per call and a cost per URL.

Under load the service scores micro-batches of up to 16 URLs (explained) or 64; at lower
rates they shrink towards one URL, and then the cost per call falls on every request. That is
why a request costs more CPU at half the maximum rate than at saturation (`bench serve`).
A least-squares line through the times per call over the batch sizes separates the two costs.
In-process, on the same kind of sample URLs as `bench serve`, best of several repeats.
"""

import time
from pathlib import Path
from typing import Any

import numpy as np

from lib_ml import Predictor, find_artifacts
from model_service.bench import sample_urls
from model_service.core.batching import MAX_COALESCED, MAX_COALESCED_EXPLAINED

BATCH_SIZES = (1, 2, 4, 8, MAX_COALESCED_EXPLAINED, MAX_COALESCED)
EXPLAIN_TOP_K = (0, 5)  # without explanations, and the API's default top 5


def fit_line(batch_sizes: tuple[int, ...], ms_per_call: list[float]) -> tuple[float, float]:
    """Least-squares (ms per call, ms per URL): the intercept and slope of time against size."""
    per_url, per_call = np.polyfit(np.asarray(batch_sizes, float), np.asarray(ms_per_call), 1)
    return float(per_call), float(per_url)


def time_per_call(
    predictor: Predictor, urls: list[str], batch_size: int, explain_top_k: int, repeats: int
) -> float:
    """Milliseconds per `predict` call over all of `urls` in batches: the best of `repeats`."""
    batches = [urls[i : i + batch_size] for i in range(0, len(urls), batch_size)]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for batch in batches:
            predictor.predict(batch, explain_top_k)
        best = min(best, (time.perf_counter() - started) / len(batches))
    return best * 1e3


def run_predictor_bench(
    model_dir: Path = Path("models"),
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
    urls_per_size: int = 1024,
    repeats: int = 5,
) -> dict[str, Any]:
    """Per model and explanation size: ms per call at each batch size and the fitted split."""
    uneven = [size for size in batch_sizes if urls_per_size % size]
    if uneven:  # a last, smaller batch would lower the mean time per call
        raise ValueError(f"{urls_per_size} URLs do not split into batches of {uneven}")
    urls = sample_urls(urls_per_size)
    results: dict[str, Any] = {}
    for directory in find_artifacts(model_dir):
        predictor = Predictor.load(directory)
        predictor.predict(urls, 0)  # warm the per-host caches, as repeated traffic does
        cases = {}
        for explain_top_k in EXPLAIN_TOP_K:
            ms = [time_per_call(predictor, urls, b, explain_top_k, repeats) for b in batch_sizes]
            per_call, per_url = fit_line(batch_sizes, ms)
            cases[f"explain_top_k_{explain_top_k}"] = {
                "ms_per_call": {str(b): round(t, 4) for b, t in zip(batch_sizes, ms, strict=True)},
                "fitted_ms_per_call": round(per_call, 4),
                "fitted_ms_per_url": round(per_url, 4),
            }
        results[predictor.name] = cases
    return {
        "models": results,
        "settings": {
            "model_dir": str(model_dir),
            "batch_sizes": list(batch_sizes),
            "urls_per_size": urls_per_size,
            "repeats": repeats,
        },
    }
