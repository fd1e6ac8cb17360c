from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Declares the app's bank-wide roles while app configs load, before any ready() or admin.
from access_requests import roles  # noqa: F401


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = _("Access requests")
