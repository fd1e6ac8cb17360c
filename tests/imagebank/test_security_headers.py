"""Security headers (Content-Security-Policy, no caching of private answers) and the logging of
refused requests (issue 8, item 7)."""

import io
import logging
import re
from contextlib import contextmanager

import pytest
from django.urls import reverse

from tests.factories import add_core_images, make_case, make_user_with_role
from tests.roles import Role
from tests.tokens import token_for

pytestmark = pytest.mark.django_db


# --- refusals are logged as one line, without a traceback --------------------------------------


def _request_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


@contextmanager
def console_output():
    """What every stream handler a django.request record reaches prints (the logger's, its
    parents' and the root's), collected in one buffer while the block runs."""
    buffer = io.StringIO()
    handlers, logger = [], logging.getLogger("django.request")
    while logger is not None:
        handlers += [
            handler
            for handler in logger.handlers
            # pytest's own capture handlers are stream handlers too: not the console.
            if isinstance(handler, logging.StreamHandler)
            and not type(handler).__module__.startswith("_pytest")
        ]
        logger = logger.parent if logger.propagate else None
    previous = [handler.setStream(buffer) for handler in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


def test_a_403_page_logs_one_line_without_a_traceback(client, caplog, settings):
    settings.DEBUG = True  # Django's own console handler printed a second copy only with DEBUG
    client.force_login(make_user_with_role(Role.RESEARCHER))
    with caplog.at_level(logging.INFO), console_output() as printed:
        response = client.get(reverse("imagebank:import-list"))
    assert response.status_code == 403
    records = _request_records(caplog)
    assert len(records) == 1
    assert records[0].getMessage() == "Forbidden (Permission denied): /imports/"
    assert records[0].exc_info is None and not records[0].exc_text
    # What the console handlers print: the line once, and no traceback.
    text = printed.getvalue()
    assert text.count("Forbidden (Permission denied): /imports/") == 1, text
    assert "Traceback" not in text


def test_other_refusals_log_one_line_each_without_a_traceback(client, caplog, contributor):
    hidden = make_case()  # another site's case: the contributor may not see it
    headers = {"HTTP_AUTHORIZATION": f"Token {token_for(contributor)}"}
    with caplog.at_level(logging.INFO):
        answers = [
            client.post("/api/cases/", {}, **headers).status_code,
            client.get(f"/api/cases/{hidden.pk}/", **headers).status_code,
        ]
        client.force_login(contributor)
        answers.append(client.get(reverse("imagebank:case-detail", args=[hidden.pk])).status_code)
    assert answers == [400, 404, 404]
    records = _request_records(caplog)
    assert len(records) == 3, [record.getMessage() for record in records]
    assert all(record.exc_info is None for record in records)


def test_a_server_error_keeps_its_traceback():
    from django.conf import settings

    logger = logging.getLogger("django.request")
    handler = logging.Handler()
    seen: list[logging.LogRecord] = []
    handler.emit = seen.append
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.error("Internal Server Error: /x/", exc_info=True, extra={"status_code": 500})
    finally:
        logger.removeHandler(handler)
    assert seen and seen[0].exc_info is not None
    assert "refusal_without_traceback" in settings.LOGGING["filters"]


# --- Content-Security-Policy ---------------------------------------------------------------------


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def test_every_page_carries_the_policy(client, contributor):
    expected = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
    client.force_login(contributor)
    for url in ("/", reverse("portal:dashboard"), "/api/docs/", "/api/cases/"):
        found = policy(client.get(url))
        for directive, values in expected.items():
            assert found[directive] == values, (url, directive)
        assert "'unsafe-inline'" not in str(found) and "'unsafe-eval'" not in str(found)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def assert_nothing_inline(html: str, url: str) -> None:
    assert not INLINE_SCRIPT.findall(html), (url, INLINE_SCRIPT.findall(html))
    assert not EVENT_HANDLER.findall(html), (url, EVENT_HANDLER.findall(html))
    assert not STYLE_ATTRIBUTE.findall(html), (url, STYLE_ATTRIBUTE.findall(html))


def test_pages_have_no_inline_script_handler_or_style(client, site, contributor):
    case = make_case(site, contributor)
    anonymous = ["/", reverse("account_login"), reverse("account_reset_password"), "/api/docs/"]
    for url in anonymous:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_nothing_inline(response.content.decode(), url)
    client.force_login(contributor)
    signed_in = [
        reverse("portal:dashboard"),
        reverse("imagebank:case-list"),
        reverse("imagebank:case-new"),
        reverse("imagebank:case-detail", args=[case.pk]),
        reverse("imagebank:case-edit", args=[case.pk]),
        reverse("imagebank:import-list"),
        reverse("account_email"),
        reverse("account_change_password"),
    ]
    for url in signed_in:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_nothing_inline(response.content.decode(), url)


def test_the_api_docs_start_from_a_script_file(client):
    page = client.get("/api/docs/")
    assert b'src="/api/docs/?script="' in page.content
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    # No badge fetched from validator.swagger.io (the policy would refuse it anyway).
    assert b'"validatorUrl": null' in script.content or b'"validatorUrl":null' in script.content


# --- Cache-Control: no-store on private answers ------------------------------------------------


def assert_not_stored(response, url: str) -> None:
    assert "no-store" in response["Cache-Control"].split(", "), url
    assert response["Pragma"] == "no-cache", url


def test_private_answers_are_not_stored(client, site, contributor):
    case = make_case(site, contributor)
    image = add_core_images(case, contributor)[0]
    # Before sign-in: the account pages and every API answer, refusals included.
    for url in (reverse("account_login"), reverse("account_signup"), "/api/cases/", "/api/"):
        assert_not_stored(client.get(url), url)
    token = {"HTTP_AUTHORIZATION": f"Token {token_for(contributor)}"}
    for url in ("/api/cases/", f"/api/cases/{case.pk}/", "/api/sites/"):
        response = client.get(url, **token)
        assert response.status_code == 200, url
        assert_not_stored(response, url)
    client.force_login(contributor)
    for url in (
        "/",
        reverse("portal:dashboard"),
        reverse("imagebank:case-detail", args=[case.pk]),
        reverse("imagebank:image-file", args=[image.pk, "thumbnail"]),
        reverse("imagebank:image-file", args=[image.pk, "original"]),
        reverse("account_email"),
    ):
        response = client.get(url)
        assert response.status_code in (200, 302), url
        assert_not_stored(response, url)
        assert "Expires" not in response, url


def test_public_pages_for_visitors_may_be_cached(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
