"""The case pages: list, new case with its images, case page, edit, add and remove images, submit.

Every view is login_required and reads through a permission-filtered selector (a case the user may
not see is a 404); every write goes through a service, which checks permission again.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imagebank import image_processing, selectors
from imagebank import vocabularies as vocab
from imagebank.forms import (
    FIELDSETS,
    CaseFilterForm,
    CaseMetadataForm,
    ImageUploadForm,
    NewCaseForm,
    apply_service_errors,
)
from imagebank.ingest.prepared import check_upload
from imagebank.lifecycle import CaseState
from imagebank.models import CODED_FIELDS, Case, CaseEvent, Image, ProcessingStatus
from imagebank.permissions import can_edit_case, require
from imagebank.services import cases as case_services
from imagebank.services import images as image_services

CASES_PER_PAGE = 25


def image_url(image: Image, variant: str) -> str:
    """URL of the permission-checked file view for one variant of an image."""
    return reverse("files:image-file", kwargs={"pk": image.pk, "variant": variant})


# --- uploads ------------------------------------------------------------------------------------


@dataclass
class FileReport:
    """What happened to one chosen file, shown next to its name when an upload is refused."""

    position: int
    name: str
    step: str
    errors: list[str] = field(default_factory=list)

    @property
    def step_label(self) -> str:
        return vocab.EXAMINATION_STEP.label(self.step)


class RejectedUpload(Exception):
    def __init__(self, reports: list[FileReport]) -> None:
        self.reports = reports
        super().__init__("rejected upload")


def _check_files(uploads: list[tuple[Any, str]]) -> list[FileReport]:
    """Inspect every file before anything is written, so one reply names every bad file."""
    reports = []
    for position, (upload, step) in enumerate(uploads, start=1):
        report = FileReport(position, upload.name, step)
        try:
            check_upload(upload, upload.name)
        except image_processing.InvalidImage as error:
            report.errors.append(str(error))
        reports.append(report)
    return reports


def _add_uploads(case: Case, actor, uploads: list[tuple[Any, str]]) -> None:
    """Add the images in order; the caller's transaction makes it all or nothing."""
    reports = _check_files(uploads)
    if any(report.errors for report in reports):
        raise RejectedUpload(reports)
    for report, (upload, step) in zip(reports, uploads, strict=True):
        try:
            image_services.add_image(
                case=case, actor=actor, fileobj=upload, filename=upload.name, step=step
            )
        except ValidationError as error:
            report.errors.extend(error.messages)
            raise RejectedUpload(reports) from error


# --- reading a case -----------------------------------------------------------------------------


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


def _event_rows(case: Case) -> list[dict[str, Any]]:
    rows = []
    for event in case.events.all():
        changed = [
            capfirst(Case._meta.get_field(name).verbose_name)
            if name in {f.name for f in Case._meta.get_fields()}
            else name
            for name in (event.changes or {})
        ]
        if event.kind in (CaseEvent.Kind.IMAGE_ADDED, CaseEvent.Kind.IMAGE_REMOVED):
            step = (event.changes or {}).get("step", "")
            order = (event.changes or {}).get("order", "")
            changed = [f"#{order} {vocab.EXAMINATION_STEP.label(step)}"]
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


def _image_rows(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "image": image,
            "step_label": vocab.EXAMINATION_STEP.label(image.step),
            "ready": image.processing_status == ProcessingStatus.DONE,
            "failed": image.processing_status == ProcessingStatus.FAILED,
            "thumbnail_url": image_url(image, "thumbnail"),
            "preview_url": image_url(image, "preview"),
        }
        for image in case.images.all()
    ]


def _render_case(
    request: HttpRequest,
    case: Case,
    *,
    upload_form: ImageUploadForm | None = None,
    file_reports: list[FileReport] | None = None,
    status: int = 200,
) -> HttpResponse:
    images = _image_rows(case)
    can_edit = can_edit_case(request.user, case)
    context = {
        "case": case,
        "state_label": CaseState(case.state).label,
        "groups": metadata_groups(case),
        "images": images,
        "processing": any(
            row["image"].processing_status == ProcessingStatus.PENDING for row in images
        ),
        "events": _event_rows(case),
        "can_edit": can_edit,
        "upload_form": upload_form or (ImageUploadForm() if can_edit else None),
        "file_reports": file_reports or [],
        "step_choices": vocab.EXAMINATION_STEP.choices,
    }
    return render(request, "imagebank/case_detail.html", context, status=status)


