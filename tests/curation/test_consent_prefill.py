"""The eligibility checklist's `consent` item is pre-filled from the case's consent basis."""

from datetime import timedelta

import pytest
from django.utils import timezone

from curation import eligibility
from imagebank.models import Case, Site
from imagebank.services import consent as consent_services
from tests.factories import make_case, make_contributor, make_site

pytestmark = pytest.mark.django_db

SUBMITTED = timezone.now() - timedelta(days=30)


def consent_prefill(case: Case) -> bool | None:
    case = Case.objects.select_related("site").get(pk=case.pk)
    [item] = [item for item in eligibility.checklist(case) if item["code"] == "consent"]
    return item["prefilled"]


def covered_case(until=None, submitted_at=SUBMITTED) -> Case:
    site = make_site(data_sharing_agreement="DSA-2024-07", data_sharing_agreement_until=until)
    case = make_case(site, make_contributor(site))
    Case.objects.filter(pk=case.pk).update(
        consent_basis="site_agreement",
        state="in_review" if submitted_at else "draft",
        submitted_at=submitted_at,
    )
    return case


def test_nothing_recorded_leaves_it_to_the_reviewer():
    assert consent_prefill(make_case()) is None


def test_an_attestation_prefills_yes():
    site = make_site()
    contributor = make_contributor(site)
    case = consent_services.attest_consent(case=make_case(site, contributor), actor=contributor)
    assert consent_prefill(case) is True


def test_an_agreement_in_force_at_the_submission_prefills_yes():
    assert consent_prefill(covered_case()) is True  # open-ended
    on_its_last_day = covered_case(until=timezone.localdate(SUBMITTED))
    assert consent_prefill(on_its_last_day) is True
    # It has ended since: what counts is the day the case was submitted.
    assert timezone.localdate(SUBMITTED) < timezone.localdate()
    assert consent_prefill(on_its_last_day) is True


def test_an_agreement_ended_before_the_submission_leaves_it_to_the_reviewer():
    ended = covered_case(until=timezone.localdate(SUBMITTED) - timedelta(days=1))
    assert consent_prefill(ended) is None
    # So does an agreement withdrawn from the site since the import.
    withdrawn = covered_case()
    Site.objects.filter(pk=withdrawn.site_id).update(data_sharing_agreement="")
    assert consent_prefill(withdrawn) is None


def test_a_draft_is_judged_by_today():
    draft = covered_case(until=timezone.localdate(), submitted_at=None)
    assert consent_prefill(draft) is True
