import hashlib
import random
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from lib_ml import LABEL_MAP, write_artifact
from lib_ml.drift import reference_distributions
from lib_ml.features import LEXICAL_FEATURES, NgramConfig, lexical_matrix
from lib_ml.matrices import document_frequencies, ngram_counts, smoothed_idf, tfidf_rows
from lib_ml.predictor import LINEAR_FILE, TLD_FILE, TREES_FILE
from lib_ml.scorers import LinearScorer, TldPrior, TreeScorer
from lib_ml.urls import NormalizedUrl, normalize_url

PHISHING = [
    "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login",
    "http://192.168.10.5/apple/id/verify/signin.php",
    "http://appleid-verify-account.com/login/update.html",
    "http://secure-bankofamerica.com-login.info/online/verify",
    "http://netflix-billing-update.xyz/account/payment.php",
    "http://www.ebay.com.signin-verify.ga/ws/eBayISAPI.dll?SignIn",
]
LEGITIMATE = [
    "https://www.google.com/",
    "https://en.wikipedia.org/wiki/Phishing",
    "https://github.com/python/cpython",
    "https://www.bbc.co.uk/news/technology",
    "https://docs.python.org/3/library/urllib.parse.html",
    "https://www.nytimes.com/section/world",
]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_set(size: int = 400, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Small synthetic-but-plausible URLs around the lists above (enough to fit real models)."""
    rng = random.Random(seed)
    urls, labels = [], []
    for _ in range(size):
        phishing = rng.random() < 0.5
        base = rng.choice(PHISHING if phishing else LEGITIMATE)
        urls.append(f"{base}{'&' if '?' in base else '?'}n={rng.randrange(10_000)}")
        labels.append(int(phishing))
    return urls, np.array(labels)


def fit_view(
    urls: list[NormalizedUrl], y: np.ndarray, config: NgramConfig
) -> dict[str, np.ndarray]:
    """Weights of a linear model over one view, as training writes them."""
    from sklearn.linear_model import LogisticRegression

    counts = ngram_counts(urls, config)
    idf = smoothed_idf(document_frequencies(counts), counts.shape[0])
    model = LogisticRegression(C=10.0).fit(tfidf_rows(counts, idf), y)
    return {
        "coef": model.coef_[0].astype(np.float32),
        "intercept": model.intercept_.astype(np.float64),
        "idf": idf,
    }


def fit_trees(X: np.ndarray, y: np.ndarray) -> tuple[lgb.Booster, TreeScorer]:
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 5, "verbosity": -1,
         "deterministic": True, "num_threads": 1, "seed": 0},
        lgb.Dataset(X, label=y),
        num_boost_round=20,
    )  # fmt: skip
    return booster, TreeScorer.from_lightgbm_dump(booster.dump_model())


VIEW_FILES = {
    "url": LINEAR_FILE, "host": "view_host.npz", "path": "view_path.npz", "words": "view_words.npz"
}  # fmt: skip


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """linear/, gbm/ and ensemble/ artifacts fitted on a small set, with known parameters."""
    root = tmp_path_factory.mktemp("models")
    urls, y = training_set()
    normalized = [normalize_url(u) for u in urls]
    configs = {
        "url": NgramConfig(1, 4, 14, host_ngrams=True),
        "host": NgramConfig(1, 4, 12, view="host"),
        "path": NgramConfig(1, 4, 14, view="path"),
        "words": NgramConfig(hash_bits=12, view="words"),
    }
    views = {name: fit_view(normalized, y, config) for name, config in configs.items()}
    lexical = lexical_matrix(normalized)
    booster, trees = fit_trees(lexical, y)
    view_logits = [
        LinearScorer.from_arrays(configs[name], views[name]).logits(normalized) for name in views
    ]
    prior = TldPrior.fit([u.host for u in normalized], y, smoothing=20.0)
    stacked = np.column_stack([lexical, prior.features(normalized), *view_logits])
    _, stacked_trees = fit_trees(stacked.astype(np.float32), y)
    common = {
        "version": "0.1.0", "created": "2026-01-01T00:00:00+00:00",
        "training_data_sha256": "0" * 64, "params": {}, "metrics": {"validation": {"f1": 1.0}},
        "label_map": LABEL_MAP, "threshold": 0.5,
        "feature_distributions": reference_distributions([u.text for u in normalized]),
    }  # fmt: skip
    write_artifact(
        root / "linear",
        {**common, "name": "linear", "family": "linear",
         "featurizer": {"ngram": configs["url"].to_dict()}},
        {LINEAR_FILE: views["url"]},
    )  # fmt: skip
    write_artifact(
        root / "gbm",
        {**common, "name": "gbm", "family": "gbm",
         "featurizer": {"lexical": list(LEXICAL_FEATURES)}},
        {TREES_FILE: trees.to_arrays()},
    )  # fmt: skip
    write_artifact(
        root / "ensemble",
        {**common, "name": "ensemble", "family": "ensemble",
         "featurizer": {
             "lexical": list(LEXICAL_FEATURES),
             "tld_prior": True,
             "views": [{"file": VIEW_FILES[name], "ngram": configs[name].to_dict()}
                       for name in configs],
         },
         "stacker": {"coef": [0.8], "intercept": 0.1}},
        {**{VIEW_FILES[name]: views[name] for name in configs},
         TREES_FILE: stacked_trees.to_arrays(), TLD_FILE: prior.to_arrays()},
    )  # fmt: skip
    (root / "booster.txt").write_text(booster.model_to_string(), encoding="utf-8")
    return root
