"""The case pages: list, new case with its images, case page, edit, add and remove images, submit.

Every view is login_required and reads through a permission-filtered selector (a case the user may
not see is a 404); every write goes through a service, which checks permission again.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imagebank import hooks, selectors, submission
from imagebank import vocabularies as vocab
from imagebank.forms import (
    CaseFilterForm,
    CaseMetadataForm,
    ImageArrangementForm,
    ImageUploadForm,
    NewCaseForm,
    apply_service_errors,
)
from imagebank.imaging import processing as image_processing
from imagebank.imaging.prepared import check_upload, prepare_upload
from imagebank.lifecycle import IllegalTransition
from imagebank.models import Case
from imagebank.permissions import can_edit_case, require
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.views.case_page import FileReport, image_rows, render_case

CASES_PER_PAGE = 25


# --- uploads ------------------------------------------------------------------------------------


class RejectedUpload(Exception):
    def __init__(self, reports: list[FileReport]) -> None:
        self.reports = reports
        super().__init__("rejected upload")


def _check_files(uploads: list[tuple[Any, str, bool]]) -> list[FileReport]:
    """Inspect every file before anything is written, so one reply names every bad file."""
    reports = []
    for position, (upload, step, is_guess) in enumerate(uploads, start=1):
        report = FileReport(position, upload.name, step, step_is_guess=is_guess)
        try:
            check_upload(upload, upload.name)
        except image_processing.InvalidImage as error:
            report.errors.append(str(error))
        reports.append(report)
    return reports


def _add_uploads(case: Case, actor, uploads: list[tuple[Any, str, bool]]) -> None:
    """Add the images in order; the caller's transaction makes it all or nothing."""
    reports = _check_files(uploads)
    if any(report.errors for report in reports):
        raise RejectedUpload(reports)
    for report, (upload, step, is_guess) in zip(reports, uploads, strict=True):
        try:
            image_services.add_image(
                case=case,
                actor=actor,
                fileobj=upload,
                filename=upload.name,
                step=step,
                step_is_guess=is_guess,
            )
        except ValidationError as error:
            report.errors.extend(error.messages)
            raise RejectedUpload(reports) from error


# --- views --------------------------------------------------------------------------------------


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    """Permission: login; the list is selectors.case_list (only cases the user may see)."""
    sites = selectors.sites_for_user(request.user)
    filters = CaseFilterForm(request.GET or None, sites=sites)
    site = state = None
    search = ""
    if filters.is_valid():
        site = filters.cleaned_data["site"]
        state = filters.cleaned_data["state"] or None
        search = filters.cleaned_data["q"].strip()
    cases = selectors.case_list(request.user, site=site, state=state, search=search)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "imagebank/case_list.html",
        {
            "filters": filters,
            "page": page,
            "search": search,
            "can_contribute": selectors.contributable_sites(request.user).exists(),
        },
    )


