"""The label codec, defined once: legitimate = 0, phishing = 1."""

from typing import Final

LEGITIMATE: Final = "legitimate"
PHISHING: Final = "phishing"
LABELS: Final[tuple[str, str]] = (LEGITIMATE, PHISHING)
LABEL_MAP: Final[dict[str, int]] = {LEGITIMATE: 0, PHISHING: 1}


class UnknownLabelError(ValueError):
    """A label outside the label set."""


def encode_label(label: str) -> int:
    """`legitimate` -> 0, `phishing` -> 1 (case and surrounding space ignored)."""
    try:
        return LABEL_MAP[label.strip().lower()]
    except KeyError:
        raise UnknownLabelError(f"unknown label {label!r}; expected one of {LABELS}") from None


def decode_label(code: int) -> str:
    """0 -> `legitimate`, 1 -> `phishing`."""
    if code not in (0, 1):
        raise UnknownLabelError(f"unknown label code {code!r}; expected 0 or 1")
    return LABELS[code]
