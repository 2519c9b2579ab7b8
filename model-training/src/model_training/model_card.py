"""MODEL_CARD.md of a model release, generated from the artifacts' model.json, the evaluate
stage's metrics and the release gate, so the card can never disagree with what ships."""

from collections.abc import Mapping, Sequence
from typing import Any

from model_training.config import source_date_epoch
from model_training.release_gate import GateResult

_TEST_COLUMNS = (
    ("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"), ("f1", "F1"),
    ("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"), ("log_loss", "log loss"), ("brier", "Brier"),
    ("ece", "ECE"),
)  # fmt: skip


def _decimal(value: float | None) -> str:
    """A metric to four places; n/a where it is undefined (ROC AUC on data of one class)."""
    return "n/a" if value is None else f"{value:.4f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _fitted_on(manifest: Mapping[str, Any]) -> str:
    """Which splits the weights were fitted on, and how many URLs (artifacts made before
    `train.refit` existed do not record it)."""
    if "training_rows" not in manifest:
        return "not recorded"
    splits = "train + val" if manifest["refit_on_validation"] else "train"
    return f"{splits} ({manifest['training_rows']:,} URLs)"


def _rebuilding(manifests: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """How to rebuild the artifacts byte for byte: at the one moment they share (docs/training.md).
    Artifacts of several builds, or made before a build shared one moment, get no such section."""
    moments = {m["created"] for m in manifests.values()}
    if len(moments) != 1:
        return []
    epoch = source_date_epoch(moments.pop())
    return [
        "## Rebuilding",
        "",
        f"The models were built at one moment, SOURCE_DATE_EPOCH {epoch}. From a checkout of "
        f"this release's commit, `SOURCE_DATE_EPOCH={epoch} dvc repro` rebuilds them byte for "
        "byte on the same platform with the locked dependencies: every file comes out the same, "
        "model.json included (each lists its weight files' sha256 under `files`).",
        "",
    ]


def model_card(
    release: str,
    manifests: Mapping[str, Mapping[str, Any]],
    metrics: Mapping[str, Mapping[str, Any]],
    gate: GateResult,
    data_sources: Sequence[str],
) -> str:
    names = sorted(manifests)
    lines = [
        f"# Model card: phishline models {release}",
        "",
        f"{len(names)} models ({', '.join(names)}), each a directory with `model.json` and "
        "`.npz` weights that lib-ml verifies by sha256 and loads without pickle. "
        f"model-service serves `{gate.model}` unless a request names another.",
        "",
        "## Intended use",
        "",
        "Scores how likely a URL is a phishing link: P(phishing) between 0 and 1; a URL is "
        "labelled `phishing` when the score reaches the model's threshold. The models see the "
        "URL text only (no page content, no reputation data): use them as one signal for "
        "warning users and triage, not as the only defence.",
        "",
        "## Models",
        "",
        *_table(
            [
                "model",
                "family",
                "version",
                "created",
                "threshold",
                "fitted on",
                "training data sha256",
            ],
            [
                [
                    name,
                    m["family"],
                    m["version"],
                    m["created"],
                    f"{m['threshold']:.4f}",
                    _fitted_on(m),
                    f"`{m['training_data_sha256'][:16]}…`",
                ]
                for name, m in ((n, manifests[n]) for n in names)
            ],
        ),
        "",
        "## Training data",
        "",
        f"Sources (params.yaml `data.sources`): {', '.join(data_sources)}. URLs are normalized, "
        "de-duplicated and split by registered domain (eTLD+1) into train, validation and test, "
        "so no site is in two splits. Early stopping, thresholds and the ensemble's stacker "
        "are chosen on the validation split for a model fitted on the training split; where "
        "the table above says train + val, the model was then refitted on both splits with "
        "those choices. The metrics below are on the test split only.",
        "",
        "## Test metrics",
        "",
        *_table(
            ["model", *(title for _, title in _TEST_COLUMNS), "URLs"],
            [
                [
                    name,
                    *(_decimal(metrics[name][key]) for key, _ in _TEST_COLUMNS),
                    metrics[name]["n"],
                ]
                for name in names
            ],
        ),
        "",
        "## Release gate",
        "",
        *(f"- {line.strip()}" for line in gate.report().splitlines()),
        "",
    ]
    external = [
        [name, source, m["n"], _decimal(m["f1"]), _decimal(m["roc_auc"])]
        for name in names
        for source, m in sorted(metrics[name].get("external", {}).items())
    ]
    if external:
        lines += [
            "## Other data",
            "",
            "The same models on labelled data from other sources, never trained on:",
            "",
            *_table(["model", "data", "URLs", "F1", "ROC AUC"], external),
            "",
        ]
    lines += [
        *_rebuilding(manifests),
        "## Limitations",
        "",
        "- The URL scheme (http/https) is hidden from the models on purpose: in the public "
        "corpora it is an artefact of how they were collected, not a phishing signal.",
        "- Phishing changes quickly and public corpora age: expect lower quality on new traffic "
        "than on the test split, and on other sources (see above when measured). "
        "model-service exports input drift as `phishline_model_input_drift_psi`.",
        "",
        "## Loading",
        "",
        "Point `PHISHLINE_MODEL_URL` at this archive's download URL: model-service downloads "
        "it, extracts the artifact directories and verifies each before serving.",
    ]
    return "\n".join(lines) + "\n"
