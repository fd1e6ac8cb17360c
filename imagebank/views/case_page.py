"""What the case page shows: the metadata in its groups, the images with their steps, the
history, and what the case still needs before it is submitted. Read-only; the views in
imagebank.views call `render_case`."""

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from imagebank import hooks, submission
from imagebank import vocabularies as vocab
from imagebank.forms import FIELDSETS, ImageArrangementForm, ImageUploadForm
from imagebank.lifecycle import CaseState
from imagebank.models import CODED_FIELDS, Case, CaseEvent, Image, ProcessingStatus
from imagebank.models.cases import CONSENT_BASIS
from imagebank.permissions import can_edit_case, can_see_file_names
from imagebank.roles import reads_all_cases

# The case's own fields (not the reverse relations such as "images"), named in edit events.
_CASE_FIELD_NAMES = frozenset(f.name for f in Case._meta.get_fields() if not f.is_relation)


def image_url(image: Image, variant: str) -> str:
    """URL of the permission-checked file view for one variant of an image."""
    return reverse("imagebank:image-file", kwargs={"pk": image.pk, "variant": variant})


@dataclass
class FileReport:
    """What happened to one chosen file, shown next to its name when an upload is refused."""

    position: int
    name: str
    step: str
    errors: list[str] = field(default_factory=list)
    step_is_guess: bool = False

    @property
    def step_label(self) -> str:
        return vocab.EXAMINATION_STEP.label(self.step)


def _display_value(case: Case, name: str) -> str | list[str]:
    value = getattr(case, name)
    if name in CODED_FIELDS:
        return CODED_FIELDS[name].label(value)
    if name in vocab.FINDING_LISTS:
        return [vocab.FINDING_LISTS[name].label(code) for code in value or []]
    if name == "lesion_clock_positions":
        return ", ".join(str(hour) for hour in value or [])
    if isinstance(value, bool):
        return _("Yes") if value else ""
    return "" if value is None else str(value)


def metadata_groups(case: Case) -> list[dict[str, Any]]:
    """The case's clinical metadata in the form's groups, with vocabulary labels."""
    groups = []
    for key, legend, names in FIELDSETS:
        rows = [
            {
                "label": capfirst(Case._meta.get_field(name).verbose_name),
                "value": _display_value(case, name),
                "is_list": name in vocab.FINDING_LISTS,
            }
            for name in names
        ]
        groups.append({"key": key, "legend": legend, "rows": rows})
    return groups


def _arrangement_changes(changes: dict) -> list[str]:
    """One line per image whose step or position changed, or whose step was confirmed."""
    lines = []
    for change in (changes.get("images") or {}).values():
        parts = []
        order = change.get("order")
        if order:
            parts.append(
                _("position %(from)s → %(to)s") % {"from": order["from"], "to": order["to"]}
            )
        step = change.get("step")
        if step:
            parts.append(
                f"{vocab.EXAMINATION_STEP.label(step['from'])} → "
                f"{vocab.EXAMINATION_STEP.label(step['to'])}"
            )
        elif change.get("step_is_guess"):
            parts.append(_("guessed step confirmed"))
        if parts:
            lines.append("; ".join(parts))
    return lines


def _changed_field(name: str, change: Any) -> str:
    """An edited field as the history names it; the consent basis with what it became."""
    label = (
        str(capfirst(Case._meta.get_field(name).verbose_name))
        if name in _CASE_FIELD_NAMES
        else name
    )
    if name == "consent_basis" and isinstance(change, dict):
        before = CONSENT_BASIS.label(change.get("from")) or _("not recorded")
        after = CONSENT_BASIS.label(change.get("to")) or _("not recorded")
        return f"{label}: {before} → {after}"
    return label


def _shows_event(event: CaseEvent, user, sees_review_work: bool) -> bool:
    """Review events (claims, flags, outlines, verdicts, adjudication) are blinded: shown only to
    users who read every case (curators) and to the event's own actor. Everyone else, the
    contributor included, sees the case's transitions, whose reason carries the return message."""
    if event.kind != CaseEvent.Kind.REVIEW:
        return True
    return sees_review_work or (event.actor_id is not None and event.actor_id == user.pk)


