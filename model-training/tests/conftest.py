import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from model_training.config import MIRROR_ENV

REPO = Path(__file__).resolve().parents[2]


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by its path relative to root."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def mirror_root() -> Path:
    """The local data mirror: PHISHLINE_DATA_MIRROR, else ../shared/data beside the repo."""
    return Path(os.environ.get(MIRROR_ENV) or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def ebbu_sample() -> dict[str, list[str]]:
    """A fixed random sample of the real Ebbu2017 URLs, per label."""
    root = mirror_root() / "ebbu2017"
    if not root.is_dir():
        pytest.skip(f"the data mirror {root} is absent (set {MIRROR_ENV})")
    rng = random.Random(0)
    sample = {}
    for label, name in (
        ("legitimate", "data_legitimate_36400.json"),
        ("phishing", "data_phishing_37175.json"),
    ):
        urls = sorted(set(json.loads((root / name).read_text(encoding="utf-8"))))
        sample[label] = rng.sample(urls, 1500)
    return sample
