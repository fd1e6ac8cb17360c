"""What the review screen shows (curation.views.review_pages.review_screen): the case's images in
step order, each with its previews, original, check results and the reviewer's own flags and
outlines; the checklist with its suggested answers; the label opinions beside the recorded
values; and the decision's form (DecisionForm), bound again when a decision was refused.

Blinded: the flags and outlines are the review's own (review_selectors.own_flags, own_outlines);
nothing of another review is read here.
"""

from dataclasses import dataclass, field

from django import forms
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from curation import eligibility, review_selectors, selectors
from curation.models import (
    Decision,
    EntryStatus,
    FlagReason,
    OutlineKind,
    RejectReason,
    Review,
    ReviewStatus,
)
from curation.views.case_checks import _result_row
from curation.views.review_outlines import svg_points
from imagebank import vocabularies as vocab
from imagebank.models import Case, Image, ProcessingStatus
from imagebank.views.case_page import image_url, metadata_groups

# The clinical labels a reviewer may give an opinion on (Review.label_opinions), with their
# vocabularies; the case keeps the contributor's values.
LABEL_FIELDS = {
    "transformation_zone": vocab.TRANSFORMATION_ZONE,
    "scj_visibility": vocab.SCJ_VISIBILITY,
    "provisional_diagnosis": vocab.PROVISIONAL_DIAGNOSIS,
    **vocab.SWEDE_COMPONENTS,
}
YES, NO = "yes", "no"


def claim_state(review: Review, now=None) -> str:
    """held (the reviewer may act), submitted, released, expired, or closed (the case left the
    queue some other way)."""
    now = now or timezone.now()
    if review.status == ReviewStatus.SUBMITTED:
        return "submitted"
    if review.status == ReviewStatus.RELEASED:
        return "released"
    if review.status == ReviewStatus.EXPIRED or review.claim_expires <= now:
        return "expired"
    if review.entry.status != EntryStatus.WAITING:
        return "closed"
    return "held"


@dataclass
class ScreenImage:
    image: Image
    position: int
    step_label: str
    preview_url: str
    original_url: str
    results: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    outlines: list = field(default_factory=list)
    excluded: bool = False

    @property
    def overlays(self) -> list:
        return [row for row in self.results if row.overlay_url]

    @property
    def flagged(self) -> int:
        return sum(row.result.verdict in selectors.FLAGGED for row in self.results)

    @property
    def drawable(self) -> bool:
        return bool(self.preview_url and self.image.width and self.image.height)


