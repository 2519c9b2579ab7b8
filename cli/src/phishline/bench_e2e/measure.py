"""The end-to-end benchmark: single-URL predictions through the app and straight to
model-service at growing concurrency, then a sustained run at 80 % of the app's maximum.

Besides wall-clock throughput and latency it reports each server's CPU time per request, which
stays meaningful when other processes share the cores, and the conditions of the run (CPU
count, load average before and after).
"""

import asyncio
import math
import os
import platform
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from model_service.bench import sample_urls
from phishline.bench_e2e.load import BackgroundLoad, Load, Outcome, Request, RequestSource
from phishline.bench_e2e.stack import Stack, running_stack

# The same request body through both: the app forwards {"url", "model"} to /v1/predict.
PREDICT_PATHS = {"app": "/api/predict", "model-service": "/v1/predict"}
DEFAULT_LEVELS = (1, 2, 4, 8, 16, 32)
SUSTAINED_SHARE = 0.8
# Bounds the requests in flight during the sustained run: a server falling behind builds a
# visible latency, not an unbounded queue.
SUSTAINED_MAX_IN_FLIGHT = 64
WARM_UP_SECONDS = 1.0
MIB = 1024 * 1024


def predict_source(path: str, count: int = 2000) -> RequestSource:
    """Distinct URLs shaped like web traffic, cycled."""
    urls = sample_urls(count)
    return lambda index: Request(path, {"url": urls[index % count]})


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of ascending values (nan when there are none)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered) / 100) - 1)]


def summarize(outcomes: Sequence[Outcome], seconds: float) -> dict[str, Any]:
    """Throughput of successful requests, their latency percentiles, and the failures by code."""
    latencies = sorted(o.latency * 1e3 for o in outcomes if o.ok)
    failures = Counter(o.code for o in outcomes if not o.ok)
    return {
        "requests": len(outcomes),
        "errors": sum(failures.values()),
        "error_codes": dict(failures),
        "requests_per_s": round(len(latencies) / seconds, 1) if seconds > 0 else 0.0,
        **{f"p{q}_ms": round(percentile(latencies, q), 2) for q in (50, 90, 99)},
        "max_ms": round(latencies[-1], 2) if latencies else math.nan,
    }


def base_url(stack: Stack, target: str) -> str:
    return stack.app.url if target == "app" else stack.model_service.url


def measure_level(stack: Stack, target: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """A closed-loop run against one target; adds the CPU time per request of each server and
    of the load generator (this process: near a core's worth, it would be the bottleneck)."""
    load = Load(base_url(stack, target), predict_source(PREDICT_PATHS[target]))
    cpu_before = {service.name: service.cpu_seconds() for service in stack.services}
    client_before = time.process_time()
    outcomes = asyncio.run(load.run(concurrency, seconds))
    client = time.process_time() - client_before
    cpu = {service.name: service.cpu_seconds() - cpu_before[service.name]
           for service in stack.services}  # fmt: skip
    summary = summarize(outcomes, load.finished - load.started)
    per_request = 1e3 / max(summary["requests"], 1)
    return {
        "target": target,
        "concurrency": concurrency,
        **summary,
        "server_cpu_ms_per_request": {
            name: round(seconds_used * per_request, 2) for name, seconds_used in cpu.items()
        },
        "client_cpu_ms_per_request": round(client * per_request, 2),
    }


def sweep(stack: Stack, levels: Sequence[int], seconds: float) -> list[dict[str, Any]]:
    """Every concurrency level against each target, after a warm-up at the highest one."""
    results = []
    for target in PREDICT_PATHS:
        measure_level(stack, target, max(levels), min(WARM_UP_SECONDS, seconds))
        results += [measure_level(stack, target, level, seconds) for level in levels]
    return results


def _per_second(outcomes: Sequence[Outcome], started: float, seconds: float) -> list[int]:
    """Successful answers in each whole second of the run."""
    counts = Counter(int(o.answered - started) for o in outcomes if o.ok)
    return [counts.get(second, 0) for second in range(int(seconds))]


def sustained(
    stack: Stack, rate: float, seconds: float, sample_every: float = 1.0
) -> dict[str, Any]:
    """Open-loop load at `rate` through the app for `seconds`; samples both servers' resident
    memory meanwhile (growth: last sample against the first)."""
    samples: list[dict[str, float]] = []
    source = predict_source(PREDICT_PATHS["app"])
    with BackgroundLoad(
        stack.app.url, source, SUSTAINED_MAX_IN_FLIGHT, rate=rate, seconds=seconds
    ) as load:
        started = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - started
            memory = {service.name: service.rss_bytes() / MIB for service in stack.services}
            samples.append({"t": round(elapsed, 2), **{k: round(v, 2) for k, v in memory.items()}})
            if elapsed >= seconds:
                break
            time.sleep(min(sample_every, seconds - elapsed))
    outcomes = load.outcomes()
    memory_by_service = {
        service.name: {
            "start": samples[0][service.name],
            "end": samples[-1][service.name],
            "max": max(sample[service.name] for sample in samples),
            "growth": round(samples[-1][service.name] / samples[0][service.name] - 1, 4),
        }
        for service in stack.services
    }
    return {
        "target_rate_per_s": round(rate, 1),
        "seconds": seconds,
        **summarize(outcomes, load.finished - load.started),
        "rss_mib": memory_by_service,
        "rss_samples_mib": samples,
        "answers_per_second": _per_second(outcomes, load.started, seconds),
    }


def conditions(stack: Stack) -> dict[str, Any]:
    """What the figures depend on: machine, load on it, models served."""
    models = httpx.get(f"{stack.model_service.url}/v1/models", timeout=10).json()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "models": [{"name": m["name"], "version": m["version"]} for m in models["models"]],
        "default_model": models.get("default"),
    }


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def run_e2e_bench(
    model_dir: Path,
    levels: Sequence[int] = DEFAULT_LEVELS,
    seconds: float = 5.0,
    sustain_seconds: float = 10.0,
    variant: str = "v1",
    log_level: str = "info",
) -> dict[str, Any]:
    """Start model-service and the app on model_dir, measure them, stop them; the figures."""
    with running_stack(model_dir, variant, log_level) as stack:
        load_before = _load_average()
        machine = conditions(stack)
        levels_results = sweep(stack, levels, seconds)
        maximum = {
            target: max(r["requests_per_s"] for r in levels_results if r["target"] == target)
            for target in PREDICT_PATHS
        }
        sustained_result = sustained(stack, SUSTAINED_SHARE * maximum["app"], sustain_seconds)
        load_after = _load_average()
    return {
        "conditions": {**machine, "load_average_before": load_before,
                       "load_average_after": load_after},
        "settings": {"model_dir": str(model_dir), "levels": list(levels), "seconds": seconds,
                     "sustain_seconds": sustain_seconds, "sustained_share": SUSTAINED_SHARE,
                     "variant": variant, "log_level": log_level},
        "sweep": levels_results,
        "max_requests_per_s": maximum,
        "sustained": sustained_result,
    }  # fmt: skip
