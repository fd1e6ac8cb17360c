"""The curators' pages of the automated checks ("Check thresholds", "Quality flags") and the
overlay file view: who may see them, what they show, the threshold form's validation and its
audit (updated_by), the flag rates counted by the database over a period, and the overlay's
permission, bytes, signed-URL redirect and read audit."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from curation.checks import defaults
from curation.models import CheckResult, CheckThreshold
from imagebank import storage
from imagebank.models import Image, ReadEvent
from tests.curation.test_case_checks_panel import (
    case_in_review,
    checked_case,
    overlay_png,
    result,
    stored_overlay,
)
from tests.factories import make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.tokens import token_for
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

THRESHOLDS = "/curation/thresholds/"
FLAGS = "/curation/flags/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def curator():
    user = make_user_with_role(Role.CURATOR)
    with_totp(user)
    return user


@pytest.fixture
def test_check(monkeypatch):
    """A check with two thresholds, in the defaults for this test only (the real defaults are
    read at run time too, and the page lists them all)."""
    monkeypatch.setitem(defaults.DEFAULTS, "test_blur", {"warn_below": 120.0, "fail_below": 40.0})
    return "test_blur"


# --- who sees them ------------------------------------------------------------------------------


def test_the_urls():
    assert reverse("curation:thresholds") == THRESHOLDS
    assert reverse("curation:flags") == FLAGS
    assert reverse("curation:check-overlay", args=[7]) == "/files/checks/7/overlay/"


@pytest.mark.parametrize("url", [THRESHOLDS, FLAGS])
def test_contributors_and_reviewers_are_refused_and_not_offered_the_pages(url):
    for user in (make_contributor(make_site()), make_user_with_role(Role.REVIEWER)):
        client = signed_in(user)
        assert client.get(url).status_code == 403
        assert url not in client.get(reverse("portal:dashboard")).content.decode()
    assert signed_in(make_contributor()).post(THRESHOLDS, {}).status_code == 403


@pytest.mark.parametrize("url", [THRESHOLDS, FLAGS])
def test_a_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("url", [THRESHOLDS, FLAGS])
def test_curators_and_superusers_see_them_and_find_them_in_the_navigation(url, admin_user):
    for user in (curator(), admin_user):
        client = signed_in(user)
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert f'href="{url}"' in client.get(reverse("portal:dashboard")).content.decode()


def test_removing_an_override_is_for_curators_only(test_check):
    override = CheckThreshold.objects.create(
        check_name=test_check, parameter="warn_below", value=100
    )
    url = reverse("curation:threshold-remove", args=[override.pk])
    for user in (make_contributor(), make_user_with_role(Role.REVIEWER)):
        assert signed_in(user).post(url).status_code == 403
    assert signed_in(curator()).get(url).status_code == 405
    assert CheckThreshold.objects.filter(pk=override.pk).exists()


# --- thresholds ---------------------------------------------------------------------------------


def test_every_check_and_threshold_is_listed_with_its_default_and_overrides(test_check):
    kisumu = make_site("kisumu", name="Kisumu County Hospital")
    author = curator()
    CheckThreshold.objects.create(
        check_name=test_check, parameter="warn_below", value=150, updated_by=author
    )
    CheckThreshold.objects.create(
        check_name=test_check, parameter="warn_below", site=kisumu, value=90, updated_by=author
    )
    CheckThreshold.objects.create(
        check_name=test_check,
        parameter="warn_below",
        site=kisumu,
        capture_device="Leisegang 3ML",
        value=80,
    )
    CheckThreshold.objects.create(
        check_name=test_check, parameter="warn_below", capture_device="EVA", value=70
    )
    page = signed_in(author).get(THRESHOLDS).content.decode()
    for name, values in defaults.DEFAULTS.items():
        assert f'data-threshold-check="{name}"' in page
        for parameter in values:
            assert f'data-parameter="{name}:{parameter}"' in page
    row = page.split(f'data-parameter="{test_check}:warn_below"', 1)[1].split("</tr>", 1)[0]
    assert '<td data-label="Default" class="num" data-default>120</td>' in row
    # Every scope, widest first, each with its value and who set it.
    scopes = [part.split("</span>", 1)[0] for part in row.split("data-scope>")[1:]]
    assert scopes == [
        "every site · every device",
        "every site · EVA",
        "Kisumu County Hospital · every device",
        "Kisumu County Hospital · Leisegang 3ML",
    ]
    assert ">150<" in row and ">90<" in row and ">80<" in row and ">70<" in row
    assert "set by" in row and (author.full_name or author.email) in row
    other = page.split(f'data-parameter="{test_check}:fail_below"', 1)[1].split("</tr>", 1)[0]
    assert "the default is in force everywhere" in other


def test_saving_an_override_records_who_and_says_how_to_run_the_checks_again(test_check):
    kisumu = make_site("kisumu", name="Kisumu County Hospital")
    author = curator()
    client = signed_in(author)
    response = client.post(
        THRESHOLDS,
        {
            "threshold": f"{test_check}:warn_below",
            "site": kisumu.pk,
            "capture_device": "  Leisegang   3ML ",
            "value": "95.5",
        },
    )
    assert response.status_code == 302 and response["Location"] == THRESHOLDS
    override = CheckThreshold.objects.get()
    assert (override.check_name, override.parameter, override.site, override.value) == (
        test_check,
        "warn_below",
        kisumu,
        95.5,
    )
    assert override.capture_device == "Leisegang 3ML"
    assert override.updated_by == author
    message = [str(m) for m in get_messages(response.wsgi_request)][0]
    assert "python manage.py run_checks --force" in message
    assert "Kisumu County Hospital · Leisegang 3ML" in message

    # The same scope again changes the value (one row), by whoever saved it last.
    other = curator()
    signed_in(other).post(
        THRESHOLDS,
        {
            "threshold": f"{test_check}:warn_below",
            "site": kisumu.pk,
            "capture_device": "Leisegang 3ML",
            "value": "80",
        },
    )
    override = CheckThreshold.objects.get()
    assert override.value == 80 and override.updated_by == other

    # For every site and device: another row.
    signed_in(other).post(THRESHOLDS, {"threshold": f"{test_check}:warn_below", "value": "1e2"})
    assert CheckThreshold.objects.count() == 2
    assert CheckThreshold.objects.get(site=None, capture_device="").value == 100


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"threshold": "no_such_check:warn_below", "value": "1"}, "threshold", "valid choice"),
        ({"threshold": "test_blur:no_such_parameter", "value": "1"}, "threshold", "valid choice"),
        ({"threshold": "test_blur", "value": "1"}, "threshold", "valid choice"),
        ({"threshold": "", "value": "1"}, "threshold", "required"),
        ({"threshold": "test_blur:warn_below", "value": "abc"}, "value", "number"),
        ({"threshold": "test_blur:warn_below", "value": ""}, "value", "required"),
        ({"threshold": "test_blur:warn_below", "value": "inf"}, "value", "number"),
        ({"threshold": "test_blur:warn_below", "value": "nan"}, "value", "number"),
        ({"threshold": "test_blur:warn_below", "value": "1", "site": "999999"}, "site", "valid"),
        ({"threshold": "test_blur:warn_below", "value": "1", "site": "x"}, "site", "valid"),
    ],
)
def test_the_form_refuses_what_is_not_a_known_threshold_a_number_or_a_site(
    test_check, data, field, words
):
    response = signed_in(curator()).post(THRESHOLDS, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and words in " ".join(errors[field])
    assert not CheckThreshold.objects.exists()
    # The error is on the page, next to its field.
    assert "errorlist" in response.content.decode()


def test_a_parameter_the_defaults_no_longer_have_is_refused(test_check, monkeypatch):
    form_choice = f"{test_check}:warn_below"
    monkeypatch.setitem(defaults.DEFAULTS, test_check, {"fail_below": 40.0})
    response = signed_in(curator()).post(THRESHOLDS, {"threshold": form_choice, "value": "3"})
    assert response.status_code == 400


def test_change_fills_the_form_and_remove_puts_the_default_back(test_check):
    site = make_site(name="Clinic A")
    override = CheckThreshold.objects.create(
        check_name=test_check, parameter="fail_below", site=site, capture_device="EVA", value=33
    )
    client = signed_in(curator())
    form = client.get(THRESHOLDS, {"edit": override.pk}).context["form"]
    assert form.initial == {
        "threshold": f"{test_check}:fail_below",
        "site": site.pk,
        "capture_device": "EVA",
        "value": 33,
    }
    response = client.post(reverse("curation:threshold-remove", args=[override.pk]))
    assert response.status_code == 302
    assert not CheckThreshold.objects.exists()
    message = [str(m) for m in get_messages(response.wsgi_request)][0]
    assert "run_checks --force" in message
    assert client.post(reverse("curation:threshold-remove", args=[override.pk])).status_code == 404


def test_overrides_of_thresholds_no_check_has_are_shown_to_be_removed():
    stale = CheckThreshold.objects.create(check_name="retired_check", parameter="x", value=1)
    page = signed_in(curator()).get(THRESHOLDS).content.decode()
    block = page.split("data-stale-overrides", 1)[1]
    assert f'data-override="{stale.pk}"' in block and "retired_check.x" in block


# --- quality flags ------------------------------------------------------------------------------


def flag_bank():
    """Two sites: at Kisumu a case whose first image (device EVA) has a blood failure and a glare
    warning, the second image passes focus; at Mombasa one warning of two results."""
    kisumu = make_site("kisumu", name="Kisumu")
    mombasa = make_site("mombasa", name="Mombasa")
    case, images, rows = checked_case(site=kisumu)
    Image.objects.filter(pk=images[0].pk).update(capture_device="EVA")
    other, other_images = case_in_review(site=mombasa)
    result(other, other_images[0], "glare", "warn", value=0.07, threshold=0.05)
    result(other, other_images[1], "glare", "pass", value=0.01, threshold=0.05)
    return case, images, rows, other, other_images


def rate_row(rates, key):
    return next(rate for rate in rates if rate.key == key)


def test_flag_rates_per_site_device_and_check():
    case, images, rows, other, other_images = flag_bank()
    response = signed_in(curator()).get(FLAGS)
    assert response.status_code == 200
    rates = response.context["rates"]
    # Kisumu: sequence pass, blood fail, glare warn, focus pass (the older version not counted),
    # exposure error.
    kisumu = rate_row(rates.by_site, "kisumu")
    assert (kisumu.total, kisumu.warned, kisumu.failed, kisumu.errors) == (5, 1, 1, 1)
    assert kisumu.rate == pytest.approx(2 / 5) and kisumu.label == "Kisumu"
    mombasa = rate_row(rates.by_site, "mombasa")
    assert (mombasa.total, mombasa.warned, mombasa.failed) == (2, 1, 0)
    assert rates.total == 7
    # Devices: image-level results only.
    eva = rate_row(rates.by_device, "EVA")
    assert (eva.total, eva.warned, eva.failed) == (2, 1, 1)
    unrecorded = rate_row(rates.by_device, "")
    assert unrecorded.total == 4  # focus, exposure (Kisumu), two glare (Mombasa)
    glare = rate_row(rates.by_check, "glare")
    assert (glare.total, glare.warned) == (3, 2) and glare.rate == pytest.approx(2 / 3)
    assert rate_row(rates.by_check, "focus").total == 1
    page = response.content.decode()
    site_table = page.split('data-flag-rates="site"', 1)[1].split("</table>", 1)[0]
    kisumu_row = site_table.split('data-key="kisumu"', 1)[1].split("</tr>", 1)[0]
    assert "<span data-rate>40 %</span>" in kisumu_row
    assert 'data-flag-rates="device"' in page and 'data-flag-rates="check"' in page


def test_the_most_flagged_images_come_first_with_links_to_their_cases():
    case, images, rows, other, other_images = flag_bank()
    response = signed_in(curator()).get(FLAGS)
    flagged = [row["flagged"] for row in response.context["images"]]
    assert [(f.image_id, f.warned, f.failed) for f in flagged] == [
        (images[0].pk, 1, 1),
        (other_images[0].pk, 1, 0),
    ]
    assert dict(flagged[0].checks) == {"blood": "fail", "glare": "warn"}
    page = response.content.decode()
    table = page.split("data-most-flagged", 1)[1].split("</table>", 1)[0]
    assert reverse("imagebank:case-detail", args=[case.pk]) in table
    assert reverse("imagebank:case-detail", args=[other.pk]) in table


def test_the_period_chooses_the_results_checked_in_it():
    case, images, rows, other, other_images = flag_bank()
    CheckResult.objects.filter(case=other).update(checked_at=datetime(2025, 3, 10, 12, tzinfo=UTC))
    client = signed_in(curator())
    march = client.get(FLAGS, {"since": "2025-03-10", "until": "2025-03-10"}).context["rates"]
    assert [rate.key for rate in march.by_site] == ["mombasa"]
    assert march.total == 2
    later = client.get(FLAGS, {"since": "2025-03-11"}).context["rates"]
    assert [rate.key for rate in later.by_site] == ["kisumu"]
    before = client.get(FLAGS, {"until": "2025-03-09"})
    assert before.context["rates"].total == 0 and before.context["images"] == []
    assert "No results in this period." in before.content.decode()


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"since": "yesterday"}, "since", "is not a date; give it as YYYY-MM-DD"),
        ({"since": "20250131"}, "since", "YYYY-MM-DD"),
        ({"until": "2025-02-30"}, "until", "YYYY-MM-DD"),
        ({"since": "2025-03-02", "until": "2025-03-01"}, "until", "before its start"),
    ],
)
def test_a_wrong_period_is_a_400_naming_the_field(query, field, words):
    response = signed_in(curator()).get(FLAGS, query)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and words in " ".join(errors[field])
    assert words in response.content.decode().replace("&quot;", '"')


def test_the_flags_are_counted_by_the_database_not_row_by_row():
    """The page's queries do not grow with the number of results."""
    flag_bank()
    client = signed_in(curator())
    client.get(FLAGS)
    with CaptureQueriesContext(connection) as few:
        client.get(FLAGS)
    for seed in range(3):
        more, more_images = case_in_review(site=make_site())
        for image in more_images:
            result(more, image, "blood", "fail" if seed else "warn", value=0.5)
            result(more, image, "glare", "pass", value=0.0)
    with CaptureQueriesContext(connection) as many:
        response = client.get(FLAGS)
    assert response.context["rates"].total == 7 + 3 * 6
    assert len(many) == len(few)


