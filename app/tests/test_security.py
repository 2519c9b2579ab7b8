"""Inert user input, security headers, CSRF on the forms, cookies, size limits."""

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import httpx
import pytest
from starlette.responses import Response

from phishline_app.core.config import Settings
from phishline_app.core.security import BodySizeLimitMiddleware
from phishline_app.main import create_app

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"
PAYLOADS = [
    "<script>alert(1)</script>",
    'http://x.test/"><img src=x onerror=alert(1)>',
    "http://x.test/'><svg/onload=alert(1)>",
    "javascript:alert(document.cookie)",
    "http://x.test/</textarea><iframe src=//evil.test>",
]


class Attributes(HTMLParser):
    """Every attribute of every start tag, values unescaped as a browser reads them, and the
    text of the element with id="checked-url"."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str, str]] = []  # (tag, element id, name, value)
        self.checked_url = ""
        self._checked_url_tag = ""  # set while inside the element
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element_id = dict(attrs).get("id") or ""
        self.found += [(tag, element_id, name, value or "") for name, value in attrs]
        if element_id == "checked-url":
            self._checked_url_tag = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._checked_url_tag:
            self._checked_url_tag = ""

    def handle_data(self, data: str) -> None:
        if self._checked_url_tag:
            self.checked_url += data


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_entered_url_is_rendered_as_inert_text(make_user, payload: str, variant: str) -> None:
    page = make_user(variant=variant).check(payload).text
    # The fake echoes the URL's start as a feature name too: both places must be inert.
    for dangerous in ("<script>", "<img", "<svg", "<iframe", "</textarea>", '"><'):
        assert dangerous not in page
    assert 'id="result"' in page
    assert "<script" not in page.lower()
    parsed = Attributes(page)
    assert parsed.checked_url == payload  # shown as text, exactly as entered
    # The only attribute that may hold the URL (or the fake's echo of its start) is the
    # field's value; no link, source or form target is built from it.
    holding = [
        (tag, element_id, name)
        for tag, element_id, name, value in parsed.found
        if payload[:24] in value or value.strip().lower().startswith("javascript:")
    ]
    assert holding == [("input", "url", "value")]


def test_escaped_url_round_trips_to_the_field_value(user) -> None:
    page = user.check('http://x.test/?q="quoted"&a=<b>').text
    assert 'value="http://x.test/?q=&#34;quoted&#34;&amp;a=&lt;b&gt;"' in page


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # falls back to 'none': no script at all
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_pages_and_api_carry_security_headers(client) -> None:
    for response in (client.get("/"), client.get("/api/models"), client.get("/nope")):
        assert_security_headers(response)
        assert "server" not in response.headers


def test_static_files_are_cacheable_and_still_protected(client) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "cache-control" not in response.headers


def test_page_loads_nothing_from_elsewhere_and_runs_no_script(user) -> None:
    page = user.check(PHISHING_URL).text
    assert "<script" not in page
    assert not re.search(r'(?:src|href)="(?!/static/|#)', page)
    assert not re.search(r"\son\w+=", page)
    assert "style=" not in page  # inline styles would break under the CSP


def test_check_without_csrf_token_is_refused(client, fake_service) -> None:
    client.get("/")
    response = client.post("/", data={"url": PHISHING_URL})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert fake_service.requests == []


def test_csrf_token_of_another_user_is_refused(make_client, user) -> None:
    victim_page = user.open()
    token = re.search(r'name="csrf_token" value="([^"]+)"', victim_page)
    assert token
    attacker = make_client()
    attacker.get("/")
    response = attacker.post("/", data={"url": PHISHING_URL, "csrf_token": token.group(1)})
    assert response.status_code == 403


def test_first_post_without_cookie_is_refused_then_works(client, fake_service) -> None:
    refused = client.post("/", data={"url": PHISHING_URL, "csrf_token": "x" * 43})
    assert refused.status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', refused.text)
    assert token  # the refusal page already holds a valid token for the new cookie
    retried = client.post("/", data={"url": PHISHING_URL, "csrf_token": token.group(1)})
    assert retried.status_code == 200


def test_feedback_without_valid_csrf_token_is_refused(user) -> None:
    result = user.check(PHISHING_URL).text
    forged = result.replace('name="csrf_token" value="', 'name="csrf_token" value="0', 1)
    # Both forms on the result page carry the token; the feedback form is the second.
    forged = forged.replace('name="csrf_token" value="', 'name="csrf_token" value="0')
    response = user.answer(forged, "yes")
    assert response.status_code == 403
    assert "This result has expired" in response.text  # nothing to submit again


def test_user_and_variant_cookies(make_client) -> None:
    client = make_client(variant="v2")
    response = client.get("/")
    cookies = response.headers.get_list("set-cookie")
    user_cookie = next(c for c in cookies if c.startswith("phishline-user="))
    variant_cookie = next(c for c in cookies if c.startswith("phishline-variant="))
    assert re.fullmatch(r"phishline-user=[A-Za-z0-9_-]{24}", user_cookie.split(";")[0])
    for cookie in (user_cookie, variant_cookie):
        lowered = cookie.lower()
        assert "httponly" in lowered
        assert "samesite=lax" in lowered
        assert "path=/" in lowered
        assert "max-age=34560000" in lowered
        assert "secure" not in lowered.replace("samesite", "")
    assert variant_cookie.split(";")[0] == "phishline-variant=v2"


def test_user_keeps_the_id_across_requests(client) -> None:
    client.get("/")
    first = client.cookies["phishline-user"]
    client.get("/")
    assert client.cookies["phishline-user"] == first


def test_malformed_user_cookie_is_replaced(client) -> None:
    client.cookies.set("phishline-user", "<bad>", domain="127.0.0.1")
    client.get("/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", client.cookies["phishline-user"])


def test_secure_cookies_when_configured(make_client) -> None:
    response = make_client(secure_cookies=True).get("/")
    attributes = {
        cookie.split(";")[0].split("=")[0]: [a.strip().lower() for a in cookie.split(";")[1:]]
        for cookie in response.headers.get_list("set-cookie")
    }
    assert sorted(attributes) == ["phishline-user", "phishline-variant"]
    for name, flags in attributes.items():
        assert "secure" in flags, name


def test_probes_and_metrics_get_no_cookies(client) -> None:
    for path in ("/health/live", "/health/ready", "/metrics", "/static/style.css"):
        assert "set-cookie" not in client.get(path).headers


def test_body_over_the_limit_is_refused_by_content_length(make_client) -> None:
    client = make_client(max_url_length=64, max_body_bytes=2048)
    response = client.post("/api/predict", json={"url": "http://x.test/" + "a" * 4096})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_streamed_body_over_the_limit_is_refused(make_client) -> None:
    client = make_client(max_url_length=64, max_body_bytes=2048)

    def chunks():
        for _ in range(8):
            yield b"a" * 512

    response = client.post(
        "/api/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def padded_body(size: int) -> bytes:
    """A prediction request of exactly `size` bytes (JSON allows blanks before the brace)."""
    body = b'{"url": "http://paypal.test/"}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
def test_a_body_of_exactly_the_limit_is_served_and_one_byte_more_is_not(
    make_client, streamed: bool
) -> None:
    client = make_client(max_url_length=64, max_body_bytes=2048)

    def post(body: bytes) -> httpx.Response:
        content = iter([body[:1000], body[1000:]]) if streamed else body
        return client.post(
            "/api/predict", content=content, headers={"content-type": "application/json"}
        )

    served = post(padded_body(2048))
    assert served.status_code == 200, served.text
    assert served.json()["label"] == "phishing"
    assert post(padded_body(2049)).status_code == 413


def test_streamed_body_within_the_limit_is_served(client) -> None:
    def chunks():
        yield b'{"url": "http://paypal.test/",'
        yield b' "model": null}'

    response = client.post(
        "/api/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["label"] == "phishing"


def test_unexpected_errors_are_json_500s(fake_service_session, database_url, serve_asgi) -> None:
    app = create_app(
        Settings(model_service_url=fake_service_session[1].url, database_url=database_url)
    )

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/broken", broken)
    response = httpx.get(f"{serve_asgi(app).url}/api/broken", headers={"x-request-id": "bug-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "bug-1"
    assert_security_headers(response)
    assert response.json() == {
        "error": {
            "code": "internal",
            "message": "internal error; the logs name it by the request id bug-1",
        }
    }


def test_unexpected_errors_of_a_page_are_an_error_page_with_the_request_id(
    fake_service_session, database_url, serve_asgi
) -> None:
    app = create_app(
        Settings(model_service_url=fake_service_session[1].url, database_url=database_url)
    )

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    response = httpx.get(
        f"{serve_asgi(app).url}/broken", headers={"x-request-id": "bug-2", "accept": "text/html"}
    )
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "bug-2"
    assert_security_headers(response)
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Something went wrong - " in response.text
    assert "the logs name it by the request id bug-2." in response.text


def test_a_client_leaving_while_sending_its_body_reaches_the_app_as_a_disconnect() -> None:
    received: list[dict] = []

    async def app(scope, receive, send) -> None:
        received.append(await receive())
        received.append(await receive())

    messages = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message) -> None:
        raise AssertionError("nothing is sent to a client that left")

    scope = {"type": "http", "path": "/api/predict", "headers": []}
    middleware = BodySizeLimitMiddleware(app, max_bytes=100, page=Response)
    # In a thread of its own: a session-long Playwright keeps a loop current in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, middleware(scope, receive, send)).result()
    assert [message["type"] for message in received] == ["http.request", "http.disconnect"]
