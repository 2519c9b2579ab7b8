"""CSRF tokens for the page's forms: an HMAC of the user's id.

The user id travels in an HttpOnly, SameSite=Lax cookie, so another site can neither read
it nor compute the token, and a form posted from elsewhere fails the check. No server-side
state: any replica holding the same secret accepts the token.
"""

from phishline_app.core.signing import Signer

PURPOSE = "csrf"


def token_for(signer: Signer, user_id: str) -> str:
    return signer.mac(PURPOSE, user_id.encode("utf-8"))


def is_valid(signer: Signer, user_id: str, token: str) -> bool:
    return signer.verify_mac(PURPOSE, user_id.encode("utf-8"), token)
