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


# Bidirectional formatting characters, which RFC 3987 keeps out of IRIs: rendered, they
# reorder the text after them, so that `invoice<U+202E>fdp.exe` reads as "invoiceexe.pdf".
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def visible_bidi_controls(text: str) -> str:
    """`text` with each bidirectional formatting character as its code point (`[U+202E]`):
    the page shows the link in the order it was typed, not the order it pretends."""
    return "".join(f"[U+{ord(char):04X}]" if char in BIDI_CONTROLS else char for char in text)


# Decimals that a probability just below the threshold may need to read as below it.
MAX_PERCENT_DECIMALS = 4


def percent_text(probability: float, decimals: int = 0) -> str:
    """`97 %`; never rounds a doubt away: 0.999 is `> 99 %`, 0.001 is `< 1 %`."""
    if decimals:
        return f"{probability * 100:.{decimals}f} %"
    rounded = round(probability * 100)
    if rounded >= 100 and probability < 1.0:
        return "> 99 %"
    if rounded <= 0 < probability:
        return "< 1 %"
    return f"{rounded} %"


def percents_beside_threshold(probability: float, threshold: float) -> tuple[str, str]:
    """The probability and the threshold ("phishing from …") as shown together.

    Whole percentages, unless the probability is below the threshold but rounds to the same
    text (49.6 % and 50 %: "50 %" beside "phishing from 50 %" reads as phishing while the
    model said legitimate): then as many decimals as tell them apart.
    """
    for decimals in range(MAX_PERCENT_DECIMALS + 1):
        shown, cut = percent_text(probability, decimals), percent_text(threshold, decimals)
        if probability >= threshold or shown != cut:
            break
    return shown, cut


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
    """The result for `url` as the user typed it, bidirectional formatting shown."""
    # The verdict is model-service's label (decided at the model's own threshold), never a
    # re-derivation from the probability: the page must agree with the service.
    return ResultView(
        url=visible_bidi_controls(url),
        label=prediction.label,
        verdict=VERDICTS[prediction.label],
        probability=prediction.probability,
        percent=percent_text(prediction.probability),
        model=prediction.model,
        model_version=prediction.model_version,
        features=top_features(prediction.explanation),
    )
