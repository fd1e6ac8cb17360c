"""The researcher's request pages: their requests and grants, the request form (new and edit), a
request's page (state, history, messages, the submit button, a message form), the ethics
approval document, and a grant's page with its versions.

Permission: the selectors and services decide (deny by default). The list and the form are for
researchers and members of groups (403 otherwise); a request's page is for the members of its
group (request_selectors.request_for_requester: no review, vote or internal note reaches it), 404
for anyone else; a grant's page for its group's members and accessors, the committee and curators
(page_selectors.grant_for_viewer), where the group's PI renews or closes it while it is live (403
for anyone else who sees it). Every POST that succeeds answers with a redirect and a message; a
renewal or closing refused gets the grant's page back with the form and its errors (400).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from access_requests import page_selectors, request_selectors, selectors
from access_requests.forms import (
    CloseForm,
    MessageForm,
    RenewForm,
    RequestForm,
    RevokeForm,
    apply_service_errors,
)
from access_requests.lifecycle import EDITABLE, GrantState
from access_requests.models import AccessRequest, Grant
from access_requests.services import agreements, downloads
from access_requests.services import grants as grant_services
from access_requests.services import requests as services
from imagebank.permissions import require
from imagebank.views.files import stored_file_response


def _require_research_access(request: HttpRequest) -> None:
    require(
        page_selectors.uses_research_access(request.user),
        _("These pages are for researchers and members of research groups."),
    )


def _say_errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _request_or_404(request: HttpRequest, pk: int) -> AccessRequest:
    try:
        return request_selectors.requests_of_user(request.user).get(pk=pk)
    except AccessRequest.DoesNotExist:
        raise Http404(_("No request of your groups has this number.")) from None


def _detail(access_request: AccessRequest):
    return redirect("access_requests:request-detail", access_request.pk)


@login_required
@require_safe
def request_list(request: HttpRequest) -> HttpResponse:
    _require_research_access(request)
    return render(
        request,
        "access_requests/request_list.html",
        {
            "requests": request_selectors.requests_of_user(request.user),
            "grants": request_selectors.grants_of_user(request.user),
            "has_groups": selectors.groups_of(request.user).exists(),
        },
    )


def _request_form(request: HttpRequest, **kwargs) -> RequestForm:
    return RequestForm(
        request.POST or None,
        request.FILES or None,
        groups=selectors.groups_of(request.user),
        versions=page_selectors.requestable_versions(),
        members=page_selectors.members_of_groups(request.user),
        **kwargs,
    )


def _form_page(request, form, access_request=None, status=200) -> HttpResponse:
    return render(
        request,
        "access_requests/request_form.html",
        {"form": form, "access_request": access_request},
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    """A draft request for one of the user's groups (create_request); it is submitted from its
    page once complete and the agreement signed."""
    _require_research_access(request)
    groups = list(selectors.groups_of(request.user)[:2])
    if not groups:
        messages.info(request, _("Create or join a research group first: requests are a group's."))
        return redirect("access_requests:group-list")
    # A researcher of one group (the usual case) has nothing to choose.
    form = _request_form(request, initial={"group": groups[0]} if len(groups) == 1 else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                created = services.create_request(
                    group=form.cleaned_data["group"],
                    requester=request.user,
                    **form.service_fields(),
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Request saved as a draft: sign the agreement and submit it when ready."),
                )
                return _detail(created)
        return _form_page(request, form, status=400)
    return _form_page(request, form)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester or the group's PI changes a draft or a request sent back for changes."""
    access_request = _request_or_404(request, pk)
    require(
        services.may_edit(request.user, access_request),
        _("Only the requester or the group's principal investigator edits a request."),
    )
    if access_request.state not in EDITABLE:
        messages.error(request, _("This request cannot be changed in its state."))
        return _detail(access_request)
    initial = {
        "group": access_request.group,
        "releases": list(access_request.releases.all()),
        "accessors": list(access_request.accessors.all()),
        **{
            name: getattr(access_request, name)
            for name in (
                "and_later_versions",
                "project_title",
                "aims",
                "intended_use",
                "commercial",
                "ethics_committee",
                "ethics_number",
                "ethics_expiry",
                "data_security",
            )
        },
    }
    form = _request_form(request, initial=initial)
    # A request stays its group's: the group is shown, not changed.
    form.fields["group"].disabled = True
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_request(access_request, actor=request.user, **form.service_fields())
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Request saved."))
                return _detail(access_request)
        return _form_page(request, form, access_request, status=400)
    return _form_page(request, form, access_request)


@login_required
@require_safe
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        view = request_selectors.request_for_requester(request.user, pk)
    except AccessRequest.DoesNotExist:
        raise Http404(_("No request of your groups has this number.")) from None
    access_request = view.request
    editable = access_request.state in EDITABLE
    signed = editable and agreements.has_signed_current(access_request.group, request.user)
    return render(
        request,
        "access_requests/request_detail.html",
        {
            "access_request": access_request,
            "history": view.history,
            "messages_list": view.messages,
            "releases": access_request.releases.select_related("release"),
            "accessors": access_request.accessors.all(),
            "editable": editable and services.may_edit(request.user, access_request),
            "may_submit": editable and request.user.pk == access_request.requester_id,
            "signed": signed,
            "grant": page_selectors.grant_of_request(access_request),
            "message_form": MessageForm(),
        },
    )


