"""The admin of curation: read-only where the services own the writes."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation.checks import defaults
from curation.models import (
    Adjudication,
    CheckResult,
    CheckThreshold,
    EligibilityItem,
    ImageExclusion,
    ImageFlag,
    LabelDefinition,
    Notice,
    Outline,
    QueueEntry,
    ReleaseVersion,
    Review,
)
from curation.permissions import can_see_curation_reports
from curation.services import eligibility_items


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


# --- the expert review ---------------------------------------------------------------------------


class CuratorReadOnlyAdmin(admin.ModelAdmin):
    """The review's records, listed for curators and superusers and never changed here: the
    review services (curation.services.reviews) write them and the case history records them."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_module_permission(self, request) -> bool:
        return can_see_curation_reports(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_see_curation_reports(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QueueEntry)
class QueueEntryAdmin(CuratorReadOnlyAdmin):
    list_display = (
        "case",
        "round",
        "status",
        "urgent",
        "reviews_done",
        "reviews_required",
        "entered_at",
        "outcome",
        "decided_at",
    )
    list_filter = ("status", "urgent", "outcome")
    search_fields = ("=case__id",)
    list_select_related = ("case",)
    date_hierarchy = "entered_at"


@admin.register(Review)
class ReviewAdmin(CuratorReadOnlyAdmin):
    list_display = (
        "pk",
        "case",
        "entry",
        "reviewer",
        "status",
        "decision",
        "claimed_at",
        "submitted_at",
    )
    list_filter = ("status", "decision")
    search_fields = ("=case__id", "reviewer__email")
    list_select_related = ("case", "entry", "reviewer")
    date_hierarchy = "claimed_at"


@admin.register(ImageFlag)
class ImageFlagAdmin(CuratorReadOnlyAdmin):
    list_display = ("image", "reason", "correct_step", "review", "created_at")
    list_filter = ("reason",)
    search_fields = ("=image__id", "=review__case__id")
    list_select_related = ("image", "review")


@admin.register(Outline)
class OutlineAdmin(CuratorReadOnlyAdmin):
    list_display = ("image", "kind", "point_count", "review", "created_at")
    list_filter = ("kind",)
    search_fields = ("=image__id", "=review__case__id")
    list_select_related = ("image", "review")

    @admin.display(description=gettext_lazy("points"))
    def point_count(self, outline: Outline) -> int:
        return len(outline.points) if isinstance(outline.points, list) else 0


@admin.register(Adjudication)
class AdjudicationAdmin(CuratorReadOnlyAdmin):
    list_display = ("entry", "curator", "decision", "decided_at")
    list_filter = ("decision",)
    search_fields = ("=entry__case__id", "curator__email")
    list_select_related = ("entry", "curator")


@admin.register(ImageExclusion)
class ImageExclusionAdmin(CuratorReadOnlyAdmin):
    list_display = ("image", "entry", "created_at")
    search_fields = ("=image__id", "=entry__case__id")
    list_select_related = ("image", "entry")


@admin.register(Notice)
class NoticeAdmin(CuratorReadOnlyAdmin):
    list_display = ("user", "case", "kind", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "=case__id")
    list_select_related = ("user", "case")


class EligibilityItemAdminForm(forms.ModelForm):
    """The checklist's rules, as on the curators' page: the code a lower-case slug no other item
    has (and fixed once reviews answered it: the field is then read-only)."""

    class Meta:
        model = EligibilityItem
        fields = ("code", "label", "help_text", "required", "prefill", "active", "position")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if self.instance.pk is not None and code == self.instance.code:
            return code
        try:
            return eligibility_items.clean_code(code, item=self.instance)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["code"]) from error


@admin.register(EligibilityItem)
class EligibilityItemAdmin(admin.ModelAdmin):
    """The eligibility checklist (also on the curators' "Eligibility checklist" page). An item
    that reviews answered keeps its code and is taken out of the checklist (active) rather than
    deleted."""

    form = EligibilityItemAdminForm
    list_display = ("position", "code", "label", "required", "prefill", "active")
    list_display_links = ("code",)
    list_filter = ("active", "required", "prefill")
    search_fields = ("code", "label")
    ordering = ("position", "code")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and eligibility_items.code_in_use(obj.code):
            return ("code",)
        return ()

    def _curator(self, request) -> bool:
        return eligibility_items.can_configure_eligibility(request.user)

    def has_module_permission(self, request) -> bool:
        return self._curator(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._curator(request)

    def has_add_permission(self, request) -> bool:
        return self._curator(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._curator(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and eligibility_items.code_in_use(obj.code):
            return False
        return self._curator(request)

    def delete_queryset(self, request, queryset) -> None:
        # The bulk action too: an item that reviews answered is never deleted.
        used = [item.code for item in queryset if eligibility_items.code_in_use(item.code)]
        if used:
            raise PermissionDenied(
                _("Reviews answered %(codes)s: take them out of the checklist instead.")
                % {"codes": ", ".join(used)}
            )
        super().delete_queryset(request, queryset)


@admin.register(LabelDefinition)
class LabelDefinitionAdmin(admin.ModelAdmin):
    """The labels a release can carry: curators name, describe and order them and pick the rule
    (curation.releases.labels) that computes each; a version keeps the names it was built with."""

    list_display = ("name", "title", "rule", "active", "position")
    list_editable = ("active", "position")
    list_filter = ("rule", "active")
    search_fields = ("name", "title")


@admin.register(ReleaseVersion)
class ReleaseVersionAdmin(admin.ModelAdmin):
    """Release versions, read-only: the services (curation.services.releases) and the pages
    define, build and publish them, and a published one cannot change at all."""

    list_display = ("release", "version", "state", "image_count", "built_at", "published_at")
    list_filter = ("state",)
    search_fields = ("release__slug", "version")
    list_select_related = ("release",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
