"""Experiment identity: the anonymous `phishline-user` cookie and the `phishline-variant` one.

The user id is random and means nothing outside this app; the variant cookie names the
variant that served the user, which the mesh routing matches to keep users on it.
"""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

USER_COOKIE = "phishline-user"
VARIANT_COOKIE = "phishline-variant"
USER_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers honour
VALID_USER_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Probes, scrapes and assets are not users: they neither get nor count as one.
ANONYMOUS_PATHS = ("/health/", "/metrics", "/static/")
STATE_KEY = "phishline_user"


@dataclass(frozen=True)
class UserIdentity:
    user_id: str
    is_new: bool


def new_user_id() -> str:
    return secrets.token_urlsafe(18)


def current_user(connection: HTTPConnection) -> UserIdentity:
    """The identity the middleware attached to this request."""
    identity: UserIdentity = connection.scope["state"][STATE_KEY]
    return identity


def _cookie(name: str, value: str, max_age: int, secure: bool) -> str:
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    morsel["path"] = "/"
    morsel["max-age"] = max_age
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    morsel["secure"] = secure
    return morsel.OutputString()


class IdentityMiddleware:
    """Reads or assigns the user id and (re)sends both cookies with every answer."""

    def __init__(
        self, app: ASGIApp, variant: str, secure: bool, on_new_user: Callable[[], None]
    ) -> None:
        self.app = app
        self.variant = variant
        self.secure = secure
        self.on_new_user = on_new_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ANONYMOUS_PATHS):
            await self.app(scope, receive, send)
            return
        known = HTTPConnection(scope).cookies.get(USER_COOKIE, "")
        if VALID_USER_ID.fullmatch(known):
            identity = UserIdentity(known, is_new=False)
        else:
            identity = UserIdentity(new_user_id(), is_new=True)
            self.on_new_user()
        scope.setdefault("state", {})[STATE_KEY] = identity
        cookies = (
            _cookie(USER_COOKIE, identity.user_id, USER_COOKIE_MAX_AGE, self.secure),
            _cookie(VARIANT_COOKIE, self.variant, USER_COOKIE_MAX_AGE, self.secure),
        )

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for cookie in cookies:
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookies)
