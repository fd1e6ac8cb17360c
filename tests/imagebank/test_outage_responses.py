"""What a request answers when a service is out (issue 9, item 5): a 503 with Retry-After, JSON
under /api/ and a page elsewhere in the visitor's language, logged once with its cause; anything
else stays a 500, JSON under /api/ (imagebank.outage_responses)."""

import html
import logging

import botocore.exceptions
import kombu.exceptions
import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.files.storage import FileSystemStorage
from django.db import OperationalError, connection
from django.utils import translation
from rest_framework.test import APIClient

from imagebank.models import Image
from imagebank.outage_responses import _unavailable_message
from tests.factories import jpeg_upload, make_case
from tests.tokens import token_for

pytestmark = pytest.mark.django_db

CASES_API = "/api/cases/"
CASES_PAGE = "/cases/"
FRENCH_HOME_LINK = "Aller à la page d'accueil"  # "Go to the home page", already in the catalogue


def _storage_down(*args, **kwargs):
    raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://s3")


def _database_down(*args, **kwargs):
    raise OperationalError("could not connect to server: Connection refused")


def _broker_down(*args, **kwargs):
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as refused:
        raise kombu.exceptions.OperationalError(
            "Error 111 connecting to redis:6379. Connection refused."
        ) from refused


def _every_query_fails(execute, sql, params, many, context):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def api(contributor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(contributor)}")
    return client


@pytest.fixture
def signed_in(client, contributor):
    client.force_login(contributor)
    return client


@pytest.fixture
def without_exceptions_raised(client, settings):
    """What a visitor gets for an exception Django turns into handler500's answer (DEBUG off), not
    the test client re-raising it."""
    settings.DEBUG = False
    client.raise_request_exception = False
    return client


