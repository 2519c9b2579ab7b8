"""The real app and the real model-service in headless Chromium, as a person uses them."""

import re
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from phishline_app.views import percent_text

pytestmark = pytest.mark.e2e

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"
LEGITIMATE_URL = "https://www.google.com/"
# axe-core's rules for WCAG 2.0 and 2.1, levels A and AA (its best-practice rules are not
# WCAG requirements).
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def check(page: Page, app_url: str, url: str) -> None:
    page.goto(app_url + "/")
    page.get_by_label("URL to check").fill(url)
    page.get_by_role("button", name="Check URL").click()
    page.wait_for_load_state()


def service_probability(model_service, url: str) -> float:
    response = httpx.post(f"{model_service.url}/v1/predict", json={"url": url}, timeout=10)
    probability: float = response.json()["probability"]
    return probability


def feedback_rows(database: Path, url: str) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT variant, predicted_label, answer, user_id FROM feedback WHERE url = ?", (url,)
        ).fetchall()
    connection.close()
    return rows


def collect_console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    return errors


def test_v1_shows_clear_verdicts(page: Page, apps, screenshots: Path) -> None:
    console_errors = collect_console_errors(page)
    check(page, apps["v1"].url, PHISHING_URL)
    expect(page.locator("#verdict")).to_have_text("Phishing")
    expect(page.locator("#checked-url")).to_have_text(PHISHING_URL)
    expect(page.get_by_role("group", name="Is this prediction accurate?")).to_be_visible()
    expect(page.locator("#features li").first).to_be_visible()
    expect(page.locator("#variant")).to_have_text("v1")
    expect(page.locator("#model-version")).to_have_text("ensemble 1.0.0")
    expect(page.locator("#service-version")).not_to_have_text("unavailable")
    expect(page.locator("#probability")).to_have_count(0)
    # The new page leads with its answer: in the title, and with the focus on it.
    expect(page).to_have_title("Phishing - phishline: is this link phishing?")
    expect(page.locator("#result-heading")).to_be_focused()
    page.screenshot(path=screenshots / "v1-phishing.png", full_page=True)

    check(page, apps["v1"].url, LEGITIMATE_URL)
    expect(page.locator("#verdict")).to_have_text("Looks legitimate")
    page.screenshot(path=screenshots / "v1-legitimate.png", full_page=True)
    # The stylesheet and icon load under the CSP, and nothing else is attempted.
    assert console_errors == []
    assert page.evaluate("getComputedStyle(document.querySelector('.verdict')).fontWeight") == "700"

    # A refusal (a 422 page, which the console reports as such) leads with the error.
    check(page, apps["v1"].url, "javascript:alert(1)")
    expect(page).to_have_title(re.compile(r"^Error - "))
    expect(page.get_by_label("URL to check")).to_be_focused()


def test_v2_shows_the_service_probability_with_a_bar(
    page: Page, apps, model_service, screenshots: Path
) -> None:
    for url, side in ((PHISHING_URL, "phishing"), (LEGITIMATE_URL, "legitimate")):
        probability = service_probability(model_service, url)
        assert (probability > 0.5) == (side == "phishing")
        check(page, apps["v2"].url, url)
        expect(page.locator("#probability")).to_have_text(percent_text(probability))
        expect(page.locator("meter#probability-bar")).to_have_attribute(
            "value", f"{probability:.4f}"
        )
        expect(page.locator("#threshold")).to_contain_text("counts a link as phishing from")
        expect(page.locator("#verdict")).to_have_count(0)
        expect(page.locator("#variant")).to_have_text("v2")
        page.screenshot(path=screenshots / f"v2-{side}.png", full_page=True)


def test_feedback_reaches_the_store_and_the_metrics(page: Page, apps, feedback_db: Path) -> None:
    url = "http://secure-paypal.com.account-update.example.tk/login.php"
    check(page, apps["v2"].url, url)
    page.get_by_role("button", name="No").click()
    expect(page.locator("#notice")).to_have_text("Thank you, your answer was recorded.")
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    assert cookies["phishline-variant"] == "v2"
    rows = feedback_rows(feedback_db, url)
    assert len(rows) == 1
    variant, _label, answer, user_id = rows[0]
    assert (variant, answer, user_id) == ("v2", "no", cookies["phishline-user"])
    metrics = httpx.get(f"{apps['v2'].url}/metrics").text
    counted = re.search(r'phishline_app_feedback_total\{answer="no",variant="v2"\} (\S+)', metrics)
    assert counted
    assert float(counted.group(1)) >= 1
    assert re.search(r'phishline_app_feedback_delay_seconds_count\{variant="v2"\} [1-9]', metrics)


