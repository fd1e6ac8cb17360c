"""Research consent: the basis a case records (the contributor's attestation, or the site's
data-sharing agreement for a retrospective import), who sets it and where, and its history."""

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.report import IngestReport, Outcome
from imagebank.ingest.sources import ingest_paths
from imagebank.ingest.writer import write_case
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent, IngestRun, Site
from imagebank.services import cases as case_services
from imagebank.services import consent as consent_services
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def edits(case: Case) -> list[dict]:
    return list(
        case.events.filter(kind=CaseEvent.Kind.EDITED)
        .order_by("pk")
        .values_list("changes", flat=True)
    )


def refused_by_the_database(**values) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=values.pop("pk")).update(**values)


# --- the model ----------------------------------------------------------------------------------


def test_a_new_case_records_no_consent(site, contributor):
    case = make_case(site, contributor)
    assert (case.consent_basis, case.consent_attested_by, case.consent_attested_at) == (
        "",
        None,
        None,
    )
    assert case.consent_attested is False


def test_the_database_keeps_the_basis_a_code_and_an_attestation_with_who_and_when(
    site, contributor
):
    case = make_case(site, contributor)
    now = timezone.now()
    refused_by_the_database(pk=case.pk, consent_basis="verbal")
    refused_by_the_database(pk=case.pk, consent_basis="attested")  # nobody, never
    refused_by_the_database(pk=case.pk, consent_basis="attested", consent_attested_at=now)
    refused_by_the_database(pk=case.pk, consent_basis="attested", consent_attested_by=contributor)
    # Who and when go with an attestation only.
    refused_by_the_database(pk=case.pk, consent_attested_by=contributor, consent_attested_at=now)
    refused_by_the_database(
        pk=case.pk,
        consent_basis="site_agreement",
        consent_attested_by=contributor,
        consent_attested_at=now,
    )
    Case.objects.filter(pk=case.pk).update(
        consent_basis="attested", consent_attested_by=contributor, consent_attested_at=now
    )
    Case.objects.filter(pk=case.pk).update(
        consent_basis="site_agreement", consent_attested_by=None, consent_attested_at=None
    )


def test_a_sites_agreement_is_in_force_until_its_last_day_or_open_ended():
    open_ended = make_site(data_sharing_agreement="DSA-2024-07")
    ending = make_site(data_sharing_agreement="DSA-2023-01", data_sharing_agreement_until=TODAY)
    none = make_site()
    assert open_ended.agreement_in_force_on(TODAY + timedelta(days=4000))
    assert ending.agreement_in_force_on(TODAY)
    assert not ending.agreement_in_force_on(TODAY + timedelta(days=1))
    assert not none.agreement_in_force_on(TODAY)


def test_an_agreement_end_needs_its_reference_and_the_reference_is_only_a_reference():
    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.filter(pk=make_site().pk).update(data_sharing_agreement_until=TODAY)
    with pytest.raises(ValidationError) as raised:
        make_site(data_sharing_agreement_until=TODAY)
    assert "__all__" in raised.value.message_dict
    for reference in ("DSA-2024-07", "IARC/DSA 12.3", "agreement_7"):
        site = make_site(data_sharing_agreement=reference)
        site.full_clean()
    for reference in ("DSA; patient list: see email", "DSA\n2024", "<b>DSA</b>", "-DSA"):
        with pytest.raises(ValidationError) as raised:
            make_site(data_sharing_agreement=reference)
        assert "data_sharing_agreement" in raised.value.message_dict


# --- the services -------------------------------------------------------------------------------


def test_the_contributor_attests_with_who_and_when_in_the_history(site, contributor):
    case = make_case(site, contributor)
    before = timezone.now()
    case = consent_services.attest_consent(case=case, actor=contributor)
    case.refresh_from_db()
    assert case.consent_basis == "attested" and case.consent_attested
    assert case.consent_attested_by == contributor
    assert before <= case.consent_attested_at <= timezone.now()
    event = case.events.get(kind=CaseEvent.Kind.EDITED)
    assert event.actor == contributor
    assert event.changes == {"consent_basis": {"from": "", "to": "attested"}}

    # Attesting again changes nothing, the first attestation's time included.
    at = case.consent_attested_at
    consent_services.attest_consent(case=case, actor=contributor)
    case.refresh_from_db()
    assert case.consent_attested_at == at and len(edits(case)) == 1

    consent_services.clear_consent_attestation(case=case, actor=contributor, reason="mistake")
    case.refresh_from_db()
    assert (case.consent_basis, case.consent_attested_by, case.consent_attested_at) == (
        "",
        None,
        None,
    )
    assert edits(case)[-1] == {"consent_basis": {"from": "attested", "to": ""}}
    assert case.events.latest("pk").reason == "mistake"


