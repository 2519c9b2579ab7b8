"""`phishline bench serve`: throughput and latency of a real model-service process.

Measures, on 127.0.0.1 against one uvicorn process: a bare JSON endpoint of the same stack
(GET /health/live, the ceiling), single-URL predict with the default model with and without
explanations and with the linear model without, each also at half its maximum rate, and
batch predict with the linear model; plus the process's resident
memory. Besides wall-clock throughput it reports the server's CPU time per request (from
/proc), which stays meaningful when other processes share the cores.

Each single-predict case is measured in slices that alternate with slices of the bare
endpoint, and its ratio to bare is taken against those: both sides see the same spells of a
machine whose speed drifts, which separate measurements seconds apart do not.
"""

import asyncio
import json
import random
from pathlib import Path
from typing import Any

from model_service.bench.loadgen import LoadResult, generate_load, http_request
from model_service.bench.service import RunningService, running_service

_HOSTS = ("paypal", "secure-login", "accounts", "news", "shop", "mail", "cdn", "my-bank", "docs")
_TLDS = ("com", "net", "org", "ru", "tk", "co.uk", "info", "io")
_PATHS = ("", "index.html", "login.php", "wp-admin/verify", "en/articles", "account/update")


# Single-URL predict cases: name, model (None: the default, the ensemble) and explain_top_k.
# The linear case shows what the service path costs with the cheapest model.
SINGLE_CASES: tuple[tuple[str, str | None, int], ...] = (
    ("single_predict", None, 5),
    ("single_predict_no_explanation", None, 0),
    ("single_predict_linear_no_explanation", "linear", 0),
)


def sample_urls(count: int, seed: int = 0) -> list[str]:
    """Distinct URLs shaped like web traffic (so host caches do not flatter the figures)."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    return [
        f"http://{rng.choice(_HOSTS)}{i}.{rng.choice(_TLDS)}/{rng.choice(_PATHS)}"
        f"?id={rng.randrange(10**6)}"
        for i in range(count)
    ]


def _post(path: str, payload: dict[str, Any]) -> bytes:
    return http_request("POST", path, json.dumps(payload).encode())


PAIRED_SLICES = 5  # alternations of a single-predict case with the bare endpoint


def _figures(result: LoadResult, cpu: float, items_per_request: int = 1) -> dict[str, float]:
    return {
        "requests_per_s": round(result.throughput, 1),
        "items_per_s": round(result.throughput * items_per_request, 1),
        "p50_ms": round(result.percentile_ms(50), 3),
        "p99_ms": round(result.percentile_ms(99), 3),
        "failures": result.failures,
        "server_cpu_ms_per_request": round(cpu / max(result.requests, 1) * 1e3, 3),
        # What one fully used core would sustain, by the CPU time actually spent.
        "items_per_cpu_s": round(result.requests * items_per_request / cpu, 1) if cpu else 0.0,
    }


def _merged(slices: list[tuple[LoadResult, float]]) -> tuple[LoadResult, float]:
    """One result (and server CPU seconds) of consecutive measurement slices."""
    results = [result for result, _ in slices]
    merged = LoadResult(
        requests=sum(r.requests for r in results),
        failures=sum(r.failures for r in results),
        seconds=sum(r.seconds for r in results),
        latencies=[latency for r in results for latency in r.latencies],
    )
    return merged, sum(cpu for _, cpu in slices)


class _Bench:
    def __init__(self, service: RunningService, seconds: float, connections: int):
        self.service = service
        self.seconds = seconds
        self.connections = connections

    async def _load(
        self, requests: list[bytes], seconds: float, rate: float | None, connections: int
    ) -> tuple[LoadResult, float]:
        """The load's result and the server CPU seconds it cost."""
        cpu_before = self.service.cpu_seconds()
        result = await generate_load(
            self.service.host, self.service.port, requests, connections, seconds, rate
        )
        return result, self.service.cpu_seconds() - cpu_before

    async def _warm_up(self, requests: list[bytes], rate: float | None, connections: int) -> None:
        await self._load(requests, min(1.0, self.seconds), rate, connections)

    async def run(
        self,
        requests: list[bytes],
        rate: float | None = None,
        connections: int | None = None,
        items_per_request: int = 1,
    ) -> dict[str, float]:
        conns = connections or self.connections
        await self._warm_up(requests, rate, conns)
        return _figures(*await self._load(requests, self.seconds, rate, conns), items_per_request)

    async def run_paired(
        self, requests: list[bytes], baseline: list[bytes]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """`requests` and `baseline` as fast as the server answers, in alternating slices."""
        for warm in (baseline, requests):
            await self._warm_up(warm, None, self.connections)
        seconds = self.seconds / PAIRED_SLICES
        case_slices, baseline_slices = [], []
        for _ in range(PAIRED_SLICES):
            case_slices.append(await self._load(requests, seconds, None, self.connections))
            baseline_slices.append(await self._load(baseline, seconds, None, self.connections))
        return _figures(*_merged(case_slices)), _figures(*_merged(baseline_slices))


async def _measure(bench: _Bench, batch_size: int) -> dict[str, Any]:
    urls = sample_urls(max(batch_size, 1000))
    bare = [http_request("GET", "/health/live")]
    results: dict[str, Any] = {"bare_json": await bench.run(bare)}
    for name, model, explain_top_k in SINGLE_CASES:
        requests = [
            _post("/v1/predict", {"url": u, "model": model, "explain_top_k": explain_top_k})
            for u in urls[:1000]
        ]
        saturated, paired_bare = await bench.run_paired(requests, bare)
        half_rate = saturated["requests_per_s"] / 2
        results[name] = {
            "model": model,
            "explain_top_k": explain_top_k,
            **saturated,
            "paired_bare_requests_per_s": paired_bare["requests_per_s"],
            "ratio_to_bare": round(saturated["requests_per_s"] / paired_bare["requests_per_s"], 3),
            "cpu_ratio_to_bare": round(
                paired_bare["server_cpu_ms_per_request"] / saturated["server_cpu_ms_per_request"],
                3,
            ),
            # A case that served nothing (every answer an error) has no half rate to offer.
            "at_half_rate": (
                {"rate_per_s": half_rate, **await bench.run(requests, rate=half_rate)}
                if half_rate
                else None
            ),
        }
    batch = [_post("/v1/predict/batch", {"urls": urls[:batch_size], "model": "linear"})]
    # Two connections: the next batch is on its way while one is being scored.
    results["batch_predict_linear"] = {
        "batch_size": batch_size,
        **await bench.run(batch, connections=2, items_per_request=batch_size),
    }
    return results


def run_bench(
    model_dir: Path = Path("models"),
    seconds: float = 5.0,
    connections: int = 16,
    batch_size: int = 1000,
    log_level: str = "info",
) -> dict[str, Any]:
    """Start the service on model_dir and measure it; prints nothing, returns the figures."""
    with running_service(model_dir, log_level=log_level) as service:
        results = asyncio.run(_measure(_Bench(service, seconds, connections), batch_size))
        memory = service.memory_kib()
    results["rss_mib"] = round(memory["VmRSS"] / 1024, 1)
    results["peak_rss_mib"] = round(memory["VmHWM"] / 1024, 1)
    results["settings"] = {
        "model_dir": str(model_dir),
        "seconds": seconds,
        "connections": connections,
        "batch_size": batch_size,
        "log_level": log_level,
    }
    return results


def main() -> None:
    """Run the benchmark with its defaults (models/ of the working directory); print JSON."""
    print(json.dumps(run_bench(), indent=2))
