"""HMAC signatures for the values the app hands to the browser and must get back unchanged.

Each signature is bound to a purpose, so a token made for one use (a CSRF token) is never
accepted for another (a prediction ticket).
"""

import base64
import binascii
import hashlib
import hmac


class BadSignatureError(ValueError):
    """A token was not signed by this app for this purpose, or was altered."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadSignatureError("not base64url") from exc


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def mac(self, purpose: str, message: bytes) -> str:
        digest = hmac.new(self._key, purpose.encode("ascii") + b"\x00" + message, hashlib.sha256)
        return _b64encode(digest.digest())

    def verify_mac(self, purpose: str, message: bytes, signature: str) -> bool:
        # As bytes: compare_digest refuses str with non-ASCII characters, which users can send.
        expected = self.mac(purpose, message).encode("ascii")
        return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))

    def sign(self, purpose: str, payload: bytes) -> str:
        """`payload.signature`, both base64url: readable by the holder, not forgeable."""
        return f"{_b64encode(payload)}.{self.mac(purpose, payload)}"

    def unsign(self, purpose: str, token: str) -> bytes:
        encoded, dot, signature = token.partition(".")
        if not dot:
            raise BadSignatureError("no signature")
        payload = _b64decode(encoded)
        if not self.verify_mac(purpose, payload, signature):
            raise BadSignatureError("signature mismatch")
        return payload
