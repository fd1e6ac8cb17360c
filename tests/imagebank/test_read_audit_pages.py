"""The audit of reads for curators: the per-case log page, the CSV exports (per case and
bank-wide, formula-safe, with validated dates) and the admin; nobody else sees them."""

from datetime import UTC, datetime

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse

from imagebank.models import ReadEvent
from imagebank.views.reads import READS_PER_PAGE, spreadsheet_safe
from tests.factories import (
    make_case,
    make_user_with_role,
)
from tests.imagebank.read_audit_support import (
    AGENT,
    csv_rows,
    curator_with_mfa,
    make_bank,
    signed_in,
)
from tests.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def bank():
    return make_bank()


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