def test_only_the_sites_contributors_attest_and_only_while_the_case_is_theirs(
    site, contributor, django_capture_on_commit_callbacks
):
    case = make_case(site, contributor)
    outsiders = [
        make_contributor(make_site()),
        make_user_with_role(Role.REVIEWER),
        make_user_with_role(Role.CURATOR),
    ]
    for outsider in outsiders:
        with pytest.raises(PermissionDenied):
            consent_services.attest_consent(case=case, actor=outsider)
    add_core_images(case, contributor)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.submit_case(case=case, actor=contributor)
    with pytest.raises(PermissionDenied):
        consent_services.attest_consent(case=case, actor=contributor)
    case.refresh_from_db()
    assert case.consent_basis == "" and not edits(case)


def test_consent_is_not_needed_to_submit(site, contributor, django_capture_on_commit_callbacks):
    case = make_case(site, contributor)
    add_core_images(case, contributor)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.submit_case(case=case, actor=contributor)
    assert case.state != CaseState.DRAFT and case.consent_basis == ""


def test_clearing_never_removes_a_site_agreements_coverage(contributor, site):
    case = make_case(site, contributor)
    Case.objects.filter(pk=case.pk).update(consent_basis="site_agreement")
    consent_services.clear_consent_attestation(case=case, actor=contributor)
    case_services.update_case(case=case, actor=contributor, values={}, consent_attested=False)
    case.refresh_from_db()
    assert case.consent_basis == "site_agreement" and not edits(case)
    # Attesting replaces it: the contributor's word is the stronger basis.
    case_services.update_case(case=case, actor=contributor, values={}, consent_attested=True)
    case.refresh_from_db()
    assert case.consent_basis == "attested"
    assert edits(case) == [{"consent_basis": {"from": "site_agreement", "to": "attested"}}]


def test_an_edit_records_the_attestation_with_the_other_changes_in_one_event(site, contributor):
    case = make_case(site, contributor)
    case_services.update_case(
        case=case,
        actor=contributor,
        values={"hpv_result": "positive"},
        consent_attested=True,
        reason="consent form found",
    )
    [changes] = edits(case)
    assert changes == {
        "hpv_result": {"from": "", "to": "positive"},
        "consent_basis": {"from": "", "to": "attested"},
    }
    # None leaves the attestation as it is.
    case_services.update_case(case=case, actor=contributor, values={"hpv_result": "negative"})
    case.refresh_from_db()
    assert case.consent_basis == "attested"


@pytest.mark.parametrize(
    "values",
    [
        {"consent_basis": "attested"},
        {"consent_basis": "site_agreement"},
        {"consent_attested_by": 1},
        {"consent_attested_at": "2024-05-01T10:00:00Z"},
    ],
)
def test_the_basis_is_never_given_as_metadata(site, contributor, values):
    with pytest.raises(ValidationError) as raised:
        make_case(site, contributor, **values)
    assert set(values) <= set(raised.value.message_dict)
    case = make_case(site, contributor)
    with pytest.raises(ValidationError):
        case_services.update_case(case=case, actor=contributor, values=values)


def test_a_case_created_with_the_attestation_has_it_from_the_start(site, contributor):
    case = make_case(site, contributor, consent_attested=True)
    assert case.consent_basis == "attested" and case.consent_attested_by == contributor
    created = case.events.get(kind=CaseEvent.Kind.CREATED)
    assert created.changes == {"consent_basis": {"from": "", "to": "attested"}}


# --- imports ------------------------------------------------------------------------------------


def imported(site, contributor, reference: str = "Case 1", seed: int = 1):
    report = IngestReport()
    data = render_jpeg("after_acetic_acid", seed=seed, size=(160, 120))
    item = CaseItem(
        reference=reference,
        local_patient_id=f"P-{reference}",
        metadata={"age_at_exam": 40},
        images=[ImageItem(filename=f"{reference}.jpg", read=lambda: data, step="after_lugol")],
    )
    result = write_case(site=site, actor=contributor, item=item, report=report)
    assert result.outcome == Outcome.CREATED
    return Case.objects.get(pk=result.case_id), result, report


