"""How far a set of commits moves the version, from the markers in their messages."""

import re
from collections.abc import Iterable
from enum import IntEnum


class Bump(IntEnum):
    """Ordered by size: when several apply, the largest wins."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    def __str__(self) -> str:
        return self.name.lower()


# A marker is a whole word: `#minor` counts, `#minority`, `x#minor` and issue refs `#12` do not.
# Case is ignored in ASCII only: Unicode case folding reads `#MİNOR` (dotted İ) as a marker
# that no Bump member is named after.
_MARKER = re.compile(r"(?<![\w#])#((?ai:major|minor|patch|none))\b")


def message_bump(message: str) -> Bump:
    """The largest marker in one message; a message without any marker is a patch."""
    markers = [Bump[found.upper()] for found in _MARKER.findall(message)]
    return max(markers, default=Bump.PATCH)


def release_bump(messages: Iterable[str]) -> Bump:
    """The largest bump over all messages; no messages at all means nothing to release."""
    return max((message_bump(message) for message in messages), default=Bump.NONE)
