"""Security headers (Content-Security-Policy, no caching of private answers) and the logging of
refused requests (issue 8, item 7)."""

import io
import logging
from contextlib import contextmanager

import pytest
from django.urls import reverse

from tests.factories import make_case, make_user_with_role
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
