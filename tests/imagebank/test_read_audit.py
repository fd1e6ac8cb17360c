"""The audit of reads: each read of a case, image, image file or import report writes one row
(who, what, which case, how, when, from where); refusals, anonymous requests, writes and list
pages write none; a read that cannot be recorded is withheld. The curators' pages and exports
are in test_read_audit_pages.py."""

import pytest
from django.db import DatabaseError
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from imagebank import read_audit, storage
from imagebank.models import ReadEvent
from tests.factories import (
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.imagebank.read_audit_support import (
    AGENT,
    body,
    make_bank,
    only_event,
    signed_in,
)
from tests.roles import Role
from tests.tokens import token_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def bank():
    return make_bank()


# --- what is recorded ---------------------------------------------------------------------------


def test_a_case_page_read_writes_one_row_with_who_what_how_and_where(bank):
    user, case = bank["contributor"], bank["case"]
    response = signed_in(user).get(reverse("imagebank:case-detail", args=[case.pk]))
    assert response.status_code == 200

    event = only_event()
    assert event.user == user
    assert event.user_email == user.email
    assert event.kind == ReadEvent.Kind.CASE
    assert event.object_id == case.pk
    assert event.case_id == case.pk
    assert event.channel == ReadEvent.Channel.PAGE
    assert event.route == "imagebank:case-detail"
    assert event.client_ip == "127.0.0.1"
    assert event.user_agent == AGENT
    assert event.variant == ""


def test_the_address_is_the_one_the_trusted_proxy_reports(bank, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    signed_in(bank["contributor"]).get(
        reverse("imagebank:case-detail", args=[bank["case"].pk]),
        REMOTE_ADDR="10.0.0.1",
        # The client wrote the first address itself; the proxy appended the real one.
        HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9",
    )
    assert only_event().client_ip == "203.0.113.9"


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(bank, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    signed_in(bank["contributor"]).get(
        reverse("imagebank:case-detail", args=[bank["case"].pk]),
        REMOTE_ADDR="192.0.2.7",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert only_event().client_ip == "192.0.2.7"


def test_a_long_user_agent_is_cut_to_the_column(bank):
    client = signed_in(bank["contributor"])
    client.get(reverse("imagebank:case-detail", args=[bank["case"].pk]), HTTP_USER_AGENT="x" * 1000)
    assert only_event().user_agent == "x" * 255


def test_the_edit_form_is_a_read_of_the_case(bank):
    case = bank["case"]
    signed_in(bank["contributor"]).get(reverse("imagebank:case-edit", args=[case.pk]))
    event = only_event()
    assert (event.kind, event.case_id, event.route) == ("case", case.pk, "imagebank:case-edit")


@pytest.mark.parametrize("variant", ["original", "preview", "thumbnail"])
@pytest.mark.parametrize("method", ["get", "head"])
def test_each_image_file_read_writes_one_row_with_its_variant_and_case(bank, variant, method):
    image = bank["images"][1]
    client = signed_in(bank["contributor"])
    response = getattr(client, method)(reverse("imagebank:image-file", args=[image.pk, variant]))
    assert response.status_code == 200
    body(response)

    event = only_event()
    assert event.kind == ReadEvent.Kind.IMAGE_FILE
    assert event.variant == variant
    assert event.object_id == image.pk
    assert event.case_id == bank["case"].pk
    assert event.channel == ReadEvent.Channel.FILE
    assert event.user == bank["contributor"]


def test_an_image_file_read_with_an_api_token_names_the_token_user(bank):
    image = bank["images"][0]
    client = Client()
    response = client.get(
        reverse("imagebank:image-file", args=[image.pk, "thumbnail"]),
        HTTP_AUTHORIZATION=f"Token {token_for(bank['contributor'])}",
    )
    assert response.status_code == 200
    event = only_event()
    assert event.user == bank["contributor"]
    assert (event.kind, event.case_id) == ("image_file", bank["case"].pk)


def test_the_redirect_to_a_signed_storage_url_is_a_read(bank, monkeypatch):
    monkeypatch.setattr(
        storage, "signed_url", lambda key: f"https://store.example/{key}?X-Amz-Signature=abc"
    )
    image = bank["images"][0]
    response = signed_in(bank["contributor"]).get(
        reverse("imagebank:image-file", args=[image.pk, "original"])
    )
    assert response.status_code == 302
    assert response["Location"].startswith("https://store.example/")
    event = only_event()
    assert (event.kind, event.variant, event.case_id) == ("image_file", "original", image.case_id)


def test_recording_a_case_read_is_one_insert_and_no_other_query(bank):
    client = signed_in(bank["contributor"])
    url = reverse("imagebank:case-detail", args=[bank["case"].pk])
    with CaptureQueriesContext(db_connection) as queries:
        client.get(url)
    audit = [q["sql"] for q in queries if "imagebank_readevent" in q["sql"]]
    assert len(audit) == 1 and audit[0].startswith("INSERT")


def test_recording_an_image_file_read_adds_one_look_up_of_the_image_case(bank, rf):
    """The middleware alone, outside the view: one SELECT (the image's case) and one INSERT."""
    image = bank["images"][0]
    request = rf.get(reverse("imagebank:image-file", args=[image.pk, "preview"]))
    request.user = bank["contributor"]
    request.resolver_match = _resolve(request.path)
    with CaptureQueriesContext(db_connection) as queries:
        read_audit.record_read(request, _ok())
    statements = [q["sql"].split()[0] for q in queries]
    statements = [word for word in statements if word in ("SELECT", "INSERT", "UPDATE", "DELETE")]
    assert statements == ["SELECT", "INSERT"]
    assert only_event().case_id == image.case_id


def _resolve(path: str):
    from django.urls import resolve

    return resolve(path)


def _ok():
    from django.http import HttpResponse

    return HttpResponse("ok")


def test_import_pages_and_reports_are_recorded(bank):
    run, client = bank["run"], signed_in(bank["contributor"])
    assert client.get(reverse("imagebank:import-detail", args=[run.pk])).status_code == 200
    assert client.get(reverse("imagebank:import-report", args=[run.pk])).status_code == 200
    rows = list(ReadEvent.objects.order_by("pk").values_list("kind", "object_id", "case_id"))
    assert rows == [("import_run", run.pk, None), ("import_report", run.pk, None)]


def test_api_reads_are_recorded_with_their_case(bank):
    user, case, image, run = bank["contributor"], bank["case"], bank["images"][2], bank["run"]
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}", HTTP_USER_AGENT="bank-cli/1")
    for url in (
        f"/api/cases/{case.pk}/",
        f"/api/cases/{case.pk}/images/",
        f"/api/images/{image.pk}/",
        f"/api/ingest/{run.pk}/",
    ):
        assert client.get(url).status_code == 200, url
    rows = list(
        ReadEvent.objects.order_by("pk").values_list(
            "kind", "object_id", "case_id", "channel", "route", "user", "user_agent"
        )
    )
    assert rows == [
        ("case", case.pk, case.pk, "api", "api:case-detail", user.pk, "bank-cli/1"),
        ("case_images", case.pk, case.pk, "api", "api:case-images", user.pk, "bank-cli/1"),
        ("image", image.pk, case.pk, "api", "api:image-detail", user.pk, "bank-cli/1"),
        ("import_run", run.pk, None, "api", "api:ingest-detail", user.pk, "bank-cli/1"),
    ]


def test_an_api_list_records_each_case_it_lists_in_one_insert(bank):
    user = bank["contributor"]
    second = make_case(site=bank["site"], actor=user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get("/api/cases/")
    assert response.status_code == 200
    inserts = [q for q in queries if q["sql"].startswith("INSERT") and "readevent" in q["sql"]]
    assert len(inserts) == 1
    listed = sorted(ReadEvent.objects.values_list("case_id", flat=True))
    assert listed == sorted([bank["case"].pk, second.pk])
    assert set(ReadEvent.objects.values_list("route", flat=True)) == {"api:case-list"}

    ReadEvent.objects.all().delete()
    client.get("/api/ingest/")
    assert list(ReadEvent.objects.values_list("kind", "object_id")) == [
        ("import_run", bank["run"].pk)
    ]


def test_an_empty_api_list_records_nothing():
    user = make_contributor()
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    assert client.get("/api/cases/").status_code == 200
    assert not ReadEvent.objects.exists()


# --- what is not recorded -----------------------------------------------------------------------


def test_refused_reads_write_nothing(bank):
    outsider = signed_in(make_contributor(make_site()))
    case, image, run = bank["case"], bank["images"][0], bank["run"]
    for url in (
        reverse("imagebank:case-detail", args=[case.pk]),
        reverse("imagebank:image-file", args=[image.pk, "original"]),
        reverse("imagebank:import-detail", args=[run.pk]),
        reverse("imagebank:import-report", args=[run.pk]),
    ):
        assert outsider.get(url).status_code == 404, url
    # A researcher may not use imports at all, and sees no case: 403 and 404.
    researcher = signed_in(make_user_with_role(Role.RESEARCHER))
    assert researcher.get(reverse("imagebank:import-detail", args=[run.pk])).status_code == 403
    assert researcher.get(reverse("imagebank:case-detail", args=[case.pk])).status_code == 404
    token = token_for(make_contributor(make_site()))
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(f"/api/cases/{case.pk}/").status_code == 404
    assert api.get(f"/api/images/{image.pk}/").status_code == 404
    assert not ReadEvent.objects.exists()


def test_anonymous_requests_write_nothing(bank):
    client = Client()
    case, image = bank["case"], bank["images"][0]
    assert client.get(reverse("imagebank:case-detail", args=[case.pk])).status_code == 302
    # The sign-in redirect of the file view is a path on the bank, not a signed URL.
    assert client.get(reverse("imagebank:image-file", args=[image.pk, "original"])).status_code == (
        302
    )
    assert client.get(f"/api/cases/{case.pk}/").status_code == 401
    bad_token = Client(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad_token.get(
        reverse("imagebank:image-file", args=[image.pk, "original"])
    ).status_code == (401)
    assert not ReadEvent.objects.exists()


def test_lists_polls_and_writes_write_nothing(bank):
    user, case = bank["contributor"], bank["case"]
    client = signed_in(user)
    assert client.get(reverse("imagebank:case-list")).status_code == 200
    assert client.get(reverse("imagebank:import-list")).status_code == 200
    assert client.get(reverse("imagebank:case-image-status", args=[case.pk])).status_code == 200
    response = client.post(reverse("imagebank:case-edit", args=[case.pk]), {"adequacy": "adequate"})
    assert response.status_code in (200, 302, 400)
    assert not ReadEvent.objects.exists()


# --- a read that cannot be recorded is refused --------------------------------------------------


def _failing_save(*args, **kwargs):
    raise DatabaseError("disk full")


def test_a_read_that_cannot_be_recorded_is_withheld(bank, monkeypatch, caplog):
    monkeypatch.setattr(ReadEvent, "save", _failing_save)
    client = signed_in(bank["contributor"])
    response = client.get(reverse("imagebank:case-detail", args=[bank["case"].pk]))
    assert response.status_code == 503
    assert response["Cache-Control"] == "private, no-store"
    assert bank["case"].site.name.encode() not in response.content
    assert "read not recorded" in caplog.text

    image = bank["images"][0]
    response = client.get(reverse("imagebank:image-file", args=[image.pk, "original"]))
    assert response.status_code == 503
    assert not response.streaming
    assert not ReadEvent.objects.exists()


def test_a_list_that_cannot_be_recorded_is_withheld(bank, monkeypatch):
    monkeypatch.setattr(ReadEvent.objects, "bulk_create", _failing_save)
    make_case(site=bank["site"], actor=bank["contributor"])
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(bank['contributor'])}")
    response = client.get("/api/cases/")
    assert response.status_code == 503
    assert b"results" not in response.content


def test_a_success_with_no_one_to_name_is_withheld(bank, rf):
    request = rf.get(reverse("imagebank:case-detail", args=[bank["case"].pk]))
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    request.resolver_match = _resolve(request.path)
    with pytest.raises(read_audit.ReadNotRecorded):
        read_audit.record_read(request, _ok())


def test_another_app_registers_its_reads():
    read = read_audit.AuditedRead("review", ReadEvent.Channel.PAGE, read_audit.CASE_IN_URL)
    try:
        read_audit.register_audited_read("test:review", read)
        read_audit.register_audited_read("test:review", read)  # the same again: fine
        with pytest.raises(ValueError):
            read_audit.register_audited_read(
                "test:review", read_audit.AuditedRead("other", ReadEvent.Channel.API)
            )
    finally:
        read_audit.AUDITED_READS.pop("test:review", None)


def test_a_briefly_locked_database_is_tried_again_before_the_read_is_withheld(monkeypatch):
    from django.db import OperationalError

    from imagebank import read_audit

    calls = []
    real_save = ReadEvent.save

    def flaky_save(self, *args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("database table is locked")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ReadEvent, "save", flaky_save)
    monkeypatch.setattr(read_audit, "_RETRY_DELAYS", (0, 0, 0))
    monkeypatch.setattr(read_audit.time, "sleep", lambda seconds: None)
    event = ReadEvent(kind=ReadEvent.Kind.CASE, channel=ReadEvent.Channel.PAGE, object_id=1)
    read_audit._write([event])
    assert len(calls) == 3 and ReadEvent.objects.count() == 1


def test_a_withheld_answer_ends_the_request_once(bank, monkeypatch):
    """Withholding must not close the original answer with response.close(): that sends
    request_finished mid-request, which closes the database connection under the rest of it."""
    from django.core import signals

    monkeypatch.setattr(ReadEvent, "save", _failing_save)
    finished = []

    def count(**kwargs):
        finished.append(1)

    signals.request_finished.connect(count)
    try:
        client = signed_in(bank["contributor"])
        image = bank["images"][0]
        response = client.get(reverse("imagebank:image-file", args=[image.pk, "original"]))
    finally:
        signals.request_finished.disconnect(count)
    assert response.status_code == 503
    assert finished == [1]  # the test client's own close, and nothing before it
    assert bank["case"].site.name  # the connection still answers
