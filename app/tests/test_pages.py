"""The page without JavaScript: form POSTs, verdicts, probabilities, feedback, failures."""

import html
import re

import pytest

from lib_version import VersionUtil
from phishline_app.api.routes.pages import as_sentence

from .conftest import hidden_value

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"
LEGITIMATE_URL = "https://www.google.com/"


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|dd|strong|span|meter)>', page, re.S)
    assert match, f"no element #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_page_has_labelled_fields_and_the_models_of_model_service(user) -> None:
    page = user.open()
    assert '<label for="url">URL to check</label>' in page
    assert '<label for="model">Model</label>' in page
    assert re.search(r'<option value="ensemble" selected>\s*ensemble 1.0.0 \(default\)', page)
    assert re.search(r'<option value="linear">\s*linear 1.0.0\s*</option>', page)
    assert '<html lang="en">' in page
    assert 'id="result"' not in page


def test_footer_names_every_version(user) -> None:
    page = user.open()
    assert (
        text_of(page, "app-version") == f"phishline-app {VersionUtil.version_of('phishline-app')}"
    )
    assert text_of(page, "variant") == "v1"
    assert text_of(page, "lib-version") == VersionUtil.get_version()
    assert text_of(page, "service-version") == "9.8.7"  # the fake's /openapi.json version
    assert text_of(page, "model-version") == "ensemble 1.0.0"


def test_service_version_from_the_models_list_wins_over_openapi(user, fake_service) -> None:
    fake_service.service_version = "2.0.0"
    assert text_of(user.open(), "service-version") == "2.0.0"


def test_v1_says_phishing_for_a_high_probability(user) -> None:
    response = user.check(PHISHING_URL)
    assert response.status_code == 200
    assert text_of(response.text, "verdict") == "Phishing"
    assert "Looks legitimate" not in response.text
    assert 'id="probability"' not in response.text


def test_v1_says_looks_legitimate_for_a_low_probability(user) -> None:
    response = user.check(LEGITIMATE_URL)
    assert text_of(response.text, "verdict") == "Looks legitimate"
    assert "Phishing<" not in response.text


def test_v2_shows_97_percent_with_a_bar_for_a_clear_phishing_url(make_user) -> None:
    page = make_user(variant="v2").check(PHISHING_URL).text
    assert text_of(page, "probability") == "97 %"
    assert re.search(r'<meter [^>]*value="0.9700"', page)
    assert 'id="verdict"' not in page
    assert text_of(page, "variant") == "v2"


def test_v2_shows_3_percent_for_a_clear_legitimate_url(make_user) -> None:
    page = make_user(variant="v2").check(LEGITIMATE_URL).text
    assert text_of(page, "probability") == "3 %"
    assert re.search(r'<meter [^>]*value="0.0300"', page)


def test_v2_colours_the_bar_at_the_models_threshold_and_says_where_it_is(
    make_user, fake_service
) -> None:
    # 44 % is phishing for a model that flags from 40 %: the bar must not look legitimate.
    fake_service.probability = 0.44
    page = make_user(variant="v2").check(LEGITIMATE_URL, model="linear").text
    assert re.search(r'<meter [^>]*low="0.4" high="0.4"', page)
    assert text_of(page, "threshold") == "This model counts a link as phishing from 40 %."


def test_v2_never_shows_a_legitimate_result_at_the_thresholds_percentage(
    make_user, fake_service
) -> None:
    # 49.6 % is legitimate for a model that flags from 50 %: "50 %" would read as phishing.
    fake_service.probability = 0.496
    page = make_user(variant="v2").check(LEGITIMATE_URL).text
    assert text_of(page, "probability") == "49.6 %"
    assert text_of(page, "threshold") == "This model counts a link as phishing from 50.0 %."
    assert title_of(page) == "49.6 % phishing - phishline: is this link phishing?"


def test_v2_without_a_threshold_colours_the_bar_by_the_label(make_user, fake_service) -> None:
    fake_service.probability = 0.44
    with_threshold = make_user(variant="v2").check(LEGITIMATE_URL, model="linear").text
    fake_service.mode = "no_thresholds"  # a model-service that predates the field
    page = make_user(variant="v2").check(LEGITIMATE_URL, model="linear").text
    assert 'id="threshold"' in with_threshold
    assert 'id="threshold"' not in page
    assert re.search(r'<meter [^>]*low="0" high="0"', page)  # phishing: red from 0


