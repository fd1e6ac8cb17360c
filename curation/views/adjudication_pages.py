"""The curators' adjudication pages.

- The list (GET /curation/adjudication/, "adjudication-list"): the cases whose independent reviews
  disagree, urgent first then oldest, each with what disagreed; and the cases still waiting for
  reviews (paginated, in hand-out order), each with "Mark urgent" / "Not urgent" (a POST to the
  same URL, curation.services.reviews.mark_urgent).
- The page of one entry (GET /curation/adjudication/<entry>/, "adjudication"): both reviews side by
  side (decisions, reasons, messages, eligibility answers, label opinions next to the
  contributor's values, flags per image, how many outlines, excluded images), the rows that
  disagree marked, and the curator's final decision (a POST to the same URL,
  curation.services.reviews.adjudicate). A decided entry shows its adjudication instead.

Permission: curation.review_selectors.can_adjudicate (curators and superusers; 403 otherwise);
the reads go through review_selectors (reviews_of / adjudication_entry, curators only); the
service refuses a curator who reviewed the case or belongs to its site. The page shows the case's
clinical labels and reviews: its reads are audited (kind "adjudication", the entry's case).
"""

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from curation import review_selectors
from curation.eligibility import active_items, item_label
from curation.models import (
    Decision,
    EntryStatus,
    FlagReason,
    QueueEntry,
    RejectReason,
    Review,
)
from curation.services import reviews as review_services
from imagebank import vocabularies as vocab
from imagebank.models import CODED_FIELDS, Case
from imagebank.permissions import require
from imagebank.read_audit import AuditedRead, Channel

ENTRIES_PER_PAGE = 50


def _case_of_entry(pk: int) -> int | None:
    return QueueEntry.objects.filter(pk=pk).values_list("case_id", flat=True).first()


# The audit's record of a read of the page (registered in curation.views.review_panels.register).
ADJUDICATION_READ = AuditedRead("adjudication", Channel.PAGE, case_of=_case_of_entry)


def _require_curator(user) -> None:
    require(review_selectors.can_adjudicate(user), _("Only curators adjudicate reviews."))


def labels_under_agreement() -> list[str]:
    """The labels the agreement rules name (not the decision), in the rules' order."""
    return [label for label in settings.REVIEW_AGREEMENT if label != "decision"]


def label_title(label: str) -> str:
    try:
        return capfirst(Case._meta.get_field(label).verbose_name)
    except Exception:  # noqa: BLE001 - a label the rules name that is not a case field
        return label


def label_value(label: str, value: Any) -> str:
    """A label's value as people read it (the vocabulary's wording of a code)."""
    if value in (None, ""):
        return ""
    if label in CODED_FIELDS:
        return CODED_FIELDS[label].label(value) or str(value)
    return str(value)


def disagreement_summary(disagreement: dict) -> list[str]:
    """What the reviews disagreed on, one phrase each (the adjudication list)."""
    parts = []
    if "decision" in (disagreement or {}):
        parts.append(
            _("decision: %(values)s")
            % {
                "values": " / ".join(
                    str(Decision(d).label) if d in Decision.values else str(d)
                    for d in disagreement["decision"]
                )
            }
        )
    for label, values in ((disagreement or {}).get("labels") or {}).items():
        shown = " / ".join(label_value(label, value) or "—" for value in values)
        parts.append(f"{label_title(label)}: {shown}")
    return parts


# --- the list -----------------------------------------------------------------------------------