# --- the overlay file ---------------------------------------------------------------------------


def test_the_overlay_is_served_to_whoever_sees_the_case(local_storage):
    case, images, rows = checked_case()
    url = reverse("curation:check-overlay", args=[rows["blood"].pk])
    admin_curator = curator()
    for user in (case.created_by, make_user_with_role(Role.REVIEWER), admin_curator):
        response = signed_in(user).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == overlay_png()
        assert "no-store" in response["Cache-Control"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert f"check-{rows['blood'].pk}-overlay.png" in response["Content-Disposition"]
    # The read is audited as a read of the case's file, with the result's id.
    event = ReadEvent.objects.filter(route="curation:check-overlay").latest("pk")
    assert (event.kind, event.channel, event.object_id, event.case_id, event.user) == (
        "check_overlay",
        "file",
        rows["blood"].pk,
        case.pk,
        admin_curator,
    )


def test_an_api_token_reads_the_overlay_as_the_image_files(client, local_storage):
    case, images, rows = checked_case()
    url = reverse("curation:check-overlay", args=[rows["blood"].pk])
    token = token_for(case.created_by)
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    event = ReadEvent.objects.filter(route="curation:check-overlay").latest("pk")
    assert (event.object_id, event.user) == (rows["blood"].pk, case.created_by)
    # A refused token is a 401 saying why; another user's token sees nothing of the case.
    refused = client.get(url, HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert refused.status_code == 401
    outsider = token_for(make_contributor())
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {outsider}").status_code == 404


def test_the_overlay_is_a_404_for_anyone_who_cannot_see_the_case(client):
    case, images, rows = checked_case()
    url = reverse("curation:check-overlay", args=[rows["blood"].pk])
    assert signed_in(make_contributor()).get(url).status_code == 404
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # A draft is not a reviewer's to see, nor its overlays.
    draft, draft_images = case_in_review(state="draft")
    hidden = result(draft, draft_images[0], "blood", "warn", overlay=stored_overlay("draft"))
    reviewer = signed_in(make_user_with_role(Role.REVIEWER))
    assert reviewer.get(reverse("curation:check-overlay", args=[hidden.pk])).status_code == 404
    # A result without an overlay, and one that does not exist.
    focus = reverse("curation:check-overlay", args=[rows["focus"].pk])
    assert signed_in(case.created_by).get(focus).status_code == 404
    missing = reverse("curation:check-overlay", args=[999999])
    assert signed_in(case.created_by).get(missing).status_code == 404
    assert not ReadEvent.objects.filter(route="curation:check-overlay").exists()


def test_on_object_storage_the_overlay_is_a_redirect_to_a_signed_url(monkeypatch):
    case, images, rows = checked_case()
    signed = []

    def signed_url(key):
        signed.append(key)
        return f"https://s3.example.org/bucket/{key}?X-Amz-Signature=abc"

    monkeypatch.setattr(storage, "signed_url", signed_url)
    response = signed_in(case.created_by).get(
        reverse("curation:check-overlay", args=[rows["glare"].pk])
    )
    assert response.status_code == 302
    assert response["Location"].startswith("https://s3.example.org/bucket/checks/")
    assert signed == [rows["glare"].overlay.name]
    assert "no-store" in response["Cache-Control"]
    assert ReadEvent.objects.filter(
        route="curation:check-overlay", object_id=rows["glare"].pk, case_id=case.pk
    ).exists()


def test_a_missing_overlay_file_is_a_404(local_storage):
    case, images, rows = checked_case()
    (local_storage / rows["blood"].overlay.name).unlink()
    response = signed_in(case.created_by).get(
        reverse("curation:check-overlay", args=[rows["blood"].pk])
    )
    assert response.status_code == 404


def test_the_results_admin_is_read_only(admin_user):
    case, images, rows = checked_case()
    client = signed_in(admin_user)
    listing = client.get("/admin/curation/checkresult/")
    assert listing.status_code == 200
    assert client.get("/admin/curation/checkresult/add/").status_code == 403
    change = client.get(f"/admin/curation/checkresult/{rows['blood'].pk}/change/")
    assert change.status_code == 200 and b'name="verdict"' not in change.content
    assert client.get("/admin/curation/checkthreshold/add/").status_code == 200


def test_a_threshold_saved_in_the_admin_records_who_and_is_validated(admin_user, test_check):
    client = signed_in(admin_user)
    bad = client.post(
        "/admin/curation/checkthreshold/add/",
        {"check_name": test_check, "parameter": "nope", "value": "1", "capture_device": ""},
    )
    assert bad.status_code == 200 and not CheckThreshold.objects.exists()
    client.post(
        "/admin/curation/checkthreshold/add/",
        {"check_name": test_check, "parameter": "warn_below", "value": "1", "capture_device": ""},
    )
    assert CheckThreshold.objects.get().updated_by == admin_user


def test_results_are_listed_newest_version_only_even_on_the_same_second():
    case, images = case_in_review()
    older = result(case, images[0], "focus", "fail", version="1")
    newer = result(case, images[0], "focus", "pass", version="2")
    same = datetime.now(UTC) - timedelta(minutes=1)
    CheckResult.objects.filter(pk__in=[older.pk, newer.pk]).update(checked_at=same)
    from curation import selectors

    shown = selectors.case_results(case.created_by, case)
    assert [r.pk for r in shown] == [newer.pk]
