from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Declares the app's bank-wide roles while app configs load, before any ready() or admin.
from curation import roles  # noqa: F401


class CurationConfig(AppConfig):
    name = "curation"
    verbose_name = _("Curation")
