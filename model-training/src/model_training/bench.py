"""Training cost against data size: the linear model on N URLs, time and peak RSS.

Real Ebbu2017 URLs are replicated with random path and query perturbations up to N (fine
for cost, meaningless for accuracy). Each size runs in a fresh process so that its peak
RSS is its own: VmHWM, the peak of the process's memory since it started; not getrusage's
ru_maxrss, which Linux carries across exec from the process that launched it.
"""

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from model_training.config import load_params, mirror_directory, project_root
from model_training.prepare import clean
from model_training.sources import read_labelled
from model_training.train import fit_linear

DEFAULT_SIZES = (100_000, 500_000, 2_000_000)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def perturbed_corpus(
    base: list[tuple[str, int]], size: int, seed: int
) -> tuple[list[str], np.ndarray]:
    rng = random.Random(seed)  # noqa: S311 (benchmark data, not security)
    urls, labels = [], np.empty(size, dtype=np.int64)
    for index in range(size):
        url, label = base[index % len(base)]
        if index >= len(base):
            token = "".join(rng.choices(_ALPHABET, k=rng.randint(3, 10)))
            url = f"{url.rstrip('/')}/{token}?v={rng.randrange(1_000_000)}"
        urls.append(url)
        labels[index] = label
    return urls, labels


def peak_rss_kib() -> int:
    """This process's peak resident set size (VmHWM, Linux), in KiB."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/status gives no VmHWM")


def measure(size: int, root: Path) -> dict[str, Any]:
    """Train the linear model on `size` URLs in this process; seconds and peak RSS."""
    params = load_params(root)
    mirror = mirror_directory(params, root)
    raw = []
    for spec in params["data"]["sources"][0]["files"]:
        raw += read_labelled(mirror / spec["path"], spec["format"], spec.get("label"))
    base = [(e.url, e.label) for e in clean(raw).examples]
    urls, labels = perturbed_corpus(base, size, seed=0)
    start = time.perf_counter()
    fit_linear(urls, labels, params["train"]["linear"], seed=0)
    seconds = time.perf_counter() - start
    peak_kib = peak_rss_kib()
    return {"urls": size, "seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1)}


def run_bench(
    sizes: tuple[int, ...] = DEFAULT_SIZES, root: Path | None = None
) -> list[dict[str, Any]]:
    root = root or project_root()
    results = []
    for size in sizes:
        completed = subprocess.run(  # noqa: S603 (this interpreter, fixed module)
            [sys.executable, "-m", "model_training.bench", "--size", str(size)],
            cwd=root, capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        result["us_per_url"] = round(result["seconds"] / size * 1e6, 2)
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, required=True)
    print(json.dumps(measure(parser.parse_args().size, project_root())))


if __name__ == "__main__":
    main()