def test_result_lists_the_features_that_mattered_and_asks_for_feedback(user) -> None:
    page = user.check(PHISHING_URL).text
    assert "Is this prediction accurate?" in page
    assert 'value="yes"' in page
    assert 'value="no"' in page
    features = re.findall(r'<code class="feature">(.*?)</code>', page)
    # Strongest first; the zero-weight feature explains nothing and is left out.
    assert features == ["http://paypal.com.secure", "num_dots"]
    # In words where the service describes a feature, else by its name.
    described = re.findall(r'<span class="feature-description">(.*?)</span>', page)
    assert described == ["“http://paypal.com.secure” in the link", "num_dots"]
    assert "points to phishing" in page
    assert "points to legitimate" in page


def test_chosen_model_is_sent_and_stays_selected(user, fake_service) -> None:
    page = user.check(LEGITIMATE_URL, model="linear").text
    assert fake_service.requests[-1] == {"url": LEGITIMATE_URL, "model": "linear"}
    assert re.search(r'<option value="linear" selected>', page)
    assert text_of(page, "model-version") == "linear 1.0.0"


def test_no_model_chosen_asks_for_the_default(user, fake_service) -> None:
    user.check(f"  {LEGITIMATE_URL}  ")
    assert fake_service.requests[-1] == {"url": LEGITIMATE_URL, "model": None}


def test_empty_url_is_refused_next_to_the_field(user, fake_service) -> None:
    response = user.check("   ")
    assert response.status_code == 422
    assert 'aria-describedby="url-error"' in response.text
    assert text_of(response.text, "url-error") == "Enter a URL to check."
    assert fake_service.requests == []


def test_overlong_url_is_refused(make_user) -> None:
    response = make_user(max_url_length=64).check("http://example.com/" + "a" * 64)
    assert response.status_code == 422
    assert "longer than 64 characters" in response.text


def test_an_overlong_pasted_url_reaches_the_server_whole(user) -> None:
    page = user.open()
    assert "maxlength" not in page  # the browser would cut it silently
    response = user.check("http://example.com/?next=" + "a" * 2048)
    assert response.status_code == 422
    assert "longer than 2048 characters" in response.text


def test_the_longest_url_of_four_byte_characters_fits_the_form(user, fake_service) -> None:
    url = "http://example.com/" + "\U0001f600" * (2048 - len("http://example.com/"))
    response = user.check(url)
    assert response.status_code == 200
    assert fake_service.requests[-1]["url"] == url


def title_of(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page, re.S)
    assert match
    return html.unescape(match.group(1))


@pytest.mark.parametrize(
    ("variant", "url", "title"),
    [
        ("v1", PHISHING_URL, "Phishing - phishline: is this link phishing?"),
        ("v1", LEGITIMATE_URL, "Looks legitimate - phishline: is this link phishing?"),
        ("v2", PHISHING_URL, "97 % phishing - phishline: is this link phishing?"),
        ("v1", "   ", "Error - phishline: is this link phishing?"),
    ],
)
def test_the_title_leads_with_the_answer(make_user, variant: str, url: str, title: str) -> None:
    user = make_user(variant=variant)
    assert title_of(user.open()) == "phishline: is this link phishing?"
    assert title_of(user.check(url).text) == title


@pytest.mark.parametrize("control", ["\u202e", "\u2067", "\u200f"])
def test_the_checked_link_shows_bidi_controls_instead_of_obeying_them(
    user, fake_service, control: str
) -> None:
    # Obeyed, U+202E (right-to-left override) shows invoice\u202efdp.exe as "invoiceexe.pdf".
    url = f"http://files.example.com/invoice{control}fdp.exe"
    response = user.check(url)
    assert response.status_code == 200
    assert fake_service.requests[-1]["url"] == url  # checked as typed
    code_point = f"[U+{ord(control):04X}]"
    assert (
        text_of(response.text, "checked-url")
        == f"http://files.example.com/invoice{code_point}fdp.exe"
    )
    assert f'value="{url}"' in response.text  # the field keeps it for another check


def test_a_refused_url_keeps_the_chosen_model(user) -> None:
    response = user.check("   ", model="linear")
    assert response.status_code == 422
    assert re.search(r'<option value="linear"\s+selected>', response.text)