def _warnings(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def _assert_logged_once(caplog, service: str, error_type: str, path: str) -> logging.LogRecord:
    records = _warnings(caplog)
    assert len(records) == 1, [(r.name, r.getMessage()) for r in records]
    (record,) = records
    assert record.name == "imagebank.outage_responses"
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert service in line and error_type in line and path in line, line
    assert "\n" not in line and record.exc_info is None
    return record


def _assert_json_503(response, service: str, seconds: int = 30) -> dict:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(seconds)
    body = response.json()
    assert set(body) == {"detail", "code", "service", "retry_after"}
    assert body["code"] == "service_unavailable"
    assert body["service"] == service
    assert body["retry_after"] == seconds
    assert "briefly unavailable" in body["detail"]
    # Only an answer that stops the request before it stores anything may say so.
    assert ("nothing was stored" in body["detail"]) is (service != "broker")
    return body


def _page_text(response) -> str:
    return html.unescape(response.content.decode())


# --- an outage raised by a view: OutageResponseMiddleware --------------------------------------


def test_an_api_upload_while_the_storage_is_out_answers_503_json(
    api, site, contributor, local_storage, monkeypatch, caplog
):
    case = make_case(site=site, actor=contributor)
    monkeypatch.setattr(FileSystemStorage, "save", _storage_down)
    path = f"{CASES_API}{case.pk}/images/"

    with caplog.at_level(logging.INFO):
        response = api.post(
            path, {"file": jpeg_upload(), "step": "before_acetic_acid"}, format="multipart"
        )

    body = _assert_json_503(response, "storage")
    assert body["detail"].startswith("The file storage is briefly unavailable")
    assert not Image.objects.filter(case=case).exists()  # nothing half-stored
    record = _assert_logged_once(caplog, "storage", "EndpointConnectionError", path)
    assert "http://s3" in record.getMessage() and "POST" in record.getMessage()


def test_an_upload_page_while_the_storage_is_out_answers_the_page_in_french(
    signed_in, site, contributor, local_storage, monkeypatch, caplog
):
    case = make_case(site=site, actor=contributor)
    monkeypatch.setattr(FileSystemStorage, "save", _storage_down)
    signed_in.cookies["django_language"] = "fr"

    with caplog.at_level(logging.INFO):
        response = signed_in.post(
            f"{CASES_PAGE}{case.pk}/images/",
            {"images": [jpeg_upload()], "default_step": "before_acetic_acid"},
        )

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "30"
    text = _page_text(response)
    assert '<html lang="fr">' in text
    assert FRENCH_HOME_LINK in text
    with translation.override("fr"):
        assert _unavailable_message("storage") in text  # the sentence in French once translated
    assert not Image.objects.filter(case=case).exists()
    _assert_logged_once(caplog, "storage", "EndpointConnectionError", f"/cases/{case.pk}/images/")


def test_the_broker_out_answers_503_and_logs_the_cause(api, monkeypatch, caplog):
    monkeypatch.setattr("imagebank.selectors.case_list", _broker_down)

    with caplog.at_level(logging.INFO):
        response = api.get(CASES_API)

    _assert_json_503(response, "broker")
    record = _assert_logged_once(caplog, "broker", "OperationalError", CASES_API)
    assert "caused by ConnectionRefusedError" in record.getMessage()


def test_the_database_out_answers_the_page_and_json_to_whoever_asks_for_json(
    signed_in, monkeypatch, caplog, settings
):
    monkeypatch.setattr("imagebank.selectors.case_list", _database_down)

    page = signed_in.get(CASES_PAGE, HTTP_ACCEPT_LANGUAGE="es")
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    assert '<html lang="es">' in _page_text(page)
    assert "Ir a la página de inicio" in _page_text(page)

    settings.OUTAGE_RETRY_AFTER_SECONDS = 5
    caplog.clear()
    with caplog.at_level(logging.INFO):
        polled = signed_in.get(CASES_PAGE, HTTP_ACCEPT="application/json")
    _assert_json_503(polled, "database", seconds=5)
    _assert_logged_once(caplog, "database", "OperationalError", CASES_PAGE)

    # A browser's Accept header (which ends in */*) gets the page.
    browser = signed_in.get(
        CASES_PAGE, HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    )
    assert browser["Content-Type"].startswith("text/html")


# --- an outage raised outside a view: handler500 -----------------------------------------------


def test_an_outage_in_a_middleware_answers_503_through_handler500(
    without_exceptions_raised, monkeypatch, caplog
):
    client = without_exceptions_raised
    monkeypatch.setattr(SessionMiddleware, "process_request", _database_down)

    with caplog.at_level(logging.INFO):
        page = client.get(CASES_PAGE, HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    # LocaleMiddleware has not run yet: the language still comes from the request.
    assert FRENCH_HOME_LINK in _page_text(page)
    _assert_logged_once(caplog, "database", "OperationalError", CASES_PAGE)

    caplog.clear()
    with caplog.at_level(logging.INFO):
        answer = client.get(CASES_API)
    _assert_json_503(answer, "database")
    _assert_logged_once(caplog, "database", "OperationalError", CASES_API)


def test_with_the_database_down_for_the_whole_request_the_answer_needs_no_query(
    without_exceptions_raised, contributor, caplog
):
    """The signed-in visitor's session, user and navigation all live in the database: the answer
    must be built without any of them."""
    client = without_exceptions_raised
    client.force_login(contributor)

    with connection.execute_wrapper(_every_query_fails), caplog.at_level(logging.INFO):
        page = client.get(CASES_PAGE)
        answer = client.get(CASES_API, HTTP_AUTHORIZATION=f"Token {'0' * 40}")

    assert page.status_code == 503, page.content[:500]
    text = _page_text(page)
    assert "The bank is briefly unavailable" in text
    assert "nothing you sent was half-stored" in text
    assert "Sign out" not in text  # no user was read to show the navigation for
    _assert_json_503(answer, "database")
    records = _warnings(caplog)
    assert [r.name for r in records] == ["imagebank.outage_responses"] * 2


# --- what is not an outage stays a 500 ---------------------------------------------------------


def test_another_error_is_a_500_json_under_api_and_the_500_page_elsewhere(
    without_exceptions_raised, contributor, monkeypatch, caplog
):
    client = without_exceptions_raised
    client.force_login(contributor)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("imagebank.selectors.case_list", broken)

    with caplog.at_level(logging.INFO):
        answer = client.get(CASES_API)
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert "Retry-After" not in answer
    body = answer.json()
    assert body["code"] == "server_error"
    assert body["detail"].startswith("Something went wrong on our side")
    # Django logs it as before: an error, with its traceback; nothing from the outage module.
    (record,) = _warnings(caplog)
    assert record.name == "django.request" and record.levelno == logging.ERROR
    assert record.exc_info is not None

    page = client.get(CASES_PAGE)
    assert page.status_code == 500
    assert "Something went wrong on our side" in _page_text(page)


# --- the schema ---------------------------------------------------------------------------------


def test_the_schema_documents_the_503_of_every_operation(client):
    schema = client.get("/api/schema/?format=json").json()
    operations = [
        operation
        for item in schema["paths"].values()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operations
    for operation in operations:
        unavailable = operation["responses"]["503"]
        assert "Retry-After" in unavailable["description"]
        ref = unavailable["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ServiceUnavailable"
    body = schema["components"]["schemas"]["ServiceUnavailable"]
    assert set(body["properties"]) == {"detail", "code", "service", "retry_after"}
