from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModelBenchConfig(AppConfig):
    name = "model_bench"
    verbose_name = _("Model benchmarks")