class DecisionForm(forms.Form):
    """The decision with the checklist's answers, the label opinions and the images to exclude.
    Its fields are named after the checklist's items and the case's images."""

    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    reasons = forms.MultipleChoiceField(choices=RejectReason.choices, required=False)
    message = forms.CharField(required=False, max_length=5000)
    then_next = forms.BooleanField(required=False)

    def __init__(self, *args, checklist: list[dict], images: list[Image], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.checklist = checklist
        for item in checklist:
            self.fields[f"eligibility_{item['code']}"] = forms.ChoiceField(
                label=item["label"], choices=[(YES, _("Yes")), (NO, _("No"))], required=False
            )
        for name, vocabulary in LABEL_FIELDS.items():
            self.fields[f"label_{name}"] = forms.ChoiceField(
                label=capfirst(Case._meta.get_field(name).verbose_name),
                choices=[("", "")] + list(vocabulary.choices),
                required=False,
            )
        self.fields["excluded_images"] = forms.TypedMultipleChoiceField(
            choices=[(str(image.pk), str(image.pk)) for image in images],
            coerce=int,
            required=False,
        )

    def clean(self):
        data = super().clean()
        if data.get("decision") == Decision.ACCEPT:
            for item in self.checklist:
                name = f"eligibility_{item['code']}"
                if name in self.fields and not data.get(name):
                    self.add_error(name, _("Answer this item to accept the case."))
        if data.get("decision") == Decision.RETURN and not (data.get("message") or "").strip():
            self.add_error("message", _("Say what the contributor should change."))
        return data

    def answers(self) -> dict[str, bool]:
        return {
            item["code"]: self.cleaned_data[f"eligibility_{item['code']}"] == YES
            for item in self.checklist
            if self.cleaned_data.get(f"eligibility_{item['code']}")
        }

    def label_opinions(self) -> dict:
        """The labels the reviewer chose (a correction or a confirmation); the service works out
        the Swede total from the components."""
        return {
            name: self.cleaned_data[f"label_{name}"]
            for name in LABEL_FIELDS
            if self.cleaned_data.get(f"label_{name}")
        }


def decision_form(review: Review, images: list[Image], data=None) -> DecisionForm:
    return DecisionForm(data, checklist=eligibility.checklist(review.case), images=images)


def step_ordered(images) -> list[Image]:
    """In step order (before acetic acid, after acetic acid, green filter, Lugol's iodine…), the
    contributor's order within a step."""
    return sorted(
        images,
        key=lambda image: (
            vocab.STEP_ORDER.get(image.step, len(vocab.STEP_ORDER)),
            image.display_order,
        ),
    )


def _label_rows(form: DecisionForm, case: Case, opinions: dict) -> list[dict]:
    rows = []
    for name, vocabulary in LABEL_FIELDS.items():
        bound = form[f"label_{name}"]
        value = bound.value() if form.is_bound else opinions.get(name, "")
        rows.append(
            {
                "name": name,
                "field": bound,
                "label": bound.label,
                "recorded": vocabulary.label(getattr(case, name)) or "",
                "value": value or "",
                "choices": list(vocabulary.choices),
                "opinion_label": vocabulary.label(opinions.get(name)),
            }
        )
    return rows


def _checklist_rows(form: DecisionForm, answers: dict) -> list[dict]:
    rows = []
    for item in form.checklist:
        bound = form[f"eligibility_{item['code']}"]
        if form.is_bound:
            value = bound.value() or ""
        else:
            given = answers.get(item["code"])
            value = "" if given is None else (YES if given else NO)
        rows.append({**item, "field": bound, "value": value})
    return rows


def _screen_images(
    request: HttpRequest, review: Review, case_images: list[Image], excluded: set[int]
) -> list[ScreenImage]:
    case = review.case
    images = {
        image.pk: ScreenImage(
            image=image,
            position=position,
            step_label=vocab.EXAMINATION_STEP.label(image.step),
            preview_url=image_url(image, "preview")
            if image.processing_status == ProcessingStatus.DONE and image.preview
            else "",
            original_url=image_url(image, "original"),
            excluded=image.pk in excluded,
        )
        for position, image in enumerate(case_images)
    }
    for result in selectors.case_results(request.user, case):
        if result.image_id in images:
            images[result.image_id].results.append(_result_row(result))
    for flag in review_selectors.own_flags(review):
        if flag.image_id in images:
            images[flag.image_id].flags.append(
                {
                    "flag": flag,
                    "reason_label": flag.get_reason_display(),
                    "step_label": vocab.EXAMINATION_STEP.label(flag.correct_step),
                }
            )
    for outline in review_selectors.own_outlines(review):
        if outline.image_id in images:
            images[outline.image_id].outlines.append(
                {
                    "outline": outline,
                    "kind_label": outline.get_kind_display(),
                    "points": svg_points(outline.points),
                }
            )
    return list(images.values())


def screen_context(request: HttpRequest, review: Review, form: DecisionForm | None = None) -> dict:
    """The review screen's context; `form` is a bound DecisionForm when a decision was refused
    (its answers are shown again, with its errors)."""
    case = review.case
    state = claim_state(review)
    case_images = step_ordered(case.images.all())
    if form is None:
        form = decision_form(review, case_images)
    if form.is_bound:
        excluded = {int(pk) for pk in form["excluded_images"].value() or [] if str(pk).isdigit()}
    else:
        excluded = {pk for pk in review.excluded_images or [] if isinstance(pk, int)}
    opinions = review.label_opinions or {}
    checked_reasons = set(form["reasons"].value() or []) if form.is_bound else set(review.reasons)
    return {
        "review": review,
        "case": case,
        "state": state,
        "held": state == "held",
        "images": _screen_images(request, review, case_images, excluded),
        "metadata": metadata_groups(case),
        "form": form,
        "checklist": _checklist_rows(form, review.eligibility or {}),
        "labels": _label_rows(form, case, opinions),
        "decisions": list(Decision.choices),
        "decision_value": form["decision"].value() if form.is_bound else review.decision,
        "decision_label": review.get_decision_display() if review.decision else "",
        "reasons": [
            {"value": value, "label": label, "checked": value in checked_reasons}
            for value, label in RejectReason.choices
        ],
        "reason_labels": [
            RejectReason(code).label for code in review.reasons if code in RejectReason.values
        ],
        "message_value": form["message"].value() if form.is_bound else review.message,
        "then_next": form["then_next"].value() if form.is_bound else True,
        "flag_reasons": list(FlagReason.choices),
        "wrong_step": FlagReason.WRONG_STEP,
        "steps": list(vocab.EXAMINATION_STEP.choices),
        "outline_kinds": list(OutlineKind.choices),
        "non_field_errors": form.non_field_errors() if form.is_bound else [],
    }