@login_required
@require_POST
def request_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester sends the request to the committee under their signature of the current
    agreement for the group."""
    access_request = _request_or_404(request, pk)
    signature = agreements.signature_for_download(access_request.group, request.user)
    try:
        services.submit_request(access_request, actor=request.user, signature=signature)
    except ValidationError as error:
        messages.error(request, _("The request was not submitted:"))
        _say_errors(request, error)
    else:
        messages.success(request, _("Request submitted to the access committee."))
    return _detail(access_request)


@login_required
@require_POST
def request_message(request: HttpRequest, pk: int) -> HttpResponse:
    """The requesting group's message to the committee."""
    access_request = _request_or_404(request, pk)
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a message."))
        return _detail(access_request)
    try:
        services.message_committee(
            access_request, author=request.user, text=form.cleaned_data["text"]
        )
    except ValidationError as error:
        _say_errors(request, error)
    else:
        messages.success(request, _("Message sent to the access committee."))
    return _detail(access_request)


@login_required
@require_safe
def request_ethics_document(request: HttpRequest, pk: int) -> HttpResponse:
    """The ethics approval of a request, for the committee, curators and the requesting group's
    members (404 for anyone else, and where none was uploaded)."""
    access_request = page_selectors.request_with_document(pk)
    if access_request is None or not page_selectors.ethics_document_viewer(
        request.user, access_request
    ):
        raise Http404(_("No request of yours has this number."))
    if not access_request.ethics_document:
        raise Http404(_("No ethics approval was uploaded."))
    return stored_file_response(
        access_request.ethics_document.name,
        "application/pdf",
        f"ethics-approval-request-{access_request.pk}.pdf",
    )


# --- grants -------------------------------------------------------------------------------------


def _download_link(name: str, grant: Grant, version) -> str | None:
    """The downloads helper's URL for a version, where those routes exist."""
    try:
        return reverse(
            f"access_requests:{name}",
            kwargs={"grant": grant.pk, "slug": version.release.slug, "version": version.version},
        )
    except NoReverseMatch:
        return None


def _grant_or_404(request: HttpRequest, pk: int) -> Grant:
    try:
        return page_selectors.grant_for_viewer(request.user, pk)
    except Grant.DoesNotExist:
        raise Http404(_("No grant of yours has this number.")) from None


def _grant_page(
    request: HttpRequest,
    grant: Grant,
    *,
    renew_form: RenewForm | None = None,
    close_form: CloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The grant's page; a renewal or closing refused comes back with its bound form."""
    versions = [
        {
            "version": version,
            "archive_url": _download_link("download-archive", grant, version),
            "manifest_url": _download_link("download-manifest", grant, version),
        }
        for version in grant_services.covered_versions(grant)
        .select_related("release")
        .order_by("release__slug", "-major", "-minor", "-patch")
    ]
    may_revoke = grant.state == GrantState.ACTIVE and page_selectors.sees_committee_pages(
        request.user
    )
    manages = page_selectors.manages_grant(request.user, grant)
    if manages or renew_form is not None or close_form is not None:
        renew_form = RenewForm() if renew_form is None else renew_form
        close_form = CloseForm() if close_form is None else close_form
    return render(
        request,
        "access_requests/grant_detail.html",
        {
            "grant": grant,
            "versions": versions,
            "accessors": grant.accessors.order_by("email"),
            "sees_every_row": downloads.sees_every_row(request.user),
            "revoke_form": RevokeForm() if may_revoke else None,
            "renew_form": renew_form,
            "close_form": close_form,
            "renewal_expiry": page_selectors.renewal_expiry(grant),
            "is_group_member": request_selectors.is_group_member(request.user, grant.group),
        },
        status=status,
    )


@login_required
@require_safe
def grant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _grant_page(request, _grant_or_404(request, pk))


def _managed_grant(request: HttpRequest, pk: int) -> Grant:
    """The grant for its group's PI: 404 where the user may not see it, 403 where they see it
    but do not lead its group (an accessor, another member, the committee)."""
    grant = _grant_or_404(request, pk)
    require(
        request_selectors.is_principal_investigator(request.user, grant.group),
        _("Only the group's principal investigator renews or closes its grant."),
    )
    return grant


@login_required
@require_POST
def grant_renew(request: HttpRequest, pk: int) -> HttpResponse:
    """The PI renews a live grant with a progress report and the publications (renew_grant),
    which the committee reads on the request."""
    grant = _managed_grant(request, pk)
    form = RenewForm(request.POST)
    if form.is_valid():
        try:
            renewed = grant_services.renew_grant(grant, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("The grant is renewed until %(date)s; the committee reads your report.")
                % {"date": timezone.localtime(renewed.expires_at).date().isoformat()},
            )
            return redirect("access_requests:grant-detail", grant.pk)
    grant.refresh_from_db()
    return _grant_page(request, grant, renew_form=form, status=400)


@login_required
@require_POST
def grant_close(request: HttpRequest, pk: int) -> HttpResponse:
    """The PI ends the grant, confirming the data were destroyed or returned (close_grant)."""
    grant = _managed_grant(request, pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            grant_services.close_grant(
                grant,
                actor=request.user,
                destroyed_confirmed=form.cleaned_data["destroyed_confirmed"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The grant is closed: its access stopped now."))
            return redirect("access_requests:grant-detail", grant.pk)
    grant.refresh_from_db()
    return _grant_page(request, grant, close_form=form, status=400)


@login_required
@require_POST
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """The committee or a curator ends a grant at once, with a reason the group reads."""
    require(
        page_selectors.sees_committee_pages(request.user),
        _("Only the access committee or curators revoke a grant."),
    )
    try:
        grant = page_selectors.grant_for_viewer(request.user, pk)
    except Grant.DoesNotExist:
        raise Http404(_("No grant has this number.")) from None
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the revocation."))
        return redirect("access_requests:grant-detail", grant.pk)
    try:
        grant_services.revoke_grant(grant, actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        _say_errors(request, error)
    else:
        messages.success(request, _("The grant is revoked: its access stopped now."))
    return redirect("access_requests:grant-detail", grant.pk)
