"""URL normalization shared by training and serving.

The scheme is parsed and then dropped from the model's view on purpose: in public corpora
`https` and even the presence of a scheme are collection artefacts (far more legitimate than
phishing URLs use https there; `phishline report scheme` prints the shares) that do not
transfer to live traffic.

Path and port are normalized as RFC 3986 section 6 says (percent-encoded unreserved
characters decoded, dot segments removed, an empty path read as `/`, the scheme's default port
dropped): URLs that name one resource in these ways read alike, so no verdict can turn on
them (lib_ml.mutants has the rewrites). A directory's trailing slash and the order of query
parameters are kept: servers treat them alike too, but they carry signal (docs/training.md).
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import idna
import tldextract

MAX_URL_LENGTH = 8192
_SCHEME_NAME = r"[a-zA-Z][a-zA-Z0-9+.-]{0,15}"
_SCHEME = re.compile(rf"^({_SCHEME_NAME}):(//)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
DEFAULT_PORTS = {"": "80", "http": "80", "https": "443"}  # no scheme: read as http
_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
# What surrounds a pasted link without being part of it: Unicode white space (what
# `str.strip()` removes) and the invisible format characters that copying from web pages and
# chat apps leaves behind.
_AROUND_URL = "".join(chr(code) for code in range(0x3001) if chr(code).isspace()) + (
    "\u200b\u200c\u200d"  # zero-width space, non-joiner and joiner
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi controls
    "\u2060\ufeff"  # word joiner, byte order mark
)
# Links that name no web resource, so no host to judge ("javascript:", "mailto:", ...).
NON_WEB_SCHEMES = frozenset(
    {"about", "blob", "data", "javascript", "mailto", "sms", "tel", "vbscript"}
)
# "name:8080/..." is a host and its port, even when the host is named like a scheme.
_PORT = re.compile(r"[0-9]*(?:[/?#]|$)")
# What no domain can contain, so browsers refuse it (the WHATWG URL standard's forbidden
# domain code points): "hello world" or "http://%zz" is not a link to judge. The delimiters
# among them (# / : ? @ [ ]) reach a host only percent-encoded (`a%2Fb.com`), since the
# parser splits at them; they are checked after the host is decoded.
_NOT_IN_DOMAINS = re.compile(r"[\x00-\x20\x7f#%/:<>?@\[\\\]^|]")


class InvalidUrlError(ValueError):
    """The input cannot be read as a web URL (empty, control characters, bad host, too long,
    a link of a scheme such as `mailto:` that names no web resource)."""


class NormalizedUrl(NamedTuple):
    """A URL split into the parts the features use; `text` is what the model reads. A named
    tuple rather than a frozen dataclass: as immutable, and built in half the time."""

    scheme: str
    host: str
    port: str
    path: str
    query: str
    fragment: str
    userinfo: str

    @property
    def text(self) -> str:
        """host[:port]/path?query#fragment, scheme-free (see the module docstring)."""
        out = self.host
        if self.userinfo:
            out = f"{self.userinfo}@{out}"
        return out + self.after_host

    @property
    def after_host(self) -> str:
        """[:port]/path?query#fragment: what follows the host in `text`."""
        out = f":{self.port}{self.path}" if self.port else self.path
        if self.query:
            out = f"{out}?{self.query}"
        if self.fragment:
            out = f"{out}#{self.fragment}"
        return out


# The full stops IDNA separates labels at (RFC 3490, 3.1): "a.com\u3002" is "a.com.".
_FULL_STOPS = ".\u3002\uff0e\uff61"
_LABEL_SEPARATOR = re.compile(f"[{_FULL_STOPS}]")


def _a_label(label: str) -> str:
    """A label of a mapped host as DNS holds it: "xn--" and its punycode unless ASCII; raises
    IDNAError for a label browsers refuse (UTS 46 validity: no leading combining mark, the
    bidi rule, joiners only where a script needs them) or longer than 63 characters."""
    if label.isascii():
        return label
    idna.check_initial_combiner(label)
    idna.check_bidi(label)
    for position, character in enumerate(label):
        if character in "\u200c\u200d" and not idna.valid_contextj(label, position):
            raise idna.IDNAError(f"a joiner out of place at {position} of {label!r}")
    encoded = "xn--" + label.encode("punycode").decode("ascii")
    if len(encoded) > 63:
        raise idna.IDNAError(f"the label {label!r} is longer than 63 characters once encoded")
    return encoded


