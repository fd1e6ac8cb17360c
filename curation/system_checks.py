"""Django system checks of curation's settings, so a deployment with a bad review setting stops
at start-up (`manage.py check`, and every command) instead of on the first hand-out."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def review_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from curation.services import reviews

    errors = []
    for read, code in (
        (reviews.claim_minutes, "curation.E001"),
        (reviews.reviews_required, "curation.E002"),
        (reviews.agreement_rules, "curation.E003"),
    ):
        try:
            read()
        except ImproperlyConfigured as error:
            errors.append(checks.Error(str(error), id=code))
    return errors
