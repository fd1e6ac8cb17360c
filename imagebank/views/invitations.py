"""The invitation page: a curator gives out an account (a role, sites to contribute to, or both).

The account is made by imagebank.services.accounts.invite_user, which checks the permission
again and mails the person a link to set a password.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from imagebank.forms import apply_service_errors
from imagebank.models import Site
from imagebank.permissions import require
from imagebank.roles import registered_roles
from imagebank.services import accounts as account_services


class InvitationForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address"), max_length=254)
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200, required=False)
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        required=False,
        help_text=gettext_lazy("Leave empty for a contributor who only contributes to sites."),
    )
    sites = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Contributes to"),
        queryset=Site.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the invitation"), choices=settings.LANGUAGES
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            ("", gettext_lazy("No bank-wide role")),
            *((role.value, role.label) for role in registered_roles()),
        ]
        self.fields["sites"].queryset = Site.objects.order_by("name")
        self.fields["language"].initial = translation.get_language()


@login_required
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    require(
        account_services.can_invite(request.user), _("Only curators invite people to the bank.")
    )
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = account_services.invite_user(
                actor=request.user,
                email=data["email"],
                role=data["role"],
                sites=data["sites"],
                full_name=data["full_name"],
                language=data["language"],
                request=request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(email)s is invited: a link to choose a password is on its way.")
                % {"email": user.email},
            )
            return redirect("imagebank:invite")
    return render(request, "imagebank/invite.html", {"form": form})
