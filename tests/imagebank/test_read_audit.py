"""The audit of reads: each read of a case, image, image file or import report writes one row
(who, what, which case, how, when, from where); refusals, anonymous requests, writes and list
pages write none; a read that cannot be recorded is withheld; curators (only) read the log per
case and export it as formula-safe CSV."""

import csv
import io
from datetime import UTC, datetime

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import DatabaseError
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from imagebank import read_audit, storage
from imagebank.models import IngestRun, ReadEvent
from imagebank.views.reads import READS_PER_PAGE, spreadsheet_safe
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role
from tests.tokens import token_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

AGENT = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"


def signed_in(user) -> Client:
    client = Client(HTTP_USER_AGENT=AGENT)
    client.force_login(user)
    return client


def curator_with_mfa():
    curator = make_user_with_role(Role.CURATOR)
    TOTP.activate(curator, generate_totp_secret())
    return curator


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8"))))


@pytest.fixture
def bank():
    """A site with a contributor, one case with its three core images, and one finished import."""
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    images = add_core_images(case, contributor)
    run = IngestRun.objects.create(
        site=site,
        started_by=contributor,
        source_name="bank.zip",
        status=IngestRun.Status.DONE,
        report={"summary": {}, "cases": [], "problems": []},
    )
    return {"site": site, "contributor": contributor, "case": case, "images": images, "run": run}


def only_event() -> ReadEvent:
    events = list(ReadEvent.objects.all())
    assert len(events) == 1, events
    return events[0]


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


# --- the curators' pages ------------------------------------------------------------------------


def _reads_of(case, user, count: int):
    ReadEvent.objects.bulk_create(
        ReadEvent(
            user=user,
            user_email=user.email,
            kind="case",
            object_id=case.pk,
            case=case,
            channel="page",
            route="imagebank:case-detail",
            client_ip="192.0.2.1",
            at=datetime(2025, 1, 1 + n % 28, 12, 0, tzinfo=UTC),
        )
        for n in range(count)
    )


def test_a_curator_reads_who_read_a_case_newest_first_page_by_page(bank):
    case, contributor = bank["case"], bank["contributor"]
    signed_in(contributor).get(reverse("imagebank:case-detail", args=[case.pk]))
    _reads_of(case, contributor, READS_PER_PAGE + 5)
    other_case = make_case(site=bank["site"], actor=contributor)
    _reads_of(other_case, contributor, 3)

    curator = curator_with_mfa()
    client = signed_in(curator)
    url = reverse("imagebank:case-reads", args=[case.pk])
    response = client.get(url)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.paginator.count == READS_PER_PAGE + 6
    rows = list(page.object_list)
    assert len(rows) == READS_PER_PAGE
    assert all(row.case_id == case.pk for row in rows)
    assert rows[0].at >= rows[1].at >= rows[-1].at
    assert rows[0].user_agent == AGENT  # the real read, today, comes first
    assert contributor.email in response.content.decode()

    second = client.get(url, {"page": 2})
    # Six left, and the curator's reading of page 1 came on top.
    assert second.context["page"].paginator.count == READS_PER_PAGE + 7
    assert len(second.context["page"].object_list) == 7
    # The curator's own reading of the log is recorded too.
    assert ReadEvent.objects.filter(user=curator, kind="case_reads", case=case).count() == 2


