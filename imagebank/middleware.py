from allauth.mfa.utils import is_mfa_enabled
from django.shortcuts import redirect
from django.urls import reverse

from imagebank.roles import requires_mfa

# Pages a curator without MFA may still reach: setting MFA up, signing out, static files.
_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/")


class RequireMFAForPrivilegedRolesMiddleware:
    """Curators and access-committee members must enrol a second factor before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and requires_mfa(user)
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and not is_mfa_enabled(user)
        ):
            if request.path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse(
                    {"detail": "Your role requires two-factor authentication; set it up first."},
                    status=403,
                )
            return redirect(reverse("mfa_activate_totp") + f"?next={request.path}")
        return self.get_response(request)
