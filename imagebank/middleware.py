"""Two-factor authentication wherever it is required, pages and admin alike.

Curators, access-committee members, superusers and staff (imagebank.services.tokens
.second_factor_required) must enrol a second factor before they reach anything but the account
pages; the admin is covered like every other page. The admin's own login form asks for a password
only, so it is never used: /admin/login/ sends the visitor to the site's sign-in (allauth), which
asks for the code of anyone who has set one up, and then back to the admin page they wanted.
API tokens follow the same rule in imagebank.authentication.
"""

from functools import cache
from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from imagebank.services.tokens import second_factor_required

# Pages a user without MFA may still reach: setting MFA up, signing out, static files, and the
# health probes (imagebank.views.health), which show nothing of the bank.
_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/health/", "/ready/")


@cache
def _admin_login_path() -> str | None:
    try:
        return reverse("admin:login")
    except NoReverseMatch:
        return None


def _safe_next(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def admin_login_redirect(request: HttpRequest):
    """What /admin/login/ answers instead of Django's password-only form, whatever the method:
    the site's sign-in, then the admin page asked for. A signed-in user who is not staff is
    refused (the sign-in page would send them straight back here)."""
    target = _safe_next(request)
    if request.user.is_authenticated:
        if not request.user.is_staff:
            raise PermissionDenied(_("Your account has no access to the administration site."))
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': target})}")


class RequireMFAForPrivilegedRolesMiddleware:
    """Users whose roles need a second factor must enrol one before anything else; the admin's
    password-only login is replaced by the site's sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == _admin_login_path():
            return admin_login_redirect(request)
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and second_factor_required(user)
            and not is_mfa_enabled(user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Your role requires two-factor authentication; set it up first.")},
                    status=403,
                )
            return redirect(reverse("mfa_activate_totp") + "?" + urlencode({"next": request.path}))
        return self.get_response(request)
