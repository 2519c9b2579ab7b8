"""phishline lib-ml: the one featurizer and model-artifact format of training and serving."""

from lib_ml.artifact import (
    Artifact,
    ArtifactError,
    TamperedArtifactError,
    find_artifacts,
    read_artifact,
    write_artifact,
)
from lib_ml.descriptions import describe_feature, explanation_items
from lib_ml.labels import LABEL_MAP, LABELS, LEGITIMATE, PHISHING, decode_label, encode_label
from lib_ml.predictor import BatchInputError, Prediction, Predictor
from lib_ml.scorers import Contribution
from lib_ml.urls import InvalidUrlError, NormalizedUrl, normalize_url, registered_domain

__all__ = [
    "LABELS",
    "LABEL_MAP",
    "LEGITIMATE",
    "PHISHING",
    "Artifact",
    "ArtifactError",
    "BatchInputError",
    "Contribution",
    "InvalidUrlError",
    "NormalizedUrl",
    "Prediction",
    "Predictor",
    "TamperedArtifactError",
    "decode_label",
    "describe_feature",
    "encode_label",
    "explanation_items",
    "find_artifacts",
    "normalize_url",
    "read_artifact",
    "registered_domain",
    "write_artifact",
]