def _mark_urgent(request: HttpRequest) -> HttpResponse:
    entry_id = request.POST.get("entry", "")
    if not entry_id.isdigit() or len(entry_id) > 18:
        messages.error(request, _("entry: give the number of a queue entry."))
        return redirect("curation:adjudication-list")
    entry = QueueEntry.objects.filter(pk=int(entry_id)).first()
    if entry is None:
        raise Http404(_("No such queue entry."))
    urgent = request.POST.get("urgent", "")
    if urgent not in ("1", "0"):
        messages.error(request, _("urgent: give 1 (urgent) or 0 (not urgent)."))
        return redirect("curation:adjudication-list")
    try:
        review_services.mark_urgent(
            entry,
            curator=request.user,
            urgent=urgent == "1",
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        if urgent == "1":
            messages.success(
                request, _("Case %(number)s is marked urgent.") % {"number": entry.case_id}
            )
        else:
            messages.success(
                request, _("Case %(number)s is no longer urgent.") % {"number": entry.case_id}
            )
    return redirect("curation:adjudication-list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def adjudication_list(request: HttpRequest) -> HttpResponse:
    """Permission: can_adjudicate (403). A POST marks a waiting entry urgent or not."""
    _require_curator(request.user)
    if request.method == "POST":
        return _mark_urgent(request)
    disagreeing = Paginator(review_selectors.adjudication_entries(request.user), ENTRIES_PER_PAGE)
    waiting = Paginator(review_selectors.waiting_entries(), ENTRIES_PER_PAGE)
    disagreeing_page = disagreeing.get_page(request.GET.get("page"))
    waiting_page = waiting.get_page(request.GET.get("waiting_page"))
    return render(
        request,
        "curation/adjudication_list.html",
        {
            "entries": [
                {"entry": entry, "differs": disagreement_summary(entry.disagreement)}
                for entry in disagreeing_page
            ],
            "entries_page": disagreeing_page,
            "waiting": waiting_page,
        },
    )


# --- one entry ----------------------------------------------------------------------------------


class AdjudicationForm(forms.Form):
    """The curator's final decision; its label fields are those the agreement rules name."""

    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    reasons = forms.MultipleChoiceField(
        choices=RejectReason.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    message = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)

    def __init__(self, *args, images: list, labels: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.labels = labels
        for label in labels:
            name = f"label_{label}"
            if label in CODED_FIELDS:
                self.fields[name] = forms.ChoiceField(
                    label=label_title(label),
                    choices=[("", _("Keep the contributor's value"))]
                    + list(CODED_FIELDS[label].choices),
                    required=False,
                )
            elif label == "swede_total":
                self.fields[name] = forms.IntegerField(
                    label=label_title(label), min_value=0, max_value=vocab.SWEDE_MAX, required=False
                )
        self.fields["excluded_images"] = forms.TypedMultipleChoiceField(
            choices=[
                (
                    str(image.pk),
                    _("Image %(n)s: %(step)s (id %(id)s)")
                    % {
                        "n": image.display_order,
                        "step": vocab.EXAMINATION_STEP.label(image.step),
                        "id": image.pk,
                    },
                )
                for image in images
            ],
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )

    def label_values(self) -> dict:
        return {
            label: self.cleaned_data[f"label_{label}"]
            for label in self.labels
            if f"label_{label}" in self.cleaned_data
            and self.cleaned_data[f"label_{label}"] not in (None, "")
        }


@dataclass
class Row:
    """One aspect of the reviews, one cell per review, and whether they differ."""

    key: str
    title: str
    cells: list[Any]
    contributor: str = ""
    differs: bool = False
    kind: str = "text"  # text | list | flags


@dataclass
class SideBySide:
    reviews: list[Review]
    rows: list[Row] = field(default_factory=list)


def _reviewer_name(review: Review) -> str:
    return review.reviewer.full_name or review.reviewer.email


def _flag_cells(review: Review) -> list[str]:
    cells = []
    for flag in review.flags.all():
        reason = (
            str(FlagReason(flag.reason).label) if flag.reason in FlagReason.values else flag.reason
        )
        line = _("Image %(n)s: %(reason)s") % {"n": flag.image.display_order, "reason": reason}
        if flag.correct_step:
            line += " → " + vocab.EXAMINATION_STEP.label(flag.correct_step)
        if flag.note:
            line += f" ({flag.note})"
        cells.append(line)
    return cells


def side_by_side(entry: QueueEntry, reviews: list[Review]) -> SideBySide:
    """The rows of the comparison (no query beyond the reviews' prefetched flags and outlines,
    and the checklist's items)."""
    case = entry.case
    disagreement = entry.disagreement or {}
    differing_labels = set((disagreement.get("labels") or {}).keys())
    table = SideBySide(reviews=reviews)
    rows = table.rows
    rows.append(
        Row(
            "decision",
            _("Decision"),
            [
                str(Decision(r.decision).label) if r.decision in Decision.values else r.decision
                for r in reviews
            ],
            differs="decision" in disagreement or len({r.decision for r in reviews}) > 1,
        )
    )
    rows.append(
        Row(
            "reasons",
            _("Reasons"),
            [
                [
                    str(RejectReason(c).label) if c in RejectReason.values else c
                    for c in r.reasons or []
                ]
                for r in reviews
            ],
            kind="list",
            differs=len({tuple(sorted(r.reasons or [])) for r in reviews}) > 1,
        )
    )
    rows.append(Row("message", _("Message to the contributor"), [r.message for r in reviews]))
    items = {item.code: item_label(item) for item in active_items()}
    answered = list(items)
    for review in reviews:
        for code in review.eligibility or {}:
            if code not in items and code not in answered:
                answered.append(code)
    yes, no = _("Yes"), _("No")
    for code in answered:
        values = [(r.eligibility or {}).get(code) for r in reviews]
        rows.append(
            Row(
                f"eligibility:{code}",
                items.get(code, code),
                [yes if v is True else no if v is False else "—" for v in values],
                differs=len(set(values)) > 1,
            )
        )
    opinion_labels = list(
        dict.fromkeys(
            [*labels_under_agreement(), *(k for r in reviews for k in (r.label_opinions or {}))]
        )
    )
    for label in opinion_labels:
        contributor = getattr(case, label, None)
        values = [
            (r.label_opinions or {}).get(label, contributor)
            if label in (r.label_opinions or {})
            else contributor
            for r in reviews
        ]
        rows.append(
            Row(
                f"label:{label}",
                label_title(label),
                [
                    label_value(label, value) + ("" if label in (r.label_opinions or {}) else " *")
                    if value not in (None, "")
                    else "—"
                    for r, value in zip(reviews, values, strict=True)
                ],
                contributor=label_value(label, contributor) or "—",
                differs=label in differing_labels,
            )
        )
    rows.append(Row("flags", _("Flags"), [_flag_cells(r) for r in reviews], kind="list"))
    rows.append(
        Row(
            "outlines",
            _("Outlines"),
            [str(len(r.outlines.all())) for r in reviews],
        )
    )
    rows.append(
        Row(
            "excluded",
            _("Images to keep out of the bank"),
            [", ".join(str(pk) for pk in r.excluded_images or []) or "—" for r in reviews],
            differs=len({tuple(sorted(r.excluded_images or [])) for r in reviews}) > 1,
        )
    )
    return table


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{name}: {' '.join(str(m) for m in problems)}"
            for name, problems in error.message_dict.items()
        )
    return " ".join(str(m) for m in error.messages)


def _form_errors_from(form: AdjudicationForm, error: ValidationError) -> None:
    if not hasattr(error, "message_dict"):
        form.add_error(None, error)
        return
    for name, problems in error.message_dict.items():
        target = name if name in form.fields else None
        if name == "label_values":
            target = None
        for problem in problems:
            form.add_error(target, f"{name}: {problem}" if target is None else problem)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def adjudication_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: can_adjudicate (403); the entry through review_selectors (404)."""
    _require_curator(request.user)
    entry = review_selectors.adjudication_entry(request.user, pk)
    if entry is None:
        raise Http404(_("No such queue entry."))
    reviews = list(
        getattr(entry, "submitted", None) or review_selectors.reviews_of(request.user, entry)
    )
    images = list(entry.case.images.order_by("display_order", "pk"))
    labels = labels_under_agreement()
    adjudication = review_selectors.adjudication_of(entry)
    waiting = entry.status == EntryStatus.ADJUDICATION and adjudication is None
    status = 200
    form = None
    if waiting:
        if request.method == "POST":
            form = AdjudicationForm(request.POST, images=images, labels=labels)
            if form.is_valid():
                try:
                    review_services.adjudicate(
                        entry,
                        curator=request.user,
                        decision=form.cleaned_data["decision"],
                        reasons=form.cleaned_data["reasons"],
                        message=form.cleaned_data["message"],
                        label_values=form.label_values(),
                        excluded_images=form.cleaned_data["excluded_images"],
                    )
                except ValidationError as error:
                    _form_errors_from(form, error)
                else:
                    messages.success(
                        request,
                        _("Case %(number)s: your decision is recorded with both reviews.")
                        % {"number": entry.case_id},
                    )
                    return redirect("curation:adjudication-list")
            status = 400
        else:
            excluded = sorted({pk for r in reviews for pk in r.excluded_images or []})
            form = AdjudicationForm(
                images=images, labels=labels, initial={"excluded_images": excluded}
            )
    elif request.method == "POST":
        messages.error(request, _("This case is not waiting for adjudication."))
        return redirect("curation:adjudication", pk=entry.pk)
    return render(
        request,
        "curation/adjudication.html",
        {
            "entry": entry,
            "case": entry.case,
            "table": side_by_side(entry, reviews),
            "differs": disagreement_summary(entry.disagreement),
            "adjudication": adjudication,
            "form": form,
            "images": [
                {"image": image, "step_label": vocab.EXAMINATION_STEP.label(image.step)}
                for image in images
            ],
            "label_fields": [
                form[f"label_{label}"]
                for label in labels
                if form and f"label_{label}" in form.fields
            ],
        },
        status=status,
    )
