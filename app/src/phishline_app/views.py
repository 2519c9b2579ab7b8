"""What a prediction looks like to a person: verdict, percentage, and the reasons."""

from dataclasses import dataclass

from phishline_app.services.model_client import Contribution, Prediction

TOP_FEATURES = 5
KIND_NAMES = {"ngram": "text fragment", "lexical": "URL property"}
VERDICTS = {"phishing": "Phishing", "legitimate": "Looks legitimate"}


@dataclass(frozen=True)
class FeatureView:
    feature: str
    description: str  # in words, for people; the feature's name when the service gave none
    kind: str
    towards_phishing: bool
    weight: float


@dataclass(frozen=True)
class ResultView:
    url: str
    label: str
    verdict: str
    probability: float
    percent: str
    model: str
    model_version: str
    features: tuple[FeatureView, ...]

    @property
    def is_phishing(self) -> bool:
        return self.label == "phishing"


def percent_text(probability: float) -> str:
    """`97 %`; never rounds a doubt away: 0.999 is `> 99 %`, 0.001 is `< 1 %`."""
    rounded = round(probability * 100)
    if rounded >= 100 and probability < 1.0:
        return "> 99 %"
    if rounded <= 0 < probability:
        return "< 1 %"
    return f"{rounded} %"


def top_features(explanation: tuple[Contribution, ...]) -> tuple[FeatureView, ...]:
    strongest = sorted(explanation, key=lambda item: abs(item.weight), reverse=True)
    return tuple(
        FeatureView(
            feature=item.feature,
            description=item.description or item.feature,
            kind=KIND_NAMES.get(item.kind, item.kind),
            towards_phishing=item.weight > 0,
            weight=item.weight,
        )
        for item in strongest[:TOP_FEATURES]
        if item.weight != 0
    )


def result_view(url: str, prediction: Prediction) -> ResultView:
    """The result for `url` as the user typed it."""
    # The verdict is model-service's label (decided at the model's own threshold), never a
    # re-derivation from the probability: the page must agree with the service.
    return ResultView(
        url=url,
        label=prediction.label,
        verdict=VERDICTS[prediction.label],
        probability=prediction.probability,
        percent=percent_text(prediction.probability),
        model=prediction.model,
        model_version=prediction.model_version,
        features=top_features(prediction.explanation),
    )
