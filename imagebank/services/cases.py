import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imagebank import hooks, submission
from imagebank import vocabularies as vocab
from imagebank.durable import send_task_on_commit
from imagebank.lifecycle import STATES_NEEDING_REASON, CaseState, assert_transition
from imagebank.models import CODED_FIELDS, Case, CaseEvent, ProcessingStatus, Site, Subject
from imagebank.models.cases import ACETOWHITE_FEATURES, CLINICAL_FIELDS, DERIVED_FIELDS
from imagebank.models.sites import new_display_code
from imagebank.permissions import can_contribute_to, can_edit_case, require
from imagebank.pseudonyms import pseudonym_for
from imagebank.services.consent import apply_attestation, basis_for_import
from imagebank.tasks import run_quality_checks

SOURCE_REFERENCE_MAX_LENGTH = 100


def clean_clinical_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Check vocabulary codes and lists, and the Swede total against its components.

    Raises one ValidationError naming every bad field; returns the values with the Swede total
    filled in when all five components are given and the total is not.
    """
    errors: dict[str, list[str]] = {}
    unknown = set(values) - set(CLINICAL_FIELDS)
    for field in sorted(unknown):
        errors[field] = (
            [_("Worked out by the bank from the other fields: it cannot be given.")]
            if field in DERIVED_FIELDS
            else [_("Unknown field.")]
        )
    cleaned = {key: value for key, value in values.items() if key not in unknown}

    for field, vocabulary in CODED_FIELDS.items():
        if field in DERIVED_FIELDS:
            continue
        value = cleaned.get(field)
        if value in (None, ""):
            if field in cleaned:
                cleaned[field] = ""
            continue
        if value not in vocabulary:
            errors[field] = [
                _("“%(value)s” is not a code of %(vocabulary)s.")
                % {"value": value, "vocabulary": vocabulary.name}
            ]
    for field, vocabulary in vocab.CODE_LISTS.items():
        value = cleaned.get(field)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
            errors[field] = [_("Give a list of codes.")]
            continue
        bad = [code for code in value if code not in vocabulary]
        if bad:
            errors[field] = [
                _("Not codes of %(vocabulary)s: %(codes)s")
                % {"vocabulary": vocabulary.name, "codes": ", ".join(bad)}
            ]
        cleaned[field] = list(dict.fromkeys(value))  # keep order, drop repeats
    positions = cleaned.get("lesion_clock_positions")
    if positions is not None:
        if not isinstance(positions, list) or not all(
            isinstance(hour, int) and not isinstance(hour, bool) and 1 <= hour <= 12
            for hour in positions
        ):
            errors["lesion_clock_positions"] = [_("Give clock hours between 1 and 12.")]
        else:
            cleaned["lesion_clock_positions"] = sorted(set(positions))
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_consistency(case: Case) -> None:
    # The grade follows the diagnosis, so a query on it always agrees with what the case says.
    case.histopathology_grade = (
        vocab.HISTOPATHOLOGY[case.histopathology].grade if case.histopathology else ""
    )
    computed = case.swede_points()
    if case.swede_not_assessable:
        case.swede_total = None
    elif computed is not None and case.swede_total is None:
        case.swede_total = computed
    elif computed is not None and case.swede_total != computed:
        raise ValidationError(
            {
                "swede_total": _(
                    "The Swede score is %(total)s but its components add up to %(sum)s."
                )
                % {"total": case.swede_total, "sum": computed}
            }
        )
    if case.adequacy != "inadequate" and case.inadequacy_reason:
        raise ValidationError(
            {"inadequacy_reason": _("A reason is given only for an inadequate examination.")}
        )
    if case.acetowhite_area == "absent":
        described = [field for field in ACETOWHITE_FEATURES if getattr(case, field)]
        if described:
            raise ValidationError(
                {
                    field: _("The acetowhite area is absent: its features cannot be given.")
                    for field in described
                }
            )


def _save_validated(case: Case) -> None:
    _check_consistency(case)
    # Fields only (types, ranges, choices, lengths). Django would also test each of the case's
    # ~35 CHECK constraints with a query of its own; the database enforces them on save anyway,
    # and what a contributor can send that one would refuse is caught, by field name, by
    # clean_clinical_fields, the field validators and _check_consistency
    # (tests/imagebank/test_case_checks_cover_constraints.py holds each constraint to that).
    case.full_clean(exclude=["site", "subject", "created_by"], validate_constraints=False)
    case.save()


def _record(case: Case, actor, kind: str, **details) -> CaseEvent:
    return CaseEvent.objects.create(case=case, actor=actor, kind=kind, **details)


def record_event(
    case: Case | int, actor, kind: str, *, reason: str = "", changes: dict | None = None
) -> CaseEvent:
    """Write one entry of the case's history for an app above the core (curation writes its
    review activity, kind "review", with changes["action"] saying what happened). `case` is the
    case or its id (a hot path need not load the case only to name it)."""
    if isinstance(case, Case):
        return _record(case, actor, kind, reason=reason, changes=changes or {})
    return CaseEvent.objects.create(
        case_id=case, actor=actor, kind=kind, reason=reason, changes=changes or {}
    )


def subject_for(site: Site, local_patient_id: str) -> Subject:
    """The site's subject behind the local patient ID, created with a fresh random display code
    (unique within the site) the first time the ID is seen."""
    subject, _ = Subject.objects.get_or_create(
        site=site,
        pseudonym=pseudonym_for(site.slug, local_patient_id),
        # A callable: drawn (one query) only when the subject is new.
        defaults={"display_code": lambda: _unused_display_code(site)},
    )
    return subject


def _unused_display_code(site: Site) -> str:
    # A clash is about one in 10^8 per draw for a site of 10,000 subjects; the unique
    # constraint on (site, display_code) stays the guarantee.
    while True:
        code = new_display_code()
        if not Subject.objects.filter(site=site, display_code=code).exists():
            return code


def clean_source_reference(reference: str, local_patient_id: str) -> str:
    """The contributor's own case reference, refused when it would carry the patient's ID."""
    reference = " ".join(str(reference or "").split())
    if len(reference) > SOURCE_REFERENCE_MAX_LENGTH:
        raise ValidationError(
            {
                "source_reference": _("Give a case reference of at most %(limit)s characters.")
                % {"limit": SOURCE_REFERENCE_MAX_LENGTH}
            }
        )
    patient = str(local_patient_id or "").strip().casefold()
    if reference and patient and patient in reference.casefold():
        raise ValidationError(
            {
                "source_reference": _(
                    "The case reference contains the patient's ID, which the bank never stores: "
                    "give the case another reference."
                )
            }
        )
    return reference


def _clean_edited_reference(case: Case, reference: str) -> str:
    """A reference edited after creation: the local patient ID is no longer known, so only the
    length is checked as at creation, and the reference is refused when it, or one of its words,
    is the patient's ID itself (it gives the subject's pseudonym)."""
    cleaned = clean_source_reference(reference, local_patient_id="")
    words = {cleaned, *re.split(r"[\s,;:()\[\]#]+", cleaned)}
    if any(
        word and pseudonym_for(case.site.slug, word) == case.subject.pseudonym for word in words
    ):
        raise ValidationError(
            {
                "source_reference": _(
                    "The case reference contains the patient's ID, which the bank never stores: "
                    "give the case another reference."
                )
            }
        )
    return cleaned


@transaction.atomic
def create_case(
    *,
    site: Site,
    actor,
    local_patient_id: str,
    source_reference: str = "",
    consent_attested: bool = False,
    imported: bool = False,
    **values: Any,
) -> Case:
    """A draft case for the subject behind the site's local patient ID (which is not stored).

    `consent_attested`: the contributor attests the subject's informed consent for research use
    (recorded with who and when). `imported`: the case comes from an import (a retrospective
    collection), covered by the site's data-sharing agreement when one is in force today.
    """
    require(can_contribute_to(actor, site), _("You do not contribute to this site."))
    if not str(local_patient_id or "").strip():
        raise ValidationError({"local_patient_id": _("A local patient ID is required.")})
    reference = clean_source_reference(source_reference, local_patient_id)
    cleaned = clean_clinical_fields(values)
    case = Case(
        site=site,
        subject=subject_for(site, local_patient_id),
        created_by=actor,
        source_reference=reference,
        **cleaned,
    )
    if consent_attested:
        apply_attestation(case, actor, True)
    elif imported:
        case.consent_basis = basis_for_import(site)
    _save_validated(case)
    consent = {"consent_basis": {"from": "", "to": case.consent_basis}}
    _record(
        case,
        actor,
        CaseEvent.Kind.CREATED,
        to_state=case.state,
        changes=consent if case.consent_basis else {},
    )
    return case


@transaction.atomic
def update_case(
    *,
    case: Case,
    actor,
    values: dict[str, Any],
    reason: str = "",
    source_reference: str | None = None,
    consent_attested: bool | None = None,
) -> Case:
    """The one path through which every metadata edit passes; each change is audited.

    `source_reference` (None: left as it is) changes the contributor's own case reference.
    `consent_attested` (None: left as it is) sets the contributor's consent attestation (with
    who and when) or clears it; clearing leaves a site agreement's coverage alone.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    require(
        can_edit_case(actor, case), _("This case cannot be changed by you in its current state.")
    )
    cleaned = clean_clinical_fields(values)
    if source_reference is not None:
        cleaned_reference = _clean_edited_reference(case, source_reference)
    audited = (*CLINICAL_FIELDS, *DERIVED_FIELDS, "source_reference", "consent_basis")
    before = {field: getattr(case, field) for field in audited}
    for field, new in cleaned.items():
        setattr(case, field, new)
    if source_reference is not None:
        case.source_reference = cleaned_reference
    if consent_attested is not None:
        apply_attestation(case, actor, consent_attested)
    if "swede_total" not in cleaned and any(
        before[field] != getattr(case, field) for field in vocab.SWEDE_COMPONENTS
    ):
        case.swede_total = None  # a changed component: the total is worked out again
    _check_consistency(case)
    # Compare every field after the derived ones are settled, so those changes are audited too.
    changes = {
        field: {"from": before[field], "to": getattr(case, field)}
        for field in audited
        if before[field] != getattr(case, field)
    }
    if changes:
        _save_validated(case)
        _record(case, actor, CaseEvent.Kind.EDITED, changes=changes, reason=reason)
    return case


