"""The basis of a case's research consent (Case.consent_basis): the contributor's attestation,
or the site's data-sharing agreement for a retrospective import.

The bank keeps only the basis and, for an attestation, who gave it and when: never a consent
form or any text about the subject. Consent is not needed to submit a case; the reviewers'
eligibility checklist decides (its `consent` item is pre-filled from the basis).
"""

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imagebank.models import Case, CaseEvent, Site
from imagebank.models.cases import CONSENT_ATTESTED, CONSENT_SITE_AGREEMENT
from imagebank.permissions import can_edit_case, require


def basis_for_import(site: Site, *, on: date | None = None) -> str:
    """The basis a case imported into the site gets: its data-sharing agreement when one is in
    force (on `on`, default today), else none ("")."""
    day = on or timezone.localdate()
    return CONSENT_SITE_AGREEMENT if site.agreement_in_force_on(day) else ""


def agreement_covers(case: Case) -> bool:
    """Whether the case's site agreement was in force at the case's (latest) submission, or
    today for a case not submitted yet."""
    day = timezone.localdate(case.submitted_at) if case.submitted_at else timezone.localdate()
    return case.site.agreement_in_force_on(day)


def apply_attestation(case: Case, actor, attested: bool) -> bool:
    """Set or clear the contributor's attestation on `case` (not saved); True when it changed.

    Attesting records the actor and the time (an attestation already there is kept as it was);
    clearing removes only an attestation, never a site agreement's coverage.
    """
    if attested:
        if case.consent_basis == CONSENT_ATTESTED:
            return False
        case.consent_basis = CONSENT_ATTESTED
        case.consent_attested_by = actor
        case.consent_attested_at = timezone.now()
        return True
    if case.consent_basis != CONSENT_ATTESTED:
        return False
    case.consent_basis = ""
    case.consent_attested_by = None
    case.consent_attested_at = None
    return True


@transaction.atomic
def _set_attestation(case: Case, actor, attested: bool, reason: str) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    require(
        can_edit_case(actor, case),
        _(
            "Only the site's contributors can attest consent, while the case is a draft or "
            "returned."
        ),
    )
    before = case.consent_basis
    if apply_attestation(case, actor, attested):
        case.save(
            update_fields=[
                "consent_basis",
                "consent_attested_by",
                "consent_attested_at",
                "updated_at",
            ]
        )
        # As every metadata edit: the event's actor and time say who attested and when.
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEvent.Kind.EDITED,
            reason=reason,
            changes={"consent_basis": {"from": before, "to": case.consent_basis}},
        )
    return case


def attest_consent(*, case: Case, actor, reason: str = "") -> Case:
    """The contributor attests that the subject gave informed consent for the research use of the
    case's images."""
    return _set_attestation(case, actor, True, reason)


def clear_consent_attestation(*, case: Case, actor, reason: str = "") -> Case:
    """Withdraw the contributor's attestation (the basis becomes "not recorded")."""
    return _set_attestation(case, actor, False, reason)