def _needed_to_submit(sites, chosen: Any) -> dict[str, str]:
    """The fields the chosen site (or the first one offered) needs before a case is submitted."""
    site = sites.filter(pk=chosen).first() if str(chosen or "").isdigit() else None
    site = site or sites.first()
    return submission.fields_needed_by(site) if site else {}


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    """Permission: contributors only (selectors.contributable_sites); create_case checks again."""
    sites = selectors.contributable_sites(request.user)
    require(sites.exists(), _("Only contributors of a site can add cases."))
    file_reports: list[FileReport] = []
    if request.method == "POST":
        form = NewCaseForm(
            request.POST,
            sites=sites,
            needed_to_submit=_needed_to_submit(sites, request.POST.get("site")),
        )
        upload_form = ImageUploadForm(request.POST, request.FILES)
        if form.is_valid() and upload_form.is_valid():
            try:
                # One transaction: a case whose images were refused is not left behind.
                with transaction.atomic():
                    case = case_services.create_case(
                        site=form.cleaned_data["site"],
                        actor=request.user,
                        local_patient_id=form.cleaned_data["local_patient_id"],
                        source_reference=form.source_reference(),
                        consent_attested=form.consent_attested(),
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
                    ngettext(
                        "Case %(number)s saved as a draft with %(count)s image.",
                        "Case %(number)s saved as a draft with %(count)s images.",
                        count,
                    )
                    % {"number": case.pk, "count": count},
                )
                return redirect("imagebank:case-detail", pk=case.pk)
        status = 400
    else:
        form = NewCaseForm(
            sites=sites,
            initial={"site": sites.first()},
            needed_to_submit=_needed_to_submit(sites, None),
        )
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
    return render_case(request, selectors.case_detail(request.user, pk))


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
                for row in image_rows(case)
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
    needed = submission.fields_needed_by(case.site)
    if request.method == "POST":
        form = CaseMetadataForm(request.POST, needed_to_submit=needed)
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
                    source_reference=form.source_reference(),
                    consent_attested=form.consent_attested(),
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The changes were saved."))
                return redirect("imagebank:case-detail", pk=case.pk)
        status = 400
    else:
        form = CaseMetadataForm(
            initial=CaseMetadataForm.initial_from(case), needed_to_submit=needed
        )
        status = 200
    return render(
        request,
        "imagebank/case_form.html",
        {
            "form": form,
            "case": case,
            "is_new": False,
            "missing": submission.missing_for(case),
        },
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
            return render_case(
                request,
                selectors.case_detail(request.user, pk),
                upload_form=upload_form,
                file_reports=rejected.reports,
                status=400,
            )
        added = len(upload_form.uploads())
        messages.success(
            request,
            ngettext("%(count)s image added.", "%(count)s images added.", added) % {"count": added},
        )
        return redirect("imagebank:case-detail", pk=case.pk)
    return render_case(request, case, upload_form=upload_form, status=400)


@login_required
@require_POST
def case_remove_image(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    """Permission: selectors.case_detail, then can_edit_case (remove_image rechecks)."""
    case = selectors.case_detail(request.user, pk)
    require(can_edit_case(request.user, case), _("Images can no longer be removed from this case."))
    image = get_object_or_404(case.images.all(), pk=image_pk)
    image_services.remove_image(image=image, actor=request.user)
    messages.success(request, _("The image was removed."))
    return redirect("imagebank:case-detail", pk=case.pk)


@login_required
@require_POST
def case_arrange_images(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: selectors.case_detail, then can_edit_case (arrange_images rechecks).

    Saves the step and the position of every image; saving confirms each step shown.
    """
    case = selectors.case_detail(request.user, pk)
    require(can_edit_case(request.user, case), _("The images of this case can no longer change."))
    form = ImageArrangementForm(request.POST, images=list(case.images.all()))
    if form.is_valid():
        try:
            image_services.arrange_images(
                case=case, actor=request.user, placements=form.placements()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The steps and the order of the images were saved."))
            return redirect(reverse("imagebank:case-detail", args=[case.pk]) + "#images-h")
    return render_case(request, case, arrange_form=form, status=400)


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
    except IllegalTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Case %(number)s was submitted for review.") % {"number": case.pk}
        )
    return redirect("imagebank:case-detail", pk=case.pk)


# --- step suggestions ---------------------------------------------------------------------------

# The upload form sends a small copy of each chosen image (at most this long a side, drawn by the
# browser), never the file itself: on a slow link the file is sent once, with the form.
SUGGESTION_MAX_BYTES = 2 * 1024 * 1024


@login_required
@require_POST
def case_suggest_step(request: HttpRequest) -> JsonResponse:
    """The step an image's pixels suggest (imagebank.hooks.suggest_step), for the upload form
    to propose where its step is only guessed; nothing is stored. `file`: the image (a reduced
    copy), `step`: the current guess. Answers {"step": code or null, "label": …}."""
    require(
        selectors.contributable_sites(request.user).exists(),
        _("Only contributors can add images."),
    )
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"file": [_("Send the image as “file”.")]}, status=400)
    if upload.size > SUGGESTION_MAX_BYTES:
        return JsonResponse({"file": [_("The image is too large for a suggestion.")]}, status=400)
    step = request.POST.get("step", "other")
    if step not in vocab.EXAMINATION_STEP:
        step = "other"
    try:
        prepared = prepare_upload(upload.read(), upload.name or "image")
    except image_processing.InvalidImage as error:
        return JsonResponse({"file": [str(error)]}, status=400)
    suggested = hooks.suggest_step(prepared.data, step)
    label = str(vocab.EXAMINATION_STEP.label(suggested)) if suggested else ""
    return JsonResponse({"step": suggested, "label": label})
