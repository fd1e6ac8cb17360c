"""What a case needs before it is submitted for review, as each site decides.

A site keeps a list of requirement codes (`Site.submission_requirements`); this module knows what
each code means: a label for the admin and the forms, and a check over a case that names what is
still missing. `submit_case` refuses a case that misses anything; the case page lists it first.

The codes are a contract (sites store them, `create_site --require` takes them): add new ones,
never rename one.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imagebank import vocabularies as vocab
from imagebank.models import Case, Site
from imagebank.models.cases import ACETOWHITE_FEATURES, CLINICAL_FIELDS
from imagebank.models.sites import default_submission_requirements

# Where the contributor fixes what is missing: the clinical details (the edit form) or the images.
DETAILS, IMAGES = "details", "images"

CORE_STEPS = ("before_acetic_acid", "after_acetic_acid", "after_lugol")
ACETIC_ACID_STEPS = ("before_acetic_acid", "after_acetic_acid")

# Clinical fields that get no requirement of their own: lists a contributor ticks only when a
# finding is there (empty is a true answer, "none seen"), and a yes/no box that is never empty.
_NOT_REQUIRABLE = frozenset({*vocab.CODE_LISTS, "lesion_clock_positions", "swede_not_assessable"})
# Fields given only in some cases (the model's constraints refuse them otherwise): a site that
# requires one requires it only there.
_ONLY_WHEN: dict[str, Callable[[Case], bool]] = {
    "inadequacy_reason": lambda case: case.adequacy == "inadequate",
    **{name: (lambda case: case.acetowhite_area == "present") for name in ACETOWHITE_FEATURES},
}


@dataclass(frozen=True)
class CaseFacts:
    """What the checks look at: the case and the steps of its images (read once)."""

    case: Case
    steps: frozenset[str]


@dataclass(frozen=True)
class Requirement:
    code: str
    label: Any  # a lazy translation
    where: str  # DETAILS or IMAGES
    # The message naming what is missing, or "" when the case has it.
    missing: Callable[[CaseFacts], str]
    # The edit form's fields this requirement is about (marked there as needed to submit), and
    # what the form says beside each when not simply "needed".
    fields: tuple[str, ...] = field(default=())
    field_notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Missing:
    """One thing a case still lacks before it can be submitted."""

    code: str
    message: str
    where: str
    fields: tuple[str, ...]

    @property
    def first_field(self) -> str:
        return self.fields[0] if self.fields else ""


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _field_label(name: str) -> str:
    return str(capfirst(Case._meta.get_field(name).verbose_name))


def _field_requirement(name: str) -> Requirement:
    def missing(facts: CaseFacts) -> str:
        if name == "swede_total" and facts.case.swede_not_assessable:
            return ""  # "not assessable" is the answer
        applies = _ONLY_WHEN.get(name)
        if applies is not None and not applies(facts.case):
            return ""
        if not _is_empty(getattr(facts.case, name)):
            return ""
        return _("%(field)s is not given.") % {"field": _field_label(name)}

    return Requirement(
        code=name,
        label=capfirst(Case._meta.get_field(name).verbose_name),  # stays lazy
        where=DETAILS,
        missing=missing,
        fields=(name,),
    )


def _tz_or_via(facts: CaseFacts) -> str:
    if facts.case.transformation_zone or facts.case.via_result:
        return ""
    return _("Neither the transformation zone type nor the VIA result is given.")


def _findings(facts: CaseFacts) -> str:
    if any(getattr(facts.case, name) for name in vocab.FINDING_LISTS):
        return ""
    return _("No colposcopic finding is ticked.")


def _steps_requirement(steps: tuple[str, ...]) -> Callable[[CaseFacts], str]:
    def missing(facts: CaseFacts) -> str:
        absent = [vocab.EXAMINATION_STEP.label(step) for step in steps if step not in facts.steps]
        if not absent:
            return ""
        return _("No image of these steps: %(steps)s.") % {"steps": "; ".join(absent)}

    return missing


def _build_registry() -> dict[str, Requirement]:
    named = [
        Requirement(
            "transformation_zone_or_via_result",
            gettext_lazy("Transformation zone type or VIA result"),
            DETAILS,
            _tz_or_via,
            ("transformation_zone", "via_result"),
            {
                "transformation_zone": gettext_lazy(
                    "Needed before you submit: this or the VIA result."
                ),
                "via_result": gettext_lazy(
                    "Needed before you submit: this or the transformation zone type."
                ),
            },
        ),
        Requirement(
            "core_steps",
            gettext_lazy("Images before acetic acid, after acetic acid and after Lugol's iodine"),
            IMAGES,
            _steps_requirement(CORE_STEPS),
        ),
        Requirement(
            "acetic_acid_steps",
            gettext_lazy("Images before and after acetic acid (VIA without Lugol's iodine)"),
            IMAGES,
            _steps_requirement(ACETIC_ACID_STEPS),
        ),
        Requirement(
            "colposcopic_findings",
            gettext_lazy("At least one colposcopic finding ticked"),
            DETAILS,
            _findings,
            tuple(vocab.FINDING_LISTS),
            {
                name: gettext_lazy("At least one finding is needed before you submit.")
                for name in vocab.FINDING_LISTS
            },
        ),
    ]
    # One per clinical field, so a site can require e.g. histopathology or the HPV result.
    per_field = [
        _field_requirement(name) for name in CLINICAL_FIELDS if name not in _NOT_REQUIRABLE
    ]
    registry = {requirement.code: requirement for requirement in named}
    for requirement in per_field:
        registry.setdefault(requirement.code, requirement)
    return registry


REQUIREMENTS: dict[str, Requirement] = _build_registry()
DEFAULT_REQUIREMENTS: tuple[str, ...] = tuple(default_submission_requirements())


def requirement_choices() -> list[tuple[str, str]]:
    """(code, label) of every known requirement: the named ones first, then one per field."""
    return [(code, str(requirement.label)) for code, requirement in REQUIREMENTS.items()]


def validate_requirements(codes: Any) -> list[str]:
    """A site's list of requirement codes, checked: a list of known codes, each once."""
    if not isinstance(codes, list | tuple) or not all(isinstance(code, str) for code in codes):
        raise ValidationError(
            {"submission_requirements": _("Give a list of requirement codes.")},
            code="invalid",
        )
    unknown = [code for code in codes if code not in REQUIREMENTS]
    if unknown:
        raise ValidationError(
            {
                "submission_requirements": _(
                    "Unknown requirement code(s): %(codes)s. Known codes: %(known)s."
                )
                % {"codes": ", ".join(unknown), "known": ", ".join(REQUIREMENTS)}
            },
            code="unknown",
        )
    return list(dict.fromkeys(codes))


def requirements_of(site: Site) -> list[Requirement]:
    """The site's requirements; a code no longer known is skipped rather than blocking cases."""
    return [
        REQUIREMENTS[code] for code in site.submission_requirements or [] if code in REQUIREMENTS
    ]


NEEDED = gettext_lazy("Needed before you submit.")


def fields_needed_by(site: Site) -> dict[str, str]:
    """The edit form's fields the site needs before a case is submitted, each with what the form
    says beside it."""
    needed: dict[str, str] = {}
    for requirement in requirements_of(site):
        for name in requirement.fields:
            needed.setdefault(name, str(requirement.field_notes.get(name, NEEDED)))
    return needed


def missing_for(case: Case, *, steps: Iterable[str] | None = None) -> list[Missing]:
    """What the case still lacks under its site's requirements, in the site's order."""
    if steps is None:
        steps = case.images.values_list("step", flat=True)
    facts = CaseFacts(case=case, steps=frozenset(steps))
    found = []
    for requirement in requirements_of(case.site):
        message = requirement.missing(facts)
        if message:
            found.append(Missing(requirement.code, message, requirement.where, requirement.fields))
    return found
