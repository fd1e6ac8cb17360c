"""The data use agreement's versions: every version published (its number, title, when it came
into force, the SHA-256 of its text), the text in force, and for curators and the access
committee a form to publish a new version (publish_agreement).

Permission: the list is for those who sign the agreement (researchers, members of groups) and
those who publish it (page_selectors.reads_agreements; 403 for anyone else); how many signatures
each version has is shown to the committee and curators only (page_selectors.agreement_versions);
publishing for the committee and curators (403 otherwise; the service checks again). A version
published answers with a redirect and a message; a form refused gets the page back with its
errors (400).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from access_requests import page_selectors
from access_requests.forms import AgreementForm, apply_service_errors
from access_requests.models import DataUseAgreement
from access_requests.services import agreements
from imagebank.permissions import require


def _list_page(request: HttpRequest, form: AgreementForm | None, status: int = 200) -> HttpResponse:
    try:
        current = agreements.current_agreement()
    except DataUseAgreement.DoesNotExist:
        current = None
    return render(
        request,
        "access_requests/agreement_list.html",
        {
            "versions": page_selectors.agreement_versions(request.user),
            "current": current,
            "shows_signatures": page_selectors.sees_committee_pages(request.user),
            "form": form,
        },
        status=status,
    )


@login_required
@require_safe
def agreement_list(request: HttpRequest) -> HttpResponse:
    require(
        page_selectors.reads_agreements(request.user),
        _("These pages are for researchers, the access committee and curators."),
    )
    publishes = page_selectors.publishes_agreements(request.user)
    return _list_page(request, AgreementForm() if publishes else None)


@login_required
@require_POST
def agreement_publish(request: HttpRequest) -> HttpResponse:
    """A new version, in force at once: every group signs it again before its next download."""
    require(
        page_selectors.publishes_agreements(request.user),
        _("Only curators and access committee members publish the data use agreement."),
    )
    form = AgreementForm(request.POST)
    if form.is_valid():
        try:
            published = agreements.publish_agreement(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Version %(version)s is in force: every member signs it again, for each of "
                    "their groups, before their next download."
                )
                % {"version": published.version},
            )
            return redirect("access_requests:agreement-list")
    return _list_page(request, form, status=400)