@transaction.atomic
def transition_case(*, case: Case, to_state: str, actor=None, reason: str = "") -> Case:
    """Move a case along its lifecycle; the single writer of Case.state."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    assert_transition(case.state, to_state)
    if to_state in STATES_NEEDING_REASON and not reason.strip():
        raise ValidationError({"reason": _("Give the reason for this decision.")})
    from_state = case.state
    case.state = to_state
    if to_state == CaseState.SUBMITTED:
        case.submitted_at = timezone.now()
    case.save(update_fields=["state", "submitted_at", "updated_at"])
    _record(
        case,
        actor,
        CaseEvent.Kind.TRANSITION,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
    )
    hooks.case_transitioned.send(sender=Case, case=case, from_state=from_state, to_state=to_state)
    return case


@transaction.atomic
def submit_case(*, case: Case, actor) -> Case:
    """Hand a case to review: it must have images, all processed, and whatever its site requires
    (Site.submission_requirements); then quality checks run."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    # Someone who may not submit the site's cases is refused (403); a contributor asking for a
    # transition the case's state does not allow is told so (IllegalTransition: a 409 on the API).
    require(can_contribute_to(actor, case.site), _("You cannot submit this site's cases."))
    assert_transition(case.state, CaseState.SUBMITTED)
    images = case.images.all()
    errors: dict[str, list[str]] = {}
    if not images.exists():
        errors["images"] = [_("Add at least one image before submitting.")]
    elif images.exclude(processing_status=ProcessingStatus.DONE).exists():
        errors["images"] = [
            _("Some images are still being processed or failed; wait, or remove the failed ones.")
        ]
    # Everything the site requires and the case lacks, named at once (see imagebank.submission).
    for missing in submission.missing_for(case):
        errors.setdefault(missing.code, []).append(missing.message)
    if errors:
        raise ValidationError(errors)
    case = transition_case(case=case, to_state=CaseState.SUBMITTED, actor=actor)
    # The submitted state is the intent; the message only hurries it (imagebank.durable).
    Case.objects.filter(pk=case.pk).update(checks_queued_at=timezone.now())
    send_task_on_commit(run_quality_checks, case.pk, on_unsent=lambda: checks_unsent(case.pk))
    return case


def checks_unsent(case_id: int) -> None:
    """The case's checks message could not be sent: the reconciler's next pass sends it."""
    Case.objects.filter(pk=case_id).update(checks_queued_at=None)


def record_image_event(case: Case, actor, kind: str, changes: dict) -> None:
    _record(case, actor, kind, changes=changes)
