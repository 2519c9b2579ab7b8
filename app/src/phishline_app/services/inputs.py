"""Checks on what users type, shared by the page and the JSON API."""

import re
import unicodedata

# Control characters (C0, DEL, C1) and Unicode line/paragraph separators: never part of a
# URL, and line breaks to some readers of the exported `label<TAB>url` lines.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
# Model names as model-service uses them (artifact directory names).
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# The error code of a model name that is not one, the app's and model-service's alike.
UNKNOWN_MODEL = "unknown_model"


class InvalidInputError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_url(raw: str, max_length: int) -> str:
    """The URL without surrounding blanks; refuses empty, overlong and control characters.

    Control characters (line breaks, tabs) are refused because feedback is exported one
    `label<TAB>url` per line.
    """
    url = raw.strip()
    if not url:
        raise InvalidInputError("invalid_url", "Enter a URL to check.")
    if len(url) > max_length:
        raise InvalidInputError("url_too_long", f"The URL is longer than {max_length} characters.")
    if any(unicodedata.category(char) in FORBIDDEN_CATEGORIES for char in url):
        raise InvalidInputError("invalid_url", "The URL contains control characters.")
    return url


def clean_model(raw: str | None) -> str | None:
    """A model name, or None (model-service's default) when none was chosen."""
    name = (raw or "").strip()
    if not name:
        return None
    if not MODEL_NAME.fullmatch(name):
        raise InvalidInputError(UNKNOWN_MODEL, "The model name is not valid.")
    return name
