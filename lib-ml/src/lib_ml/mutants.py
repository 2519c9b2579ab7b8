"""Semantics-preserving URL rewrites (mutants) and the mutant set of a URL.

Each rewrite maps a URL to one that names the same resource: the equivalences of RFC 3986
section 6 (case of scheme and host, default port, percent-encoded unreserved characters, dot
segments, empty path) plus the two that web servers treat alike (trailing slash of a
directory, order of query parameters). Each rewrite undoes itself on the URLs it produces, so
the mutant set of a URL (its closure under the rewrites) is the same set from any of its
members: metamorphic tests use single rewrites as follow-up inputs, and the repair option of
`Predictor` averages over the mutant set, which makes its output invariant to the rewrites.
`normalize_url` reads the RFC 3986 equivalences alike, so only the two server conventions can
change a verdict; the tests keep all six rewrites, so a normalization that stops doing so is
caught.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from lib_ml.urls import (
    DEFAULT_PORTS,
    InvalidUrlError,
    NormalizedUrl,
    decode_unreserved,
    normalize_url,
    trim_url,
)

# Normalized, the closure of a URL differs only in its trailing slashes and query order, a few
# distinct URLs; the cap only guards against pathological inputs.
MAX_MUTANT_SET = 64
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]{0,15})://")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True, slots=True)
class UrlParts:
    """A raw URL cut into its parts as written (nothing normalized), so that joining them
    gives the URL back exactly; `None` marks an absent `?` or `#`."""

    scheme: str
    netloc: str
    path: str
    query: str | None
    fragment: str | None

    @classmethod
    def parse(cls, url: str) -> "UrlParts":
        url = trim_url(url)
        match = _SCHEME.match(url)
        scheme, rest = (match.group(1), url[match.end() :]) if match else ("", url)
        rest, hash_sign, fragment = rest.partition("#")
        rest, question_mark, query = rest.partition("?")
        # A backslash ends the network location too, as normalize_url reads it.
        slash = min((rest.find(c) for c in "/\\" if c in rest), default=-1)
        netloc, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
        return cls(
            scheme, netloc, path, query if question_mark else None, fragment if hash_sign else None
        )

    def join(self) -> str:
        out = f"{self.scheme}://" if self.scheme else ""
        out += self.netloc + self.path
        if self.query is not None:
            out += f"?{self.query}"
        if self.fragment is not None:
            out += f"#{self.fragment}"
        return out

    def host_and_port(self) -> tuple[str, str, str | None]:
        """(userinfo with its `@`, host, port or None); IPv6 literals keep their brackets."""
        userinfo, at_sign, hostport = self.netloc.rpartition("@")
        colon = hostport.rfind(":")
        if colon > hostport.rfind("]"):
            return userinfo + at_sign, hostport[:colon], hostport[colon + 1 :]
        return userinfo + at_sign, hostport, None

    def with_host_and_port(self, host: str, port: str | None) -> "UrlParts":
        userinfo = self.host_and_port()[0]
        return replace(self, netloc=userinfo + host + ("" if port is None else f":{port}"))


def toggle_trailing_slash(parts: UrlParts) -> UrlParts:
    """An empty path becomes `/` and back; a directory path (no dot in its last segment)
    gains a trailing slash, and one that has it loses it."""
    path = parts.path
    if path in ("", "/"):
        return replace(parts, path="/" if not path else "")
    if path.endswith("/"):
        return replace(parts, path=path[:-1])
    if "." not in path.rsplit("/", 1)[-1]:
        return replace(parts, path=f"{path}/")
    return parts


def toggle_scheme_host_case(parts: UrlParts) -> UrlParts:
    """Scheme and host in upper case, or back in lower case when they already are (ASCII
    hosts only: case mapping of other scripts is not reversible)."""
    _, host, port = parts.host_and_port()
    if not host.isascii():
        return parts
    text = parts.scheme + host
    change = str.lower if text == text.upper() else str.upper
    return replace(parts.with_host_and_port(change(host), port), scheme=change(parts.scheme))


def toggle_default_port(parts: UrlParts) -> UrlParts:
    """Write the scheme's default port (80, or 443 for https), or drop it when written."""
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    _, host, port = parts.host_and_port()
    if default is None or not host:
        return parts
    if port is None:
        return parts.with_host_and_port(host, default)
    return parts.with_host_and_port(host, None) if port == default else parts


def reverse_query(parts: UrlParts) -> UrlParts:
    """The query parameters in reverse order (each `name=value` pair kept whole)."""
    if parts.query is None:
        return parts
    return replace(parts, query="&".join(reversed(parts.query.split("&"))))


def toggle_percent_encoding(parts: UrlParts) -> UrlParts:
    """Decode the percent-encoded unreserved characters of the path; a path without any gets
    its first letter or digit percent-encoded instead."""
    decoded = decode_unreserved(parts.path)
    if decoded != parts.path:
        return replace(parts, path=decoded)
    match = _ALPHANUMERIC.search(parts.path)
    if match is None:
        return parts
    at = match.start()
    encoded = f"{parts.path[:at]}%{ord(parts.path[at]):02X}{parts.path[at + 1 :]}"
    return replace(parts, path=encoded)


def toggle_dot_segment(parts: UrlParts) -> UrlParts:
    """Prefix the path with the `/.` dot segment, or remove that prefix."""
    if parts.path.startswith("/./"):
        return replace(parts, path=parts.path[2:])
    return replace(parts, path=f"/.{parts.path or '/'}")


PART_REWRITES: dict[str, Callable[[UrlParts], UrlParts]] = {
    "trailing_slash": toggle_trailing_slash,
    "scheme_host_case": toggle_scheme_host_case,
    "default_port": toggle_default_port,
    "query_order": reverse_query,
    "percent_encoding": toggle_percent_encoding,
    "dot_segment": toggle_dot_segment,
}


def _on_url(rewrite: Callable[[UrlParts], UrlParts]) -> Callable[[str], str]:
    def on_url(url: str) -> str:
        return rewrite(UrlParts.parse(url)).join()

    return on_url


# The rewrites on URL strings, by name.
REWRITES: dict[str, Callable[[str], str]] = {
    name: _on_url(rewrite) for name, rewrite in PART_REWRITES.items()
}


def follow_ups(url: str) -> dict[str, str]:
    """One mutant per rewrite that changes `url`, by rewrite name."""
    mutants = {name: rewrite(url) for name, rewrite in REWRITES.items()}
    return {name: mutant for name, mutant in mutants.items() if mutant != trim_url(url)}


def mutant_set(url: str) -> list[NormalizedUrl]:
    """The distinct normalized URLs reachable from `url` by the rewrites, `url`'s own first.

    Raises InvalidUrlError when `url` itself is not a URL; mutants that do not normalize are
    left out. Two mutants that normalize alike (e.g. differing in host case) count once.
    """
    found = {normalize_url(url): None}  # a dict keeps the insertion order of a set
    frontier = [UrlParts.parse(url)]
    while frontier and len(found) < MAX_MUTANT_SET:
        reached = []
        for current in frontier:
            for rewrite in PART_REWRITES.values():
                mutant = rewrite(current)
                if mutant == current:
                    continue
                try:
                    normalized = normalize_url(mutant.join())
                except InvalidUrlError:
                    continue
                if normalized not in found and len(found) < MAX_MUTANT_SET:
                    found[normalized] = None
                    reached.append(mutant)
        frontier = reached
    return list(found)
