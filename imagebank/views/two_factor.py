"""Two-factor set-up that continues to where the user was going.

imagebank.middleware sends a curator, committee member or superuser without a second factor to
allauth's set-up page with `next` (the page they asked for). allauth's view then ignores `next`
and shows the recovery codes page, so a curator who had just signed in ended on that page instead
of the dashboard. This view is allauth's, with one change: once the authenticator app is active,
it continues to `next` when one was given (checked by allauth as safe), and says where the
recovery codes are. Without `next` (set-up started from the account pages) it behaves as
allauth's. The root URL conf mounts it at allauth's own address, ahead of allauth's URLs.
"""

from allauth.account.utils import get_next_redirect_url
from allauth.mfa.totp.views import ActivateTOTPView
from django.contrib import messages
from django.utils.translation import gettext as _


class ActivateTOTPThenContinueView(ActivateTOTPView):
    def get_context_data(self, **kwargs) -> dict:
        # The form posts `next` on (templates/mfa/totp/activate_form.html), a safe one only.
        return {
            **super().get_context_data(**kwargs),
            "next_url": get_next_redirect_url(self.request),
        }

    def get_success_url(self) -> str:
        target = get_next_redirect_url(self.request)
        if not target:
            return super().get_success_url()
        if self.did_generate_recovery_codes:
            messages.info(
                self.request,
                _(
                    "Recovery codes were made for you: keep them somewhere safe, in case you lose "
                    "your phone. Find them under Account, Two-factor authentication."
                ),
            )
        return target


activate_totp = ActivateTOTPThenContinueView.as_view()
