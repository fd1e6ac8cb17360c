"""The research groups' pages: the user's groups with a form for a new one, a group's page (its
members, the PI's invitations, the agreement's status), accepting an invitation, signing the
data use agreement for a group, and the PI's removal of a member and handing over of the group.

Permission: the selectors and services decide (deny by default): the group pages are for
researchers and members of groups (403 otherwise), a group's page for its members, the committee
and curators (404 for anyone else: who belongs to a group is not public), the invitation form
and its withdrawal, removing a member and handing the group over for the PI (403 for anyone else
who sees the group; the services refuse them too). Every POST answers with a redirect and says
what happened in a message, except a hand-over refused, which gets the group's page back with
the form and its errors (400).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from access_requests import page_selectors, selectors
from access_requests.forms import (
    GroupForm,
    InviteForm,
    SignForm,
    TransferPIForm,
    apply_service_errors,
)
from access_requests.models import DataUseAgreement, GroupInvitation, ResearchGroup
from access_requests.services import agreements, groups
from imagebank.client_address import client_ip
from imagebank.permissions import require


def _require_research_access(request: HttpRequest) -> None:
    require(
        page_selectors.uses_research_access(request.user),
        _("These pages are for researchers and members of research groups."),
    )


def _group_or_404(request: HttpRequest, pk: int) -> ResearchGroup:
    group = ResearchGroup.objects.filter(pk=pk).first()
    if group is None or not selectors.can_see_members(group, request.user):
        raise Http404(_("No research group of yours has this number."))
    return group


def _say_errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _list_page(request: HttpRequest, form: GroupForm | None, status: int = 200) -> HttpResponse:
    return render(
        request,
        "access_requests/group_list.html",
        {"groups": selectors.groups_of(request.user), "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def group_list(request: HttpRequest) -> HttpResponse:
    _require_research_access(request)
    form = GroupForm() if page_selectors.creates_groups(request.user) else None
    return _list_page(request, form)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def group_new(request: HttpRequest) -> HttpResponse:
    """POST: a new group, led by the researcher (GET shows the list with the form)."""
    require(page_selectors.creates_groups(request.user), _("Only researchers create groups."))
    form = GroupForm(request.POST or None)
    if request.method != "POST":
        return _list_page(request, form)
    if form.is_valid():
        try:
            group = groups.create_group(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("Group %(name)s created: you lead it.") % {"name": group.name}
            )
            return redirect("access_requests:group-detail", group.pk)
    return _list_page(request, form, status=400)


def _agreement_status(group: ResearchGroup, user) -> dict:
    try:
        agreement = agreements.current_agreement()
    except DataUseAgreement.DoesNotExist:
        return {"agreement": None, "signed": False}
    return {
        "agreement": agreement,
        "signed": selectors.is_member(group, user) and agreements.has_signed_current(group, user),
    }


def _transfer_form(request: HttpRequest, group: ResearchGroup, data=None) -> TransferPIForm:
    return TransferPIForm(data, candidates=page_selectors.pi_candidates(group, request.user))


def _detail_page(
    request: HttpRequest,
    group: ResearchGroup,
    *,
    transfer_form: TransferPIForm | None = None,
    status: int = 200,
) -> HttpResponse:
    is_pi = selectors.is_principal_investigator(group, request.user)
    if is_pi and transfer_form is None:
        transfer_form = _transfer_form(request, group)
    context = {
        "group": group,
        "members": selectors.members_of(group, viewer=request.user),
        "membership_history": selectors.membership_history(group, viewer=request.user),
        "invitations": selectors.pending_invitations(group, viewer=request.user),
        "is_pi": is_pi,
        "is_member": selectors.is_member(group, request.user),
        "invite_form": InviteForm() if is_pi else None,
        "transfer_form": transfer_form if is_pi else None,
        **_agreement_status(group, request.user),
    }
    return render(request, "access_requests/group_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD"])
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _group_or_404(request, pk))


@login_required
@require_POST
def group_invite(request: HttpRequest, pk: int) -> HttpResponse:
    group = _group_or_404(request, pk)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid email address."))
        return redirect("access_requests:group-detail", group.pk)
    try:
        invitation, _token = groups.invite_member(
            group=group, actor=request.user, email=form.cleaned_data["email"]
        )
    except ValidationError as error:
        _say_errors(request, error)
    else:
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("access_requests:group-detail", group.pk)


@login_required
@require_POST
def invitation_withdraw(request: HttpRequest, pk: int, invitation: int) -> HttpResponse:
    group = _group_or_404(request, pk)
    found = selectors.pending_invitations(group, viewer=request.user).filter(pk=invitation).first()
    if found is None:
        raise Http404(_("No open invitation has this number."))
    try:
        groups.withdraw_invitation(invitation=found, actor=request.user)
    except ValidationError as error:
        _say_errors(request, error)
    else:
        messages.success(
            request, _("The invitation to %(email)s was withdrawn.") % {"email": found.email}
        )
    return redirect("access_requests:group-detail", group.pk)


def _require_pi(request: HttpRequest, group: ResearchGroup) -> None:
    require(
        selectors.is_principal_investigator(group, request.user),
        _("Only the group's principal investigator may do this."),
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def member_remove(request: HttpRequest, pk: int, user: int) -> HttpResponse:
    """GET: the PI confirms removing a member, told which of the group's live grants name them
    (removal takes them off those too); POST removes (remove_member)."""
    group = _group_or_404(request, pk)
    _require_pi(request, group)
    membership = page_selectors.removable_member(group, request.user, user)
    if membership is None:
        raise Http404(_("No other member of the group has this number."))
    member = membership.user
    live_grants = list(page_selectors.live_grants_naming(group, member))
    if request.method != "POST":
        return render(
            request,
            "access_requests/member_remove.html",
            {"group": group, "member": member, "live_grants": live_grants},
        )
    try:
        groups.remove_member(group=group, actor=request.user, user=member)
    except ValidationError as error:
        _say_errors(request, error)
        return redirect("access_requests:group-detail", group.pk)
    name = member.full_name or member.email
    messages.success(request, _("%(name)s is no longer a member of the group.") % {"name": name})
    if live_grants:
        messages.info(
            request,
            _("%(name)s is no longer an accessor of the group's grants: their access has stopped.")
            % {"name": name},
        )
    return redirect("access_requests:group-detail", group.pk)


@login_required
@require_POST
def group_transfer_pi(request: HttpRequest, pk: int) -> HttpResponse:
    """The PI hands the group over to another member (transfer_pi) and stays a member."""
    group = _group_or_404(request, pk)
    _require_pi(request, group)
    form = _transfer_form(request, group, request.POST)
    if form.is_valid():
        new_pi = form.cleaned_data["new_pi"]
        try:
            groups.transfer_pi(group=group, actor=request.user, new_pi=new_pi)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(name)s now leads the group; you remain a member.")
                % {"name": new_pi.full_name or new_pi.email},
            )
            return redirect("access_requests:group-detail", group.pk)
    return _detail_page(request, group, transfer_form=form, status=400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the group the link invites to, and a button; POST accepts (the service checks the
    address, the expiry and single use). Anonymous visitors sign in first and come back here."""
    if request.method == "POST":
        try:
            member = groups.accept_invitation(token=token, user=request.user)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            return redirect("access_requests:invitation-accept", token)
        messages.success(request, _("You joined the group %(name)s.") % {"name": member.group.name})
        return redirect("access_requests:group-detail", member.group_id)
    invitation: GroupInvitation | None = page_selectors.live_invitation(groups.token_hash(token))
    return render(
        request,
        "access_requests/invitation_accept.html",
        {"invitation": invitation, "token": token},
        status=200 if invitation is not None else 404,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def agreement_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """The agreement in force, in full, and a typed-name field; POST signs it for the group."""
    group = _group_or_404(request, pk)
    if not selectors.is_member(group, request.user):
        raise Http404(_("No research group of yours has this number."))
    status = _agreement_status(group, request.user)
    if status["agreement"] is None:
        raise Http404(_("No data use agreement is in force."))
    form = SignForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                agreements.sign_agreement(
                    agreement=status["agreement"],
                    group=group,
                    signer=request.user,
                    typed_name=form.cleaned_data["typed_name"],
                    ip_address=client_ip(request) or None,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("You signed version %(version)s of the data use agreement for %(group)s.")
                    % {"version": status["agreement"].version, "group": group.name},
                )
                return redirect("access_requests:group-detail", group.pk)
        return render(
            request,
            "access_requests/agreement_sign.html",
            {"group": group, "form": form, **status},
            status=400,
        )
    return render(
        request, "access_requests/agreement_sign.html", {"group": group, "form": form, **status}
    )