def test_model_service_refusal_is_shown_next_to_the_field(user) -> None:
    response = user.check("reject:this")
    assert response.status_code == 422
    assert text_of(response.text, "url-error") == "Not a URL we can score."


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("the URL has no host", "The URL has no host."),
        ("Already a sentence.", "Already a sentence."),
        ("  why? ", "Why?"),
        ("", ""),
    ],
)
def test_model_service_messages_read_as_sentences(message: str, shown: str) -> None:
    assert as_sentence(message) == shown


def test_unknown_model_is_reported_next_to_the_model_field(user) -> None:
    response = user.check(LEGITIMATE_URL, model="nonexistent")
    assert response.status_code == 422
    assert text_of(response.text, "model-error") == "No model nonexistent."
    assert 'aria-describedby="model-error"' in response.text
    assert 'id="url-error"' not in response.text
    assert f'value="{LEGITIMATE_URL}"' in response.text


def test_malformed_model_name_is_refused_before_calling_model_service(user, fake_service) -> None:
    response = user.check(LEGITIMATE_URL, model="../etc")
    assert response.status_code == 422
    assert text_of(response.text, "model-error") == "The model name is not valid."
    assert fake_service.requests == []


def test_yes_is_recorded_then_thanked_after_a_redirect(user) -> None:
    result = user.check(PHISHING_URL).text
    response = user.answer(result, "yes")
    assert response.status_code == 303
    assert response.headers["location"] == "/?feedback=recorded"
    thanks = user.client.get(response.headers["location"]).text
    assert text_of(thanks, "notice") == "Thank you, your answer was recorded."


def test_a_second_answer_to_the_same_result_does_not_count(user) -> None:
    result = user.check(PHISHING_URL).text
    assert user.answer(result, "no").headers["location"] == "/?feedback=recorded"
    second = user.answer(result, "yes")
    assert second.headers["location"] == "/?feedback=duplicate"
    notice = text_of(user.client.get("/?feedback=duplicate").text, "notice")
    assert "already had an answer" in notice


def test_the_same_answer_sent_twice_is_thanked_for_twice(user) -> None:
    # A double click on Yes sends the form twice: the first records it, the second must not
    # tell the user that the result "already had an answer".
    result = user.check(PHISHING_URL).text
    assert user.answer(result, "yes").headers["location"] == "/?feedback=recorded"
    assert user.answer(result, "yes").headers["location"] == "/?feedback=recorded"


def test_the_same_answer_from_another_user_is_a_duplicate(user, make_user) -> None:
    result = user.check(PHISHING_URL).text
    assert user.answer(result, "yes").headers["location"] == "/?feedback=recorded"
    other = make_user()
    page = other.open()
    second = other.client.post(
        "/feedback",
        data={
            "ticket": hidden_value(result, "ticket"),
            "answer": "yes",
            "csrf_token": hidden_value(page, "csrf_token"),
        },
        follow_redirects=False,
    )
    assert second.headers["location"] == "/?feedback=duplicate"


def test_unknown_notice_codes_show_nothing(user) -> None:
    assert 'id="notice"' not in user.client.get("/?feedback=<b>hi</b>").text


def test_an_altered_ticket_is_refused(user) -> None:
    result = user.check(PHISHING_URL).text
    forged = result.replace('name="ticket" value="', 'name="ticket" value="x', 1)
    response = user.answer(forged, "yes")
    assert response.status_code == 400
    assert "could not be matched" in response.text


def test_an_answer_other_than_yes_or_no_is_refused(user) -> None:
    result = user.check(PHISHING_URL).text
    assert user.answer(result, "maybe").status_code == 400


def test_model_service_down_shows_a_clear_message_and_keeps_the_url(make_user) -> None:
    user = make_user(model_service_url="http://127.0.0.1:9")  # nothing listens on port 9
    page = user.open()
    assert 'role="alert" id="unavailable"' in page
    assert "Checking is unavailable right now" in page
    assert text_of(page, "service-version") == "unavailable"
    assert '<option value="">Default model</option>' in page
    response = user.check(PHISHING_URL)
    assert response.status_code == 503
    assert "Checking is unavailable right now" in response.text
    assert f'value="{PHISHING_URL}"' in response.text  # kept for a retry


