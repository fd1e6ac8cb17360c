"""The admin of curation: read-only where the services own the writes."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _

from curation.checks import defaults
from curation.models import CheckResult, CheckThreshold


@admin.register(CheckResult)
class CheckResultAdmin(admin.ModelAdmin):
    """The checks' results, read-only: the runner (curation.services.checks) writes them."""

    list_display = ("check_name", "version", "verdict", "case", "image", "value", "checked_at")
    list_filter = ("verdict", "check_name", "version")
    search_fields = ("=case__id", "=image__id", "check_name")
    list_select_related = ("case", "image")
    date_hierarchy = "checked_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CheckThresholdForm(forms.ModelForm):
    class Meta:
        model = CheckThreshold
        fields = ("check_name", "parameter", "site", "capture_device", "value")

    def clean(self) -> dict:
        cleaned = super().clean()
        check_name, parameter = cleaned.get("check_name"), cleaned.get("parameter")
        if check_name and parameter and parameter not in defaults.DEFAULTS.get(check_name, {}):
            raise forms.ValidationError(_("This check has no such threshold."))
        return cleaned


@admin.register(CheckThreshold)
class CheckThresholdAdmin(admin.ModelAdmin):
    """Curators' overrides of the default thresholds (also on the "Check thresholds" page)."""

    form = CheckThresholdForm
    list_display = ("check_name", "parameter", "site", "capture_device", "value", "updated_by")
    list_filter = ("check_name", "site")
    search_fields = ("check_name", "parameter", "capture_device")
    list_select_related = ("site", "updated_by")
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request, obj, form, change) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
