"""Fixtures shared by the cross-component tests."""

import os
import random
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """linear/, gbm/ and ensemble/ artifacts trained on a small real sample (a few seconds)."""
    from model_training.config import MIRROR_ENV, load_params
    from model_training.sources import read_labelled
    from model_training.train import Split, build_models

    mirror = Path(os.environ.get(MIRROR_ENV) or REPO.parent / "shared" / "data") / "ebbu2017"
    if not mirror.is_dir():
        pytest.skip(f"the data mirror {mirror} is absent (set {MIRROR_ENV})")
    examples = read_labelled(mirror / "data_legitimate_36400.json", "ebbu")
    examples += read_labelled(mirror / "data_phishing_37175.json", "ebbu")
    examples = [e for e in examples if e.url.strip()]
    random.Random(0).shuffle(examples)
    params = load_params(REPO)["train"]
    params["linear"]["hash_bits"] = 16
    params["gbm"]["num_threads"] = 1  # few rows: OpenMP's spin-up costs more than it saves
    models = tmp_path_factory.mktemp("models")
    build_models(
        Split.from_examples(examples[:3000]),
        Split.from_examples(examples[3000:4000]),
        params,
        models,
    )
    return models