@pytest.mark.usefixtures("local_storage")
@pytest.mark.parametrize(
    ("agreement", "until", "basis"),
    [
        ("DSA-2024-07", None, "site_agreement"),
        ("DSA-2024-07", TODAY, "site_agreement"),
        ("DSA-2019-01", TODAY - timedelta(days=1), ""),
        ("", None, ""),
    ],
    ids=["open-ended", "last-day", "ended", "none"],
)
def test_an_import_is_covered_only_by_an_agreement_in_force(agreement, until, basis):
    site = make_site(data_sharing_agreement=agreement, data_sharing_agreement_until=until)
    contributor = make_contributor(site)
    case, result, report = imported(site, contributor)
    assert case.consent_basis == basis and case.consent_attested_by is None
    assert result.consent_basis == basis
    assert report.summary()["cases_without_consent"] == (0 if basis else 1)
    created = case.events.get(kind=CaseEvent.Kind.CREATED)
    assert created.changes == ({"consent_basis": {"from": "", "to": basis}} if basis else {})


@pytest.mark.usefixtures("local_storage")
def test_cases_made_by_hand_are_never_covered_by_the_agreement():
    site = make_site(data_sharing_agreement="DSA-2024-07")
    assert make_case(site, make_contributor(site)).consent_basis == ""


@pytest.mark.usefixtures("local_storage")
def test_the_import_report_says_per_case_when_no_consent_is_recorded(tmp_path, client):
    site = make_site()
    contributor = make_contributor(site)
    path = tmp_path / "bank-a.jpg"
    path.write_bytes(render_jpeg("after_lugol", seed=3, size=(160, 120)))
    report = ingest_paths([path], site=site, actor=contributor)
    stored = report.to_dict()
    assert stored["cases"][0]["consent_basis"] == ""
    assert stored["summary"]["cases_without_consent"] == 1
    run = IngestRun.objects.create(
        site=site,
        started_by=contributor,
        source_name="bank-a.jpg",
        status=IngestRun.Status.DONE,
        report=stored,
    )
    client.force_login(contributor)
    page = client.get(reverse("imagebank:import-detail", args=[run.pk])).content.decode()
    assert "Research consent" in page
    assert 'data-consent-basis=""' in page
    assert "Not recorded: attest it on the case page, or the reviewers decide" in page
    assert "Cases with no research consent recorded" in page

    covered = make_site(data_sharing_agreement="DSA-2024-07")
    other = make_contributor(covered)
    report = ingest_paths([path], site=covered, actor=other)
    run = IngestRun.objects.create(
        site=covered,
        started_by=other,
        source_name="bank-a.jpg",
        status=IngestRun.Status.DONE,
        report=report.to_dict(),
    )
    client.force_login(other)
    page = client.get(reverse("imagebank:import-detail", args=[run.pk])).content.decode()
    assert 'data-consent-basis="site_agreement"' in page
    assert "The site&#x27;s data-sharing agreement" in page


# --- the case pages -----------------------------------------------------------------------------


def edit_url(case: Case) -> str:
    return reverse("imagebank:case-edit", args=[case.pk])


def detail_url(case: Case) -> str:
    return reverse("imagebank:case-detail", args=[case.pk])


