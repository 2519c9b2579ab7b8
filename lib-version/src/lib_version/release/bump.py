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


# `git revert` and GitHub's Revert button quote the reverted subject, marker included:
# `Revert "drop the v1 API #major"`. That marker is the reverted commit's: counted, a rollback
# would release a major version. The quote is left out, on any line (a squash message lists
# the commits as `* ` items); a revert of a revert (`Revert "Revert "…""`) applies the change
# again, and its markers count.
_REVERTED = re.compile(r'^(?P<lead>[ \t]*(?:\*[ \t]+)?)(?P<reverts>(?:Revert ")+).*"', re.M)
_REVERT = 'Revert "'


def _own_text(message: str) -> str:
    """The message without the subjects it quotes from the commits it reverts."""

    def unquote(match: re.Match[str]) -> str:
        reverts = len(match["reverts"]) // len(_REVERT)
        return match["lead"] if reverts % 2 else match[0]

    return _REVERTED.sub(unquote, message)


def message_bump(message: str) -> Bump:
    """The largest marker in one message; a message without any marker is a patch. A
    revert's quote of the reverted subject carries no marker of this message."""
    markers = [Bump[found.upper()] for found in _MARKER.findall(_own_text(message))]
    return max(markers, default=Bump.PATCH)


def release_bump(messages: Iterable[str]) -> Bump:
    """The largest bump over all messages; no messages at all means nothing to release."""
    return max((message_bump(message) for message in messages), default=Bump.NONE)