def _idna_host(host: str) -> str:
    """The host lowercased and, unless ASCII, mapped and encoded as browsers do (UTS 46
    nontransitional, IDNA 2008): "faß.de" is xn--fa-hia.de, where IDNA 2003, Python's "idna"
    codec, read it as fass.de, another domain."""
    host = host.strip(_FULL_STOPS).lower()
    if not host:
        raise InvalidUrlError("the URL has no host")
    if host.isascii():
        return host
    try:
        # Label by label: the idna package maps at most 1,024 characters at once.
        mapped = ".".join(
            label if label.isascii() else idna.uts46_remap(label, std3_rules=False)
            for label in _LABEL_SEPARATOR.split(host)
        )
        encoded = ".".join(map(_a_label, mapped.split(".")))
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidUrlError(f"the host {host!r} is not a valid internationalized name") from exc
    # A label of characters the mapping ignores (a soft hyphen) alone is left empty.
    encoded = encoded.strip(".")
    if not encoded:
        raise InvalidUrlError("the URL has no host")
    return encoded


# A host whose last label is a number is an IPv4 address as browsers read one (WHATWG URL
# standard): up to four numbers, each decimal, octal (a leading 0) or hexadecimal (0x), the
# last filling the bytes the others leave; "3232235777", "0xc0a80101", "0300.0250.1.1" and
# "192.168.257" are all 192.168.1.1.
_LAST_LABEL_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
_IPV4_NUMBER = re.compile(r"0x([0-9a-f]*)|(0[0-7]*)|([1-9][0-9]{0,9})")


def _ipv4_address(host: str) -> str:
    """The dotted-decimal form of a host that ends in a number, or InvalidUrlError if it is no
    IPv4 address (browsers refuse such a host)."""
    parts = host.split(".")
    numbers = []
    for part in parts[:4]:
        match = _IPV4_NUMBER.fullmatch(part)
        if match is None:
            break
        hexadecimal, octal, decimal = match.groups()
        if hexadecimal is not None:
            numbers.append(int(hexadecimal or "0", 16))
        else:
            numbers.append(int(octal, 8) if octal is not None else int(decimal))
    if (
        len(numbers) != len(parts)  # more than four parts, or one that is no number
        or max(numbers[:-1], default=0) > 255
        or numbers[-1] >= 256 ** (5 - len(parts))
    ):
        raise InvalidUrlError(
            f"the host {host!r} is not a web address: it ends in a number but is no IPv4 address"
        )
    address = numbers[-1] + sum(n << 8 * (3 - i) for i, n in enumerate(numbers[:-1]))
    return ".".join(str(address >> shift & 255) for shift in (24, 16, 8, 0))


def _web_host(hostname: str) -> str:
    """The host as a browser reads it: percent-escapes decoded (`%70aypal.com` is
    `paypal.com`), lowercased and IDNA-encoded, then refused if no domain can hold it; one
    that ends in a number is an IPv4 address, in dotted decimal. IPv6 literals (the only hosts
    with a colon) are kept as they are."""
    if ":" in hostname:
        return hostname
    host = _idna_host(unquote(hostname) if "%" in hostname else hostname)
    forbidden = _NOT_IN_DOMAINS.search(host)
    if forbidden:
        character = "a space" if forbidden.group() == " " else repr(forbidden.group())
        raise InvalidUrlError(f"the host {host!r} is not a web address: it contains {character}")
    last_label = host.rpartition(".")[2]
    if last_label[:1].isdigit() and _LAST_LABEL_NUMBER.fullmatch(last_label):
        return _ipv4_address(host)
    return host


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in UNRESERVED else match.group(0)


def decode_unreserved(path: str) -> str:
    """The percent-encoded unreserved characters decoded (RFC 3986, 6.2.2.2); other
    escapes stay as written."""
    return _ESCAPE.sub(_decode_unreserved, path) if "%" in path else path