@pytest.mark.parametrize("who", ["contributor", "reviewer", "researcher", "committee"])
def test_nobody_but_curators_sees_the_read_log(bank, who):
    user = {
        "contributor": bank["contributor"],
        "reviewer": make_user_with_role(Role.REVIEWER),
        "researcher": make_user_with_role(Role.RESEARCHER),
        "committee": make_user_with_role(Role.ACCESS_COMMITTEE),
    }[who]
    TOTP.activate(user, generate_totp_secret())
    client = signed_in(user)
    case = bank["case"]
    for url in (
        reverse("imagebank:case-reads", args=[case.pk]),
        reverse("imagebank:case-reads-csv", args=[case.pk]),
        reverse("imagebank:reads-export"),
    ):
        assert client.get(url).status_code == 403, url
    page = client.get(reverse("imagebank:case-detail", args=[case.pk]))
    assert reverse("imagebank:case-reads", args=[case.pk]) not in page.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(bank):
    response = Client().get(reverse("imagebank:case-reads", args=[bank["case"].pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_case_page_links_curators_and_superusers_to_the_read_log(bank, admin_user):
    case = bank["case"]
    link = reverse("imagebank:case-reads", args=[case.pk])
    for user in (curator_with_mfa(), admin_user):
        client = signed_in(user)
        page = client.get(reverse("imagebank:case-detail", args=[case.pk]))
        assert link in page.content.decode()
        assert client.get(link).status_code == 200


def test_an_unknown_case_is_a_404_for_curators():
    client = signed_in(curator_with_mfa())
    assert client.get(reverse("imagebank:case-reads", args=[999999])).status_code == 404
    assert client.get(reverse("imagebank:case-reads-csv", args=[999999])).status_code == 404


def test_the_reads_of_a_case_no_longer_in_the_bank_stay_readable(bank):
    case = bank["case"]
    _reads_of(case, bank["contributor"], 2)
    ReadEvent.objects.filter(case=case).update(case_id=424242)
    client = signed_in(curator_with_mfa())
    response = client.get(reverse("imagebank:case-reads", args=[424242]))
    assert response.status_code == 200
    assert response.context["case"] is None
    assert response.context["page"].paginator.count == 2


def test_the_case_csv_lists_its_reads_and_is_formula_safe(bank):
    case, contributor = bank["case"], bank["contributor"]
    signed_in(contributor).get(
        reverse("imagebank:image-file", args=[bank["images"][0].pk, "thumbnail"]),
        HTTP_USER_AGENT='=HYPERLINK("http://evil.example","click")',
    )
    _reads_of(make_case(site=bank["site"], actor=contributor), contributor, 2)

    response = signed_in(curator_with_mfa()).get(
        reverse("imagebank:case-reads-csv", args=[case.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="case-{case.pk}-reads.csv"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    rows = csv_rows(response)
    # The rows are read as the file is streamed, after the export's own read was recorded.
    assert [row["kind"] for row in rows] == ["case_reads", "image_file"]
    assert rows[0]["route"] == "imagebank:case-reads-csv"
    row = rows[1]
    assert row["user_email"] == contributor.email
    assert row["kind"] == "image_file" and row["variant"] == "thumbnail"
    assert row["case_id"] == str(case.pk)
    assert row["client_ip"] == "127.0.0.1"
    assert row["user_agent"] == '\'=HYPERLINK("http://evil.example","click")'
    assert datetime.fromisoformat(row["at"]).tzinfo is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("nurse@site.example", "nurse@site.example"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


def test_the_bank_wide_export_takes_a_range_of_days(bank):
    contributor = bank["contributor"]
    other = make_case(site=bank["site"], actor=contributor)
    for case, day in ((bank["case"], 1), (other, 2), (bank["case"], 3), (other, 4)):
        ReadEvent.objects.create(
            user=contributor,
            user_email=contributor.email,
            kind="case",
            object_id=case.pk,
            case=case,
            channel="api",
            route="api:case-detail",
            at=datetime(2025, 3, day, 23, 59, tzinfo=UTC),
        )
    client = signed_in(curator_with_mfa())
    url = reverse("imagebank:reads-export")

    response = client.get(url, {"since": "2025-03-02", "until": "2025-03-03"})
    assert response.status_code == 200
    assert 'filename="reads-2025-03-02-2025-03-03.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [row["at"][:10] for row in rows] == ["2025-03-03", "2025-03-02"]
    assert {row["case_id"] for row in rows} == {str(bank["case"].pk), str(other.pk)}

    def days(query):
        return [row["at"][:10] for row in csv_rows(client.get(url, query)) if row["kind"] == "case"]

    assert days({"since": "2025-03-04"}) == ["2025-03-04"]
    assert days({"until": "2025-03-01"}) == ["2025-03-01"]
    assert days({"since": "", "until": ""}) == [
        "2025-03-04",
        "2025-03-03",
        "2025-03-02",
        "2025-03-01",
    ]
    # Each export is itself recorded, as a read of no one case.
    exports = ReadEvent.objects.filter(kind="read_export")
    assert exports.count() == 4
    assert set(exports.values_list("case_id", "object_id", "channel")) == {(None, None, "file")}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"since": "2025-13-01"}, "since"),
        ({"since": "2025-02-30"}, "since"),
        ({"since": "20250101"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"until": "2025-01-01T00:00"}, "until"),
        ({"since": "2025-03-02", "until": "2025-03-01"}, "until"),
        ({"from": "2025-03-01"}, "from"),
    ],
)
def test_the_bank_wide_export_refuses_a_bad_date_naming_it(query, named):
    response = signed_in(curator_with_mfa()).get(reverse("imagebank:reads-export"), query)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{named}:")
    assert not ReadEvent.objects.exists()


# --- the admin ----------------------------------------------------------------------------------


def test_the_admin_shows_reads_read_only_and_its_case_pages_are_reads(bank, admin_user):
    _reads_of(bank["case"], bank["contributor"], 1)
    client = signed_in(admin_user)
    changelist = reverse("admin:imagebank_readevent_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(reverse("admin:imagebank_readevent_add")).status_code == 403
    event = ReadEvent.objects.get()
    change = reverse("admin:imagebank_readevent_change", args=[event.pk])
    assert client.post(change, {"user_email": "x@example.org"}).status_code == 403

    ReadEvent.objects.all().delete()
    case = bank["case"]
    assert client.get(reverse("admin:imagebank_case_change", args=[case.pk])).status_code == 200
    recorded = ReadEvent.objects.get(route="admin:imagebank_case_change")
    assert (recorded.kind, recorded.case_id, recorded.user) == ("case", case.pk, admin_user)


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
