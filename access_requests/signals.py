"""What access_requests does when something happens elsewhere: a new sign-up becomes a researcher.

Open sign-up (imagebank.adapters decides whether it is open) gives nothing but a researcher
account; the researcher then requests access to a release. The role is this app's, so the step
lives here, connected to allauth's `user_signed_up` in AccessRequestsConfig.ready(): the core
never imports access_requests.
"""

from access_requests.roles import RESEARCHER
from imagebank.services.sites import grant_role


def make_new_sign_up_a_researcher(sender, request, user, **kwargs) -> None:
    grant_role(user=user, role=RESEARCHER)
