"""The signed-in user's API tokens: list them, create one (its key shown once), revoke one.

Permission: the signed-in user manages their own tokens only (another user's token is a 404).
A user who must give a second factor, or who has one set up, creates tokens only from a session
that passed it (at sign-in, or asked again here: allauth's reauthentication with the code).
"""

from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from imagebank.authentication import session_passed_second_factor
from imagebank.forms import apply_service_errors
from imagebank.services import tokens as token_services


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=token_services.NAME_MAX_LENGTH,
        help_text=gettext_lazy("What the token is for, e.g. the computer or script that uses it."),
    )
    expires_in_days = forms.IntegerField(
        label=gettext_lazy("Expires in (days)"),
        min_value=1,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The limits are settings, read when the form is made (tests and deployments change them).
        maximum, default = settings.API_TOKEN_MAX_DAYS, token_services.default_days()
        field = self.fields["expires_in_days"]
        field.max_value = maximum
        field.validators.append(MaxValueValidator(maximum))
        field.widget.attrs.update(max=maximum, placeholder=default)
        field.help_text = _("At most %(max)d days; %(default)d if left empty.") % {
            "max": maximum,
            "default": default,
        }


def _second_factor_needed(request: HttpRequest) -> bool:
    user = request.user
    return token_services.second_factor_required(user) or is_mfa_enabled(user)


def _page(request: HttpRequest, form: TokenForm, issued=None, status: int = 200) -> HttpResponse:
    may_create = not _second_factor_needed(request) or session_passed_second_factor(request)
    here = reverse("imagebank:token-list")
    context = {
        "form": form,
        "tokens": token_services.tokens_of(request.user),
        "issued": issued,
        "may_create": may_create,
        "reauthenticate_url": reverse("mfa_reauthenticate") + "?" + urlencode({"next": here}),
        "max_active": settings.API_TOKEN_MAX_ACTIVE,
    }
    response = render(request, "imagebank/tokens.html", context, status=status)
    # The page may carry a key shown once: no cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, TokenForm())
    if _second_factor_needed(request) and not session_passed_second_factor(request):
        raise PermissionDenied(_("Give your second factor again before creating a token."))
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        issued = token_services.issue_token(
            owner=request.user,
            name=form.cleaned_data["name"],
            expires_in_days=form.cleaned_data["expires_in_days"],
            second_factor=session_passed_second_factor(request),
            request=request,
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        return _page(request, form, status=400)
    # Answered here, not after a redirect: the key is never stored, not even in the session.
    return _page(request, TokenForm(), issued=issued)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(token_services.tokens_of(request.user), pk=pk)
    if token_services.revoke_token(token=token, actor=request.user, request=request):
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("imagebank:token-list")
