from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Declares the app's bank-wide roles while app configs load, before any ready() or admin.
from access_requests import roles  # noqa: F401


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = _("Access requests")

    def ready(self) -> None:
        from allauth.account.signals import user_signed_up

        from access_requests import signals

        user_signed_up.connect(
            signals.make_new_sign_up_a_researcher, dispatch_uid="access_requests.new_researcher"
        )
        from curation.hooks import register_grant_holders, release_published

        release_published.connect(
            signals.extend_grants_to_a_new_version, dispatch_uid="access_requests.later_versions"
        )
        register_grant_holders(signals.grant_holders)