def remove_dot_segments(path: str) -> str:
    """RFC 3986, 5.2.4, for a path that starts with `/`: `.` segments dropped, each `..`
    dropping the segment before it; one that ends the path leaves a directory (`/a/b/..` is
    `/a/`)."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")
    return "/" + "/".join(kept)


def canonical_path(path: str) -> str:
    """A path (empty or starting with `/`) as RFC 3986 normalizes it for http: unreserved
    characters decoded, then dot segments removed; the empty path is `/` (6.2.3)."""
    path = decode_unreserved(path)
    if "/." in path:
        path = remove_dot_segments(path)
    return path or "/"


# A scheme and the slashes after it, then the host part and the backslash that may end it.
_THROUGH_HOST = re.compile(rf"^(?:{_SCHEME_NAME}:)?[/\\]*[^/\\?#]*\\?")


def backslashes_as_slashes(url: str) -> str:
    """The URL with each backslash up to the end of its host part read as a slash, as browsers
    read http(s) URLs (WHATWG URL standard): `http://evil.tk\\@paypal.com/` is a page of
    evil.tk, not of paypal.com, and `http:\\\\a.com\\x` is `http://a.com/x`. Backslashes
    in the path, which browsers read as slashes too, are kept as written: reading them so
    changes URLs of the training corpus, so it waits for a retraining."""
    return _THROUGH_HOST.sub(lambda part: part.group().replace("\\", "/"), url, count=1)


def trim_url(raw: str) -> str:
    """The URL without the white space and invisible characters around it."""
    return raw.strip(_AROUND_URL)


def normalize_url(raw: str) -> NormalizedUrl:
    """Trim, parse with or without a scheme, lowercase and IDNA-encode the host, normalize
    the path and drop the default port (see the module docstring).

    Raises InvalidUrlError for input that is not a URL; never returns an empty text.
    """
    if not isinstance(raw, str):
        raise InvalidUrlError(f"a URL must be a string, not {type(raw).__name__}")
    url = trim_url(raw)
    if not url:
        raise InvalidUrlError("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrlError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url):
        raise InvalidUrlError("the URL contains control characters")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: not text any featurizer can read
        raise InvalidUrlError("the URL is not valid Unicode") from exc
    if "\\" in url:
        url = backslashes_as_slashes(url)
    match = _SCHEME.match(url)
    named = match.group(1).lower() if match else ""
    if match and named in NON_WEB_SCHEMES and (match.group(2) or not _PORT.match(url, match.end())):
        raise InvalidUrlError(f"the URL is a {named}: link, not a web address")
    # "host:8080/path" parses as scheme "host"; only a known scheme shape with "//" counts.
    if match and match.group(2):
        scheme, rest = named, url[match.end() :]
    else:
        scheme, rest = "", url
    try:
        netloc, path, query, fragment, hostname, port = split_network_location(rest)
    except ValueError as exc:
        raise InvalidUrlError(f"the URL cannot be parsed: {exc}") from exc
    port_text = "" if port is None else str(port)
    host = _web_host(hostname)
    normalized = NormalizedUrl(
        scheme=scheme,
        host=host,
        port="" if port_text == DEFAULT_PORTS.get(scheme) else port_text,
        path=canonical_path(path),
        query=query,
        fragment=fragment,
        userinfo=netloc.rpartition("@")[0],
    )
    # An IDNA-encoded host can be longer than the host as written, with no bound on how many
    # times a character then occurs; the featurizer's entropy counts on at most MAX_URL_LENGTH.
    # (Otherwise the text only loses characters, or gains the "/" of an empty path.)
    if len(host) > len(hostname) and len(normalized.text) > MAX_URL_LENGTH:
        raise InvalidUrlError(
            f"the URL is longer than {MAX_URL_LENGTH} characters once its host is IDNA-encoded"
        )
    return normalized


def split_network_location(rest: str) -> tuple[str, str, str, str, str, int | None]:
    """What `urlsplit("//" + rest)` makes of a scheme-free URL without control characters:
    netloc, path, query, fragment, hostname ("" for none) and port; raises ValueError as it
    does. A network location of ASCII characters and no brackets (no IPv6 literal), nearly
    every URL, needs none of urlsplit's checks and is split here directly, a few times faster
    (the same string operations as urlsplit and its `hostname` and `port`); the rest go
    through urlsplit."""
    end = len(rest)
    for delimiter in "/?#":
        found = rest.find(delimiter, 0, end)
        if found >= 0:
            end = found
    netloc = rest[:end]
    if not netloc.isascii() or "[" in netloc or "]" in netloc:
        parts = urlsplit("//" + rest)
        return (
            parts.netloc, parts.path, parts.query, parts.fragment, parts.hostname or "", parts.port
        )  # fmt: skip
    path, query, fragment = rest[end:], "", ""
    if "#" in path:
        path, fragment = path.split("#", 1)
    if "?" in path:
        path, query = path.split("?", 1)
    hostname, _, port_text = netloc.rpartition("@")[2].partition(":")
    if hostname:  # as urlsplit's `hostname`: the part before a zone "%..." lowercased
        name, percent, zone = hostname.partition("%")
        hostname = name.lower() + percent + zone
    if not port_text:
        return netloc, path, query, fragment, hostname, None
    if not (port_text.isdigit() and port_text.isascii()):
        raise ValueError(f"Port could not be cast to integer value as {port_text!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError("Port out of range 0-65535")
    return netloc, path, query, fragment, hostname, port


@dataclass(frozen=True, slots=True)
class HostParts:
    subdomain: str
    domain: str
    suffix: str

    @property
    def registered_domain(self) -> str:
        """eTLD+1 (e.g. `bbc.co.uk`); the bare host for IPs and single labels."""
        return f"{self.domain}.{self.suffix}" if self.suffix else self.domain


@lru_cache(maxsize=65536)
def split_host(host: str) -> HostParts:
    """Split a normalized host by the public suffix list (bundled snapshot, never online)."""
    if ":" in host:  # an IPv6 literal, whose first group the extractor would take for a host
        return HostParts("", host, "")
    parts = _EXTRACTOR(host)
    if not parts.domain:  # hosts the suffix list cannot split
        return HostParts("", host, "")
    return HostParts(parts.subdomain, parts.domain, parts.suffix)


def registered_domain(raw: str) -> str:
    """eTLD+1 of a raw URL, the unit of the leak-free split."""
    return split_host(normalize_url(raw).host).registered_domain