# --- views --------------------------------------------------------------------------------------


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    """Permission: login; the list is selectors.case_list (only cases the user may see)."""
    sites = selectors.sites_for_user(request.user)
    filters = CaseFilterForm(request.GET or None, sites=sites)
    site = state = None
    if filters.is_valid():
        site = filters.cleaned_data["site"]
        state = filters.cleaned_data["state"] or None
    cases = selectors.case_list(request.user, site=site, state=state)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "imagebank/case_list.html",
        {
            "filters": filters,
            "page": page,
            "can_contribute": selectors.contributable_sites(request.user).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    """Permission: contributors only (selectors.contributable_sites); create_case checks again."""
    sites = selectors.contributable_sites(request.user)
    require(sites.exists(), _("Only contributors of a site can add cases."))
    file_reports: list[FileReport] = []
    if request.method == "POST":
        form = NewCaseForm(request.POST, sites=sites)
        upload_form = ImageUploadForm(request.POST, request.FILES)
        if form.is_valid() and upload_form.is_valid():
            try:
                # One transaction: a case whose images were refused is not left behind.
                with transaction.atomic():
                    case = case_services.create_case(
                        site=form.cleaned_data["site"],
                        actor=request.user,
                        local_patient_id=form.cleaned_data["local_patient_id"],
                        **form.clinical_values(),
                    )
                    _add_uploads(case, request.user, upload_form.uploads())
            except ValidationError as error:
                apply_service_errors(form, error)
            except RejectedUpload as rejected:
                file_reports = rejected.reports
                upload_form.add_error(
                    "images",
                    _(
                        "Nothing was saved: fix or leave out the files marked below, then choose "
                        "the images again."
                    ),
                )
            else:
                count = len(upload_form.uploads())
                messages.success(
                    request,
                    _("Case %(number)s saved as a draft with %(count)s image(s).")
                    % {"number": case.pk, "count": count},
                )
                return redirect("portal:cases:detail", pk=case.pk)
        status = 400
    else:
        form = NewCaseForm(sites=sites, initial={"site": sites.first()})
        upload_form = ImageUploadForm()
        status = 200
    return render(
        request,
        "imagebank/case_form.html",
        {
            "form": form,
            "upload_form": upload_form,
            "file_reports": file_reports,
            "step_choices": vocab.EXAMINATION_STEP.choices,
            "is_new": True,
        },
        status=status,
    )


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: selectors.case_detail (404 when the user may not see the case)."""
    return _render_case(request, selectors.case_detail(request.user, pk))


@login_required
@require_GET
def case_image_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Permission: selectors.case_detail. Polled by the case page while images are processed."""
    case = selectors.case_detail(request.user, pk)
    return JsonResponse(
        {
            "images": [
                {
                    "pk": row["image"].pk,
                    "status": row["image"].processing_status,
                    "thumbnail": row["thumbnail_url"],
                    "preview": row["preview_url"],
                    "error": row["image"].processing_error,
                }
                for row in _image_rows(case)
            ]
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: selectors.case_detail, then permissions.can_edit_case (update_case rechecks)."""
    case = selectors.case_detail(request.user, pk)
    require(
        can_edit_case(request.user, case),
        _(
            "This case can be changed only by its site's contributors while it is a draft or "
            "returned."
        ),
    )
    if request.method == "POST":
        form = CaseMetadataForm(request.POST)
        if form.is_valid():
            values = form.clinical_values()
            # A total left as it was is recomputed from the (possibly changed) components.
            if values["swede_total"] == case.swede_total:
                values["swede_total"] = None
            try:
                case_services.update_case(
                    case=case,
                    actor=request.user,
                    values=values,
                    reason=request.POST.get("reason", "").strip()[:500],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The changes were saved."))
                return redirect("portal:cases:detail", pk=case.pk)
        status = 400
    else:
        form = CaseMetadataForm(initial=CaseMetadataForm.initial_from(case))
        status = 200
    return render(
        request,
        "imagebank/case_form.html",
        {"form": form, "case": case, "is_new": False},
        status=status,
    )


@login_required
@require_POST
def case_add_images(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: selectors.case_detail, then can_edit_case (add_image rechecks)."""
    case = selectors.case_detail(request.user, pk)
    require(can_edit_case(request.user, case), _("Images can no longer be added to this case."))
    upload_form = ImageUploadForm(request.POST, request.FILES, require_images=True)
    if upload_form.is_valid():
        try:
            with transaction.atomic():
                _add_uploads(case, request.user, upload_form.uploads())
        except RejectedUpload as rejected:
            upload_form.add_error(
                "images", _("No image was added: fix or leave out the files marked below.")
            )
            return _render_case(
                request,
                selectors.case_detail(request.user, pk),
                upload_form=upload_form,
                file_reports=rejected.reports,
                status=400,
            )
        messages.success(
            request, _("%(count)s image(s) added.") % {"count": len(upload_form.uploads())}
        )
        return redirect("portal:cases:detail", pk=case.pk)
    return _render_case(request, case, upload_form=upload_form, status=400)


@login_required
@require_POST
def case_remove_image(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    """Permission: selectors.case_detail, then can_edit_case (remove_image rechecks)."""
    case = selectors.case_detail(request.user, pk)
    require(can_edit_case(request.user, case), _("Images can no longer be removed from this case."))
    image = get_object_or_404(case.images.all(), pk=image_pk)
    image_services.remove_image(image=image, actor=request.user)
    messages.success(request, _("The image was removed."))
    return redirect("portal:cases:detail", pk=case.pk)


@login_required
@require_POST
def case_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: selectors.case_detail, then submit_case's own can_edit_case check."""
    case = selectors.case_detail(request.user, pk)
    try:
        case_services.submit_case(case=case, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("Case %(number)s was submitted for review.") % {"number": case.pk}
        )
    return redirect("portal:cases:detail", pk=case.pk)
