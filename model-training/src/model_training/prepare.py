"""Stage prepare: parse, normalize, drop invalid, de-duplicate, and split by registered domain.

No registered domain (eTLD+1) appears in two splits, so the test split measures how the model
does on sites it has never seen, not how well it remembers them.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lib_ml import InvalidUrlError, normalize_url
from lib_ml.urls import split_host, trim_url
from model_training.config import Paths, load_params, project_root
from model_training.get_data import RAW_MANIFEST
from model_training.sources import Example, read_labelled, write_dl

SPLITS = ("train", "val", "test")
STATS_FILE = "stats.json"


@dataclass
class Cleaned:
    examples: list[Example] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def clean(examples: list[Example]) -> Cleaned:
    """Drop invalid URLs, exact duplicates (by normalized text) and label conflicts."""
    labels_of: dict[str, set[int]] = defaultdict(set)
    first: dict[str, tuple[Example, str]] = {}
    out = Cleaned()
    out.counts["read"] = len(examples)
    for example in examples:
        try:
            normalized = normalize_url(example.url)
        except InvalidUrlError:
            out.counts["invalid"] += 1
            continue
        key = normalized.text
        labels_of[key].add(example.label)
        if key in first:
            out.counts["duplicate"] += 1
            continue
        first[key] = (Example(trim_url(example.url), example.label), normalized.host)
    for key, (example, host) in first.items():
        if len(labels_of[key]) > 1:
            out.counts["label_conflict"] += 1
            continue
        out.examples.append(example)
        out.domains.append(split_host(host).registered_domain)
    out.counts["kept"] = len(out.examples)
    return out


def grouped_split(
    domains: list[str], fractions: dict[str, float], seed: int
) -> dict[str, np.ndarray]:
    """Indices per split; whole registered domains go to one split, in a seeded random order,
    until each split holds its fraction of the URLs."""
    by_domain: dict[str, list[int]] = defaultdict(list)
    for index, domain in enumerate(domains):
        by_domain[domain].append(index)
    names = sorted(by_domain)
    order = np.random.default_rng(seed).permutation(len(names))
    total = len(domains)
    targets = {"test": fractions["test"] * total, "val": fractions["val"] * total}
    assigned: dict[str, list[int]] = {name: [] for name in SPLITS}
    for position in order:
        members = by_domain[names[position]]
        split = next((s for s in ("test", "val") if len(assigned[s]) < targets[s]), "train")
        assigned[split].extend(members)
    return {name: np.array(sorted(indices), dtype=np.int64) for name, indices in assigned.items()}


def read_raw(raw_dir: Path) -> list[Example]:
    entries = json.loads((raw_dir / RAW_MANIFEST).read_text(encoding="utf-8"))
    examples: list[Example] = []
    for entry in entries:
        examples += read_labelled(raw_dir / entry["path"], entry["format"], entry.get("label"))
    return examples


def split_stats(examples: list[Example], domains: list[str], index: np.ndarray) -> dict[str, Any]:
    labels = [examples[i].label for i in index]
    return {
        "urls": len(labels),
        "phishing": int(sum(labels)),
        "legitimate": len(labels) - int(sum(labels)),
        "domains": len({domains[i] for i in index}),
    }


def prepare(root: Path | None = None) -> dict[str, Any]:
    root = root or project_root()
    params = load_params(root)["prepare"]
    paths = Paths(root)
    fractions = {"val": params["val_fraction"], "test": params["test_fraction"]}
    cleaned = clean(read_raw(paths.raw))
    splits = grouped_split(cleaned.domains, fractions, seed=params["seed"])
    paths.prepared.mkdir(parents=True, exist_ok=True)
    for name, index in splits.items():
        write_dl(paths.prepared / f"{name}.txt", [cleaned.examples[i] for i in index])
    stats = {
        "counts": dict(cleaned.counts),
        "splits": {
            name: split_stats(cleaned.examples, cleaned.domains, index)
            for name, index in splits.items()
        },
    }
    (paths.prepared / STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats


def main() -> None:
    print(json.dumps(prepare(), indent=2))


if __name__ == "__main__":
    main()