def test_the_edit_form_ticks_and_unticks_the_attestation(client, site, contributor):
    case = make_case(site, contributor)
    client.force_login(contributor)
    form = client.get(edit_url(case)).content.decode()
    assert "I attest that the subject gave informed consent for the research use of these" in form
    assert 'name="consent_attested"' in form and "never the consent form" in form
    response = client.post(
        edit_url(case), {"adequacy": "adequate", "transformation_zone": "type_1", **TICKED}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.consent_basis == "attested" and case.consent_attested_by == contributor
    form = client.get(edit_url(case)).content.decode()
    assert re.search(r'<input type="checkbox" name="consent_attested"[^>]* checked>', form)

    page = client.get(detail_url(case)).content.decode()
    assert 'data-consent-basis="attested"' in page
    assert "Attested by the contributor" in page
    assert "Research consent: not recorded → Attested by the contributor" in page  # history

    response = client.post(
        edit_url(case), {"adequacy": "adequate", "transformation_zone": "type_1"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.consent_basis, case.consent_attested_by) == ("", None)
    assert edits(case)[-1] == {"consent_basis": {"from": "attested", "to": ""}}
    assert "Not recorded" in client.get(detail_url(case)).content.decode()


TICKED = {"consent_attested": "on"}


def test_the_new_case_form_takes_the_attestation(client, site, contributor):
    client.force_login(contributor)
    assert 'name="consent_attested"' in client.get(reverse("imagebank:case-new")).content.decode()
    response = client.post(
        reverse("imagebank:case-new"), {"site": site.pk, "local_patient_id": "K-1", **TICKED}
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.consent_basis == "attested" and case.consent_attested_by == contributor


def test_the_case_page_shows_the_sites_agreement(client, contributor):
    site = contributor.site_memberships.get().site
    Site.objects.filter(pk=site.pk).update(data_sharing_agreement="DSA-2024-07")
    case = make_case(site, contributor)
    Case.objects.filter(pk=case.pk).update(consent_basis="site_agreement")
    client.force_login(contributor)
    page = client.get(detail_url(case)).content.decode()
    assert 'data-consent-basis="site_agreement"' in page and "(DSA-2024-07)" in page
    form = client.get(edit_url(case)).content.decode()
    assert "covered by your site's data-sharing agreement (DSA-2024-07)" in form
    # Saving the form without the box ticked keeps the coverage.
    client.post(edit_url(case), {"adequacy": "adequate", "transformation_zone": "type_1"})
    case.refresh_from_db()
    assert case.consent_basis == "site_agreement"


# --- the API ------------------------------------------------------------------------------------


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


def case_api_url(case: Case) -> str:
    return f"/api/cases/{case.pk}/"


def test_the_api_shows_the_basis_and_takes_the_attestation(site, contributor):
    case = make_case(site, contributor)
    api = api_for(contributor)
    shown = api.get(case_api_url(case)).json()
    assert (shown["consent_basis"], shown["consent_attested"]) == ("", False)
    assert shown["consent_attested_at"] is None
    assert "source_reference" in shown and "image_count" in shown  # the fields it had stay

    answer = api.patch(case_api_url(case), {"consent_attested": True}, format="json")
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["consent_basis"], answer.json()["consent_attested"]) == (
        "attested",
        True,
    )
    assert answer.json()["consent_attested_at"]
    case.refresh_from_db()
    assert case.consent_attested_by == contributor

    # PUT replaces the clinical fields; an attestation not sent is left as it is.
    answer = api.put(case_api_url(case), {"notes": "again"}, format="json")
    assert answer.status_code == 200 and answer.json()["consent_attested"] is True
    answer = api.put(case_api_url(case), {"notes": "again"})  # form-encoded, box absent
    assert answer.status_code == 200 and answer.json()["consent_attested"] is True

    answer = api.patch(case_api_url(case), {"consent_attested": False}, format="json")
    assert answer.json()["consent_basis"] == "" and answer.json()["consent_attested"] is False
    assert edits(case)[-1] == {"consent_basis": {"from": "attested", "to": ""}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"consent_basis": "attested"}, "consent_basis"),
        ({"consent_attested_at": "2024-05-01T10:00:00Z"}, "consent_attested_at"),
        ({"consent_attested": "perhaps"}, "consent_attested"),
        ({"consent_attested": None}, "consent_attested"),
    ],
)
def test_the_api_refuses_a_basis_or_a_bad_attestation_naming_the_field(
    site, contributor, body, field
):
    case = make_case(site, contributor)
    answer = api_for(contributor).patch(case_api_url(case), body, format="json")
    assert answer.status_code == 400 and field in answer.json()
    case.refresh_from_db()
    assert case.consent_basis == ""


def test_the_api_creates_a_case_with_the_attestation(site, contributor):
    answer = api_for(contributor).post(
        "/api/cases/",
        {"site": site.pk, "local_patient_id": "K-9", "consent_attested": True},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["consent_basis"] == "attested"


def test_the_api_refuses_an_attestation_on_a_case_out_of_the_contributors_hands(
    site, contributor, django_capture_on_commit_callbacks
):
    case = make_case(site, contributor)
    add_core_images(case, contributor)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.submit_case(case=case, actor=contributor)
    answer = api_for(contributor).patch(
        case_api_url(case), {"consent_attested": True}, format="json"
    )
    assert answer.status_code == 403
    case.refresh_from_db()
    assert case.consent_basis == ""


# --- the site admin -----------------------------------------------------------------------------


def test_the_site_admin_shows_and_saves_the_agreement(admin_client):
    site = make_site()
    url = reverse("admin:imagebank_site_change", args=[site.pk])
    form = admin_client.get(url).context["adminform"].form
    assert {"data_sharing_agreement", "data_sharing_agreement_until"} <= set(form.fields)
    response = admin_client.post(
        url,
        {
            "name": site.name,
            "country": site.country,
            "clinical_setting": site.clinical_setting,
            "devices": "[]",
            "submission_requirements": list(site.submission_requirements),
            "data_sharing_agreement": "DSA-2024-07",
            "data_sharing_agreement_until": "2030-12-31",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    site.refresh_from_db()
    assert site.data_sharing_agreement == "DSA-2024-07"
    assert site.data_sharing_agreement_until == date(2030, 12, 31)
