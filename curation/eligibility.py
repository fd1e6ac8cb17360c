"""The bank's eligibility checklist as a reviewer answers it: the active items (curators configure
them: curation.models.EligibilityItem), each with the answer the automated results pre-fill where
they can (True, False, or None: nothing to go on, the reviewer decides), and the checks of a
reviewer's answers (curation.services.reviews.decide).

Pre-filled answers, by the item's `prefill` source:

- consent: the case's consent basis (imagebank.services.consent): attested by the contributor
  -> True; covered by the site's data-sharing agreement (a retrospective import) -> True when the
  agreement was in force at the case's submission; anything else None (the reviewer answers);
- sequence: the sequence_complete check: pass -> True; fail, or a warning naming missing steps ->
  False;
- framing: the framing check of every core-step image: all pass -> True, any fail -> False;
- image_quality: resolution, focus, exposure, glare and blood on every core-step image: all pass
  -> True, any fail -> False;
- histology: an abnormal impression (LSIL or worse; else a positive VIA) -> True when
  histopathology, or a reason for its absence (the text as written), is given, else False; a
  normal impression -> True.

Anything else (warnings, a check that did not run) leaves None.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext as _

from curation.models import CheckResult, EligibilityItem, Prefill, Verdict
from curation.selectors import latest_results
from imagebank import submission
from imagebank import vocabularies as vocab
from imagebank.models.cases import CONSENT_ATTESTED, CONSENT_SITE_AGREEMENT
from imagebank.services import consent

# The default items' labels as migration 0004 stores them (English, the source language); an
# item still worded so is shown translated, a curator's own wording as written.
DEFAULT_LABELS = {
    "consent": gettext_noop(
        "Research consent attested by the contributor, or covered by the site's data-sharing "
        "agreement (retrospective import)"
    ),
    "core_steps_usable": gettext_noop(
        "Before acetic acid, after acetic acid and after Lugol's iodine present and usable"
    ),
    "tz_or_scj_seen": gettext_noop(
        "The whole transformation zone or the squamocolumnar junction seen in at least one "
        "usable image"
    ),
    "cervix_in_view": gettext_noop("The cervix fully in view"),
    "histology_or_reason": gettext_noop(
        "Histopathology, or a reason for its absence, where the impression is abnormal"
    ),
}

IMAGE_QUALITY_CHECKS = ("resolution", "focus", "exposure", "glare", "blood")
FRAMING_CHECKS = ("framing",)
# Impressions from this rank up are abnormal (LSIL, HSIL, glandular, suspicious for invasion).
ABNORMAL_RANK = 2
ABNORMAL_VIA = ("positive", "suspicious_for_cancer")


def item_label(item: EligibilityItem) -> str:
    default = DEFAULT_LABELS.get(item.code)
    return gettext(default) if default is not None and item.label == default else item.label


def active_items() -> list[EligibilityItem]:
    return list(EligibilityItem.objects.filter(active=True).order_by("position", "code"))


def _all_or_any(verdicts: list[str]) -> bool | None:
    if not verdicts:
        return None
    if Verdict.FAIL in verdicts:
        return False
    if all(verdict == Verdict.PASS for verdict in verdicts):
        return True
    return None


class _Prefills:
    """The pre-fillable answers of one case, from one read of its latest check results."""

    def __init__(self, case) -> None:
        self.case = case
        self._results: list[CheckResult] | None = None

    def results(self) -> list[CheckResult]:
        if self._results is None:
            self._results = list(
                latest_results(CheckResult.objects.filter(case=self.case.pk)).select_related(
                    "image"
                )
            )
        return self._results

    def _core_image_verdicts(self, checks: Iterable[str]) -> bool | None:
        wanted = set(checks)
        results = [
            result
            for result in self.results()
            if result.image is not None
            and result.image.step in submission.CORE_STEPS
            and result.check_name in wanted
        ]
        images = {result.image_id for result in results}
        core_images = self.case.images.filter(step__in=submission.CORE_STEPS).count()
        verdicts = [result.verdict for result in results]
        if Verdict.FAIL in verdicts:
            return False
        if not core_images or len(images) < core_images:
            return None  # an image the checks did not see: nothing to go on
        return _all_or_any(verdicts)

    def consent(self) -> bool | None:
        basis = self.case.consent_basis
        if basis == CONSENT_ATTESTED:
            return True
        if basis == CONSENT_SITE_AGREEMENT and consent.agreement_covers(self.case):
            return True
        return None  # not recorded, or an agreement that had ended: the reviewer decides

    def sequence(self) -> bool | None:
        for result in self.results():
            if result.image_id is None and result.check_name == "sequence_complete":
                if result.verdict == Verdict.PASS:
                    return True
                if result.verdict == Verdict.FAIL or (result.extra or {}).get("missing"):
                    return False
                return None
        return None

    def framing(self) -> bool | None:
        return self._core_image_verdicts(FRAMING_CHECKS)

    def image_quality(self) -> bool | None:
        return self._core_image_verdicts(IMAGE_QUALITY_CHECKS)

    def histology(self) -> bool | None:
        case = self.case
        if case.provisional_diagnosis:
            abnormal = (
                vocab.PROVISIONAL_DIAGNOSIS[case.provisional_diagnosis].rank or 0
            ) >= ABNORMAL_RANK
        elif case.via_result:
            abnormal = case.via_result in ABNORMAL_VIA
        else:
            return None
        if not abnormal:
            return True
        return bool(case.histopathology or case.histopathology_text.strip())

    def answer(self, source: str) -> bool | None:
        compute = {
            Prefill.CONSENT: self.consent,
            Prefill.SEQUENCE: self.sequence,
            Prefill.FRAMING: self.framing,
            Prefill.IMAGE_QUALITY: self.image_quality,
            Prefill.HISTOLOGY: self.histology,
        }.get(source)
        return compute() if compute is not None else None


def checklist(case, items: list[EligibilityItem] | None = None) -> list[dict[str, Any]]:
    """The active items, in order, each as {code, label, help_text, required, prefill,
    prefilled}: `prefilled` is True, False or None (the reviewer decides)."""
    prefills = _Prefills(case)
    return [
        {
            "code": item.code,
            "label": item_label(item),
            "help_text": item.help_text,
            "required": item.required,
            "prefill": item.prefill,
            "prefilled": prefills.answer(item.prefill),
        }
        for item in (active_items() if items is None else items)
    ]


def clean_answers(answers: Any, items: list[EligibilityItem]) -> dict[str, bool]:
    """A reviewer's answers {item code: true | false}, checked against the active items. Raises
    ValueError with the message (the caller names the field)."""
    if answers is None:
        return {}
    if not isinstance(answers, Mapping):
        raise ValueError(_("Give the answers as an object of item codes and true or false."))
    known = {item.code for item in items}
    unknown = sorted(str(code) for code in answers if code not in known)
    if unknown:
        raise ValueError(
            _("Not items of the checklist: %(codes)s.") % {"codes": ", ".join(unknown)}
        )
    not_boolean = sorted(code for code, value in answers.items() if not isinstance(value, bool))
    if not_boolean:
        raise ValueError(
            _("Answer true or false for: %(codes)s.") % {"codes": ", ".join(not_boolean)}
        )
    return {item.code: answers[item.code] for item in items if item.code in answers}


def unmet_required(answers: Mapping[str, bool], items: list[EligibilityItem]) -> list[str]:
    """The labels of the required items not answered true (which block an acceptance)."""
    return [
        item_label(item) for item in items if item.required and answers.get(item.code) is not True
    ]