def test_model_service_errors_show_the_message_then_recover(user, fake_service) -> None:
    fake_service.mode = "error"
    assert user.check(PHISHING_URL).status_code == 503
    fake_service.mode = "ok"
    recovered = user.check(PHISHING_URL)
    assert recovered.status_code == 200
    assert text_of(recovered.text, "verdict") == "Phishing"


def test_slow_model_service_times_out_with_the_message(make_user, fake_service) -> None:
    user = make_user(model_service_timeout=0.2)
    token_page = user.open()
    fake_service.delay = 0.5
    response = user.client.post(
        "/",
        data={"url": PHISHING_URL, "model": "", "csrf_token": _token(token_page)},
    )
    assert response.status_code == 503
    assert "Checking is unavailable right now" in response.text
    fake_service.delay = 0.0
    assert user.check(PHISHING_URL).status_code == 200


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_a_result_stands_when_only_the_model_list_fails(make_user, fake_service, variant) -> None:
    # The list gives the models, versions and threshold; the check itself was answered.
    user = make_user(variant=variant)
    token_page = user.open()
    fake_service.mode = "models_error"
    response = user.client.post(
        "/", data={"url": PHISHING_URL, "model": "", "csrf_token": _token(token_page)}
    )
    assert response.status_code == 200
    assert 'id="result"' in response.text
    assert 'id="unavailable"' not in response.text
    assert "Checking is unavailable" not in response.text
    assert not title_of(response.text).startswith("Error - ")
    assert text_of(response.text, "service-version") == "unavailable"


@pytest.mark.parametrize("mode", ["garbage", "garbled", "redirect"])
def test_nonsense_from_model_service_counts_as_unavailable(user, fake_service, mode) -> None:
    fake_service.mode = mode
    page = user.client.get("/")
    assert page.status_code == 200
    assert "Checking is unavailable right now" in page.text
    response = user.client.post(
        "/", data={"url": PHISHING_URL, "model": "", "csrf_token": _token(page.text)}
    )
    assert response.status_code == 503
    assert "Checking is unavailable right now" in response.text


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_model_service_down_keeps_the_chosen_model_for_the_retry(make_user) -> None:
    user = make_user(model_service_url="http://127.0.0.1:9")  # nothing listens on port 9
    response = user.check(PHISHING_URL, model="linear")
    assert response.status_code == 503
    assert re.search(r'<option value="linear" selected>\s*linear\s*</option>', response.text)
    assert '<option value="">Default model</option>' in response.text


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("recorded", "Answer recorded - phishline: is this link phishing?"),
        ("duplicate", "Already answered - phishline: is this link phishing?"),
    ],
)
def test_the_page_after_an_answer_leads_with_its_notice(user, code: str, title: str) -> None:
    page = user.client.get(f"/?feedback={code}").text
    assert title_of(page) == title
    assert re.search(r'<p class="notice" role="status" id="notice" tabindex="-1" autofocus>', page)


# What a browser sends when it opens a page.
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("method", "path", "status", "title", "message"),
    [
        ("GET", "/nothing", 404, "Page not found", "There is no page at this address."),
        ("GET", "/feedback", 405, "Page not found", "takes a form sent from the check page"),
    ],
)
def test_a_browser_gets_an_error_page_that_leads_back_to_the_check(
    client, method: str, path: str, status: int, title: str, message: str
) -> None:
    response = client.request(method, path, headers=BROWSER)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"]
    assert f"<title>{title} - phishline: is this link phishing?</title>" in response.text
    assert message in response.text
    assert '<a href="/">Check a link</a>' in response.text
    assert text_of(response.text, "app-version").startswith("phishline-app ")
    # The error page asks model-service nothing, so it names no model-service version.
    assert 'id="service-version"' not in response.text
    if status == 405:
        assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("streamed", [False, True])
def test_a_browsers_form_over_the_body_limit_gets_a_page(make_user, streamed: bool) -> None:
    user = make_user(max_url_length=64, max_body_bytes=2048)
    token = hidden_value(user.open(), "csrf_token")
    form = f"csrf_token={token}&model=&url=http%3A%2F%2Fx.test%2F{'a' * 4096}".encode()
    response = user.client.post(
        "/",
        content=iter([form]) if streamed else form,
        headers=BROWSER | {"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["connection"] == "close"
    assert "<title>Too long to check - " in response.text
    assert (
        "The form sent more than 2,048 bytes: links of up to 64 characters can be checked."
        in response.text
    )
