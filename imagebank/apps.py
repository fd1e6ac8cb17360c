from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImagebankConfig(AppConfig):
    name = "imagebank"
    verbose_name = _("Image bank")
