"""When a case being imported finds its images already in the bank: is it the same case?

Images are recognised by the SHA-256 of the file as received. The case that holds them may be
this very case of the source, imported before (a re-run: nothing to do, or new images to join);
the same patient's case sent another way with no reference of its own (through the web form,
say: it is linked to the source case and its empty fields are filled from the source); or a case
of another patient or another reference (a conflict a person must resolve: reported, never
papered over as "already in the bank"). Resuming an import never changes what it means.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _

from imagebank.ingest.items import CaseItem
from imagebank.models import Case, Site
from imagebank.pseudonyms import pseudonym_for
from imagebank.services import cases as case_services


class Relation(StrEnum):
    SAME = "same"  # this case of the source, imported before
    UNLINKED = "unlinked"  # the same patient's case, with no reference: it becomes this one
    OTHER = "other"  # another patient's or another reference's case: a conflict


def _folded(reference: str) -> str:
    return " ".join(reference.split()).casefold()


def relation(case: Case, item: CaseItem, site: Site) -> Relation:
    if not item.local_patient_id.strip():
        return Relation.OTHER
    if case.subject.pseudonym != pseudonym_for(site.slug, item.local_patient_id):
        return Relation.OTHER
    if not item.source_reference or _folded(case.source_reference) == _folded(
        item.source_reference
    ):
        return Relation.SAME
    if not case.source_reference:
        return Relation.UNLINKED
    return Relation.OTHER


def _empty(value: Any) -> bool:
    return value in (None, "", []) or value is False


def link(case: Case, *, actor, item: CaseItem, metadata: dict[str, Any]) -> Case:
    """Make `case` the source's case: its reference, and its empty fields filled from the source
    (a field the contributor already filled in is never overwritten). Audited by update_case."""
    fill = {
        field: value
        for field, value in metadata.items()
        if field in case_services.CLINICAL_FIELDS and _empty(getattr(case, field))
    }
    return case_services.update_case(
        case=case,
        actor=actor,
        values=fill,
        source_reference=item.source_reference,
        reason=_("Linked to %(reference)s of an import; empty fields filled from it.")
        % {"reference": item.source_reference},
    )
