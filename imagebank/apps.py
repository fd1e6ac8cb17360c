from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImagebankConfig(AppConfig):
    name = "imagebank"
    verbose_name = _("Image bank")

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_removed
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_init, post_save

        from imagebank import reconcilers
        from imagebank.services import tokens

        # The core's kinds of background work, watched by the reconciler (imagebank.reconcile).
        reconcilers.register()

        # API tokens die with the password they were issued under and with the account
        # (imagebank.services.tokens); dispatch_uid keeps them connected once.
        user_model = get_user_model()
        post_init.connect(
            tokens.remember_credentials, sender=user_model, dispatch_uid="api-tokens-remember"
        )
        post_save.connect(
            tokens.revoke_on_credential_change, sender=user_model, dispatch_uid="api-tokens-revoke"
        )
        authenticator_removed.connect(
            tokens.revoke_on_second_factor_removed, dispatch_uid="api-tokens-second-factor"
        )