def test_keyboard_alone_checks_a_url_and_answers(page: Page, apps) -> None:
    page.goto(apps["v1"].url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "url"
    page.keyboard.type(LEGITIMATE_URL)
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_text("Looks legitimate")
    page.get_by_role("button", name="Yes").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_be_visible()


@pytest.mark.parametrize(
    ("payload", "shown_in"),
    [
        # Refused (no host holds "<"), and the refusal quotes it.
        ("<img src=x onerror=window.__pwned=1>", "#url-error"),
        ('http://x.test/"><script>window.__pwned=1</script>', "#checked-url"),  # scored
    ],
)
def test_entered_markup_stays_text(page: Page, apps, payload: str, shown_in: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    check(page, apps["v1"].url, payload)
    expect(page.locator(shown_in)).to_contain_text(payload)
    expect(page.get_by_label("URL to check")).to_have_value(payload)
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []


def test_model_service_outage_shows_a_message_then_recovers(
    page: Page, apps, model_service, screenshots: Path
) -> None:
    model_service.kill()
    try:
        check(page, apps["v1"].url, PHISHING_URL)
        expect(page.get_by_role("alert")).to_contain_text("Checking is unavailable right now")
        expect(page.get_by_label("URL to check")).to_have_value(PHISHING_URL)
        page.screenshot(path=screenshots / "v1-model-service-down.png", full_page=True)
        api = httpx.post(f"{apps['v2'].url}/api/predict", json={"url": PHISHING_URL}, timeout=10)
        assert api.status_code == 503
        assert api.json()["error"]["code"] == "model_service_unavailable"
    finally:
        model_service.start()
    # No restart of the app: the next submit simply works again.
    page.get_by_role("button", name="Check URL").click()
    expect(page.locator("#verdict")).to_have_text("Phishing")
    expect(page.get_by_role("alert")).to_have_count(0)


def test_acknowledged_feedback_survives_a_crash_and_restarts_stop_cleanly(
    page: Page, launch_app, e2e_dir: Path
) -> None:
    database = e2e_dir / "crash" / "feedback.db"
    crashing = launch_app("v1", database)
    check(page, crashing.url, PHISHING_URL)
    page.get_by_role("button", name="Yes").click()
    expect(page.locator("#notice")).to_be_visible()
    crashing.kill()  # SIGKILL right after the acknowledgement: no shutdown, no flush
    assert [row[:3] for row in feedback_rows(database, PHISHING_URL)] == [("v1", "phishing", "yes")]

    restarted = launch_app("v1", database, log_level="info")
    assert httpx.get(f"{restarted.url}/health/ready").json()["database"] == "up"
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status names it.
    assert restarted.stop() == -signal.SIGTERM
    log = restarted.log()
    assert "Application shutdown complete." in log
    assert "Traceback" not in log


def audit(page: Page, state: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line each.

    The script goes in through Playwright's evaluate, which the page's CSP does not govern
    (no bypass_csp needed), so the audit sees the page under its real policy.
    """
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    assert results.response["passes"], "axe-core checked nothing on the page"
    return [
        f"{state}: {violation['id']} ({violation['impact']}) {violation['help']} at "
        + ", ".join(str(target) for node in violation["nodes"] for target in node["target"])
        for violation in results.response["violations"]
    ]


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_every_page_state_passes_the_wcag_2_1_aa_audit(page: Page, apps, variant: str) -> None:
    app_url = apps[variant].url
    violations: list[str] = []

    page.goto(app_url + "/")
    violations += audit(page, "empty form")
    check(page, app_url, PHISHING_URL)
    expect(page.locator("#result")).to_be_visible()
    violations += audit(page, "phishing result")
    check(page, app_url, "javascript:alert(1)")
    expect(page.locator("#url-error")).to_be_visible()
    violations += audit(page, "refused URL")
    # A well-formed name that model-service does not know: its refusal beside the select.
    page.locator("#model option:checked").evaluate("option => option.value = 'no-such-model'")
    page.get_by_label("URL to check").fill(LEGITIMATE_URL)
    page.get_by_role("button", name="Check URL").click()
    expect(page.locator("#model-error")).to_be_visible()
    violations += audit(page, "refused model")
    check(page, app_url, LEGITIMATE_URL)
    expect(page.locator("#result")).to_be_visible()
    violations += audit(page, "legitimate result")
    page.get_by_role("button", name="Yes").click()
    expect(page.locator("#notice")).to_be_visible()
    violations += audit(page, "answer recorded")
    # Without its cookies the user's form token no longer matches: the "expired" alert.
    page.goto(app_url + "/")
    page.context.clear_cookies()
    page.get_by_label("URL to check").fill(LEGITIMATE_URL)
    page.get_by_role("button", name="Check URL").click()
    expect(page.locator("#form-error")).to_be_visible()
    violations += audit(page, "expired form")
    page.goto(app_url + "/no-such-page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    violations += audit(page, "page not found")
    page.get_by_role("link", name="Check a link").click()
    expect(page.get_by_label("URL to check")).to_be_visible()

    assert not violations, f"{variant}: axe-core found WCAG 2.1 A/AA violations:\n" + (
        "\n".join(violations)
    )


def test_the_outage_page_passes_the_wcag_2_1_aa_audit(page: Page, apps, model_service) -> None:
    violations: list[str] = []
    model_service.kill()
    try:
        for variant in ("v1", "v2"):
            check(page, apps[variant].url, PHISHING_URL)
            expect(page.get_by_role("alert")).to_be_visible()
            violations += audit(page, f"{variant} model-service outage")
    finally:
        model_service.start()
    assert not violations, "axe-core found WCAG 2.1 A/AA violations:\n" + "\n".join(violations)