def _event_rows(case: Case, user) -> list[dict[str, Any]]:
    rows = []
    sees_review_work = reads_all_cases(user)
    for event in case.events.all():
        if not _shows_event(event, user, sees_review_work):
            continue
        changes = event.changes or {}
        # An app above the core describes the events it writes (hooks.register_event_describer).
        described = hooks.describe_event(event)
        if described is not None:
            changed = described
        elif event.kind in (CaseEvent.Kind.IMAGE_ADDED, CaseEvent.Kind.IMAGE_REMOVED):
            step = changes.get("step", "")
            order = changes.get("order", "")
            changed = [f"#{order} {vocab.EXAMINATION_STEP.label(step)}"]
        elif event.kind == CaseEvent.Kind.IMAGES_ARRANGED:
            changed = _arrangement_changes(changes)
        else:
            changed = [_changed_field(name, change) for name, change in changes.items()]
        rows.append(
            {
                "event": event,
                "actor": (event.actor.full_name or event.actor.email)
                if event.actor
                else _("System"),
                "from_label": CaseState(event.from_state).label if event.from_state else "",
                "to_label": CaseState(event.to_state).label if event.to_state else "",
                "changed": changed,
            }
        )
    return rows


def image_rows(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "image": image,
            "step_label": vocab.EXAMINATION_STEP.label(image.step),
            # A guess of "other" is a stand-in: the source did not say the step at all.
            "step_unknown": image.step_is_guess and image.step == "other",
            "ready": image.processing_status == ProcessingStatus.DONE,
            "failed": image.processing_status == ProcessingStatus.FAILED,
            "thumbnail_url": image_url(image, "thumbnail"),
            "preview_url": image_url(image, "preview"),
        }
        for image in case.images.all()
    ]


def _checklist(case: Case, images: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What the site requires and the case lacks, each with a link to where it is fixed."""
    steps = [row["image"].step for row in images]
    items = []
    for missing in submission.missing_for(case, steps=steps):
        if missing.where == submission.IMAGES:
            url = "#images-h"
        else:
            anchor = f"#id_{missing.first_field}" if missing.first_field else ""
            url = reverse("imagebank:case-edit", args=[case.pk]) + anchor
        items.append({"code": missing.code, "message": missing.message, "url": url})
    return items


def render_case(
    request: HttpRequest,
    case: Case,
    *,
    upload_form: ImageUploadForm | None = None,
    file_reports: list[FileReport] | None = None,
    arrange_form: ImageArrangementForm | None = None,
    status: int = 200,
) -> HttpResponse:
    images = image_rows(case)
    can_edit = can_edit_case(request.user, case)
    if can_edit and arrange_form is None and images:
        arrange_form = ImageArrangementForm(images=[row["image"] for row in images])
    if arrange_form is not None:
        for row in images:
            row["step_field"], row["order_field"] = arrange_form.bound_fields_of(row["image"])
    processing = any(row["image"].processing_status == ProcessingStatus.PENDING for row in images)
    missing = _checklist(case, images) if can_edit else []
    context = {
        "case": case,
        "state_label": CaseState(case.state).label,
        "groups": metadata_groups(case),
        "images": images,
        "processing": processing,
        "events": _event_rows(case, request.user),
        "can_edit": can_edit,
        "show_file_names": can_see_file_names(request.user, case),
        "upload_form": upload_form or (ImageUploadForm() if can_edit else None),
        "file_reports": file_reports or [],
        "step_choices": vocab.EXAMINATION_STEP.choices,
        "arrange_form": arrange_form if can_edit else None,
        "guessed_steps": sum(row["image"].step_is_guess for row in images),
        "missing": missing,
        "can_submit": can_edit and bool(images) and not processing and not missing,
        # Sections of the apps above the core (hooks.register_case_panel), in order; a panel's
        # HTML that is not marked safe is escaped by the template.
        "panels": [html for panel in hooks.case_panels() if (html := panel(request, case))],
    }
    return render(request, "imagebank/case_detail.html", context, status=status)
