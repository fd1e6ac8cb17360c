"""The label rules a release's label definitions use: how a case's clinical data gives the value
of a label, from the bank's coded terminologies (never from free text).

A rule is a pure function of a case's coded fields (any object with those attributes) returning
one of the rule's classes, or None where the case does not tell (no biopsy, an unknown result).
Curators name and describe label definitions (curation.models.LabelDefinition); the rule behind
each is one of these, so a definition can never compute something the bank does not record.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from imagebank import vocabularies as vocab
from imagebank.vocabularies.histopathology import GRADE_RANK


@dataclass(frozen=True)
class LabelRule:
    code: str
    title: str  # shown to curators (lazy translation)
    classes: tuple[str, ...]
    value_of: Callable[[object], str | None]


def histology_rank(case) -> int | None:
    """The cervical histopathology's grade rank (0 normal … 4 cancer), or None without one: the
    coded grade where the case has it, else the grade of the coded diagnosis (LAST / WHO 2020:
    HSIL without a CIN grade counts as CIN2, the least it can be)."""
    grade = getattr(case, "histopathology_grade", "") or ""
    if not grade:
        code = getattr(case, "histopathology", "") or ""
        if code in vocab.HISTOPATHOLOGY:
            grade = vocab.HISTOPATHOLOGY[code].grade
    return GRADE_RANK.get(grade)


def _cin2(case) -> str | None:
    rank = histology_rank(case)
    if rank is None:
        return None
    return "cin2_or_worse" if rank >= 2 else "below_cin2"


def _severity(case) -> str | None:
    # The grouping of the Bengbu colposcopy study (U-Net++ and RepVGG with weighted voting):
    # normal and LSIL are "mildly normal", HSIL and cancer "severe".
    rank = histology_rank(case)
    if rank is None:
        return None
    return "severe" if rank >= 2 else "mildly_normal"


def _coded(field: str, vocabulary: vocab.Vocabulary, classes: tuple[str, ...]):
    def value_of(case) -> str | None:
        code = getattr(case, field, "") or ""
        return code if code in classes and code in vocabulary else None

    return value_of


VIA_CLASSES = ("negative", "positive", "suspicious_for_cancer")
TZ_CLASSES = ("type_1", "type_2", "type_3")

RULES: dict[str, LabelRule] = {
    rule.code: rule
    for rule in (
        LabelRule(
            "histology_cin2",
            _("Histopathology: CIN2 or worse versus below CIN2"),
            ("below_cin2", "cin2_or_worse"),
            _cin2,
        ),
        LabelRule(
            "histology_severity",
            _('Histopathology: "mildly normal" (normal, LSIL) versus "severe" (HSIL, cancer)'),
            ("mildly_normal", "severe"),
            _severity,
        ),
        LabelRule(
            "via_result",
            _("VIA result"),
            VIA_CLASSES,
            _coded("via_result", vocab.VIA_RESULT, VIA_CLASSES),
        ),
        LabelRule(
            "tz_type",
            _("Transformation zone type (IFCPC 2011)"),
            TZ_CLASSES,
            _coded("transformation_zone", vocab.TRANSFORMATION_ZONE, TZ_CLASSES),
        ),
    )
}

RULE_CHOICES = [(rule.code, rule.title) for rule in RULES.values()]

# The case fields the rules read: what a build loads of each case.
CASE_FIELDS = ("histopathology", "histopathology_grade", "via_result", "transformation_zone")


def value(rule_code: str, case) -> str | None:
    return RULES[rule_code].value_of(case)
