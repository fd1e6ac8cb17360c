"""Admin of cases, their images and their audit trail."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from imagebank import vocabularies as vocab
from imagebank.models import (
    Case,
    CaseEvent,
    Image,
    ProcessingStatus,
)
from imagebank.models.cases import ACETOWHITE_FEATURES
from imagebank.permissions import can_see_file_names
from imagebank.roles import CURATOR, has_role
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.tasks import process_image

from .common import (
    ADMIN_EDIT_REASON,
    ReadOnlyAdminMixin,
    admin_link,
    refusal_message,
    thumbnail_html,
)

# --- cases, their images and audit trail -----------------------------------------------------


class ImageOfCaseInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Image
    fields = (
        "link",
        "thumbnail_preview",
        "display_order",
        "step",
        "source_format",
        "processing_status",
        "width",
        "height",
        "byte_size",
        "sha256",
    )
    readonly_fields = fields
    extra = 0
    ordering = ("display_order",)

    @admin.display(description=_("image"))
    def link(self, image: Image) -> str:
        return admin_link(image, gettext("Image %(number)s") % {"number": image.pk})

    @admin.display(description=_("thumbnail"))
    def thumbnail_preview(self, image: Image) -> str:
        return thumbnail_html(image)


class EventOfCaseInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseEvent
    fields = ("at", "kind", "from_state", "to_state", "actor", "reason", "changes")
    readonly_fields = fields
    extra = 0
    verbose_name = _("event")
    verbose_name_plural = _("audit trail")


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Cases are created through the portal or the API; here they can be read, and edited only
    while in the contributor's hands, each edit going through the audited service."""

    list_display = (
        "__str__",
        "site",
        "state",
        "age_at_exam",
        "exam_year",
        "provisional_diagnosis",
        "swede_total",
        "image_count",
        "created_by",
        "submitted_at",
        "created_at",
    )
    list_filter = (
        "state",
        "site",
        "site__country",
        "provisional_diagnosis",
        "transformation_zone",
        "via_result",
        "adequacy",
        "histopathology",
    )
    search_fields = (
        "=id",
        "site__name",
        "site__slug",
        "=subject__display_code",
        "created_by__email",
    )
    list_select_related = ("site", "subject__site", "created_by")
    date_hierarchy = "created_at"
    readonly_fields = (
        "site",
        "subject",
        "state",
        "created_by",
        "created_at",
        "updated_at",
        "submitted_at",
    )
    # Recorded by imagebank.services.consent (the contributor attests, an import is covered by
    # the site's agreement): read here, never edited.
    consent_fields = ("consent_basis", "consent_attested_by", "consent_attested_at")
    fieldsets = (
        (None, {"fields": readonly_fields}),
        (_("Research consent"), {"fields": consent_fields}),
        (
            _("The visit"),
            {"fields": ("age_at_exam", "exam_year", "screening_context", "hpv_result", "cytology")},
        ),
        (
            _("General assessment (IFCPC 2011)"),
            {
                "fields": (
                    "adequacy",
                    "inadequacy_reason",
                    "scj_visibility",
                    "scj_location",
                    "transformation_zone",
                )
            },
        ),
        (_("Findings (IFCPC 2011)"), {"fields": tuple(vocab.FINDING_LISTS)}),
        (
            _("Lesion"),
            {
                "fields": (
                    "lesion_location",
                    "lesion_clock_positions",
                    "lesion_quadrants",
                    "lesion_extent",
                )
            },
        ),
        (
            _("Swede score"),
            {"fields": (*vocab.SWEDE_COMPONENTS, "swede_total", "swede_not_assessable")},
        ),
        (
            _("VIA: the acetowhite area"),
            {
                "fields": (
                    "acetowhite_area",
                    *ACETOWHITE_FEATURES,
                )
            },
        ),
        (
            _("Outcome"),
            {
                "fields": (
                    "via_result",
                    "ablation_eligibility",
                    "provisional_diagnosis",
                    "provisional_diagnosis_text",
                    "management",
                    "management_text",
                    "histopathology",
                    "notes",
                )
            },
        ),
    )
    readonly_fields = (*readonly_fields, *consent_fields)
    inlines = (ImageOfCaseInline, EventOfCaseInline)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(image_count=Count("images"))

    @admin.display(description=_("images"), ordering="image_count")
    def image_count(self, case: Case) -> int:
        return case.image_count

    def has_add_permission(self, request) -> bool:
        # A case needs the site's local patient ID to make its pseudonym: the portal asks for it.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a case would take its audit trail with it.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj: Case, form, change: bool) -> None:
        values = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in case_services.CLINICAL_FIELDS
        }
        if not values:
            return
        try:
            case_services.update_case(
                case=obj, actor=request.user, values=values, reason=ADMIN_EDIT_REASON
            )
        except (ValidationError, PermissionDenied) as error:
            request._case_edit_refused = True
            self.message_user(
                request,
                gettext("The case was not changed: %(reason)s")
                % {"reason": refusal_message(error)},
                messages.ERROR,
            )

    def log_change(self, request, obj, message):
        if getattr(request, "_case_edit_refused", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "_case_edit_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail: append-only, so the admin only reads it."""

    list_display = ("at", "case", "kind", "from_state", "to_state", "actor", "short_reason")
    list_filter = ("kind", "to_state", "case__site")
    search_fields = ("=case__id", "actor__email", "reason")
    list_select_related = ("case", "actor")
    date_hierarchy = "at"
    fields = ("case", "at", "actor", "kind", "from_state", "to_state", "reason", "changes")
    readonly_fields = fields

    @admin.display(description=_("reason"))
    def short_reason(self, event: CaseEvent) -> str:
        return event.reason if len(event.reason) <= 80 else f"{event.reason[:79]}…"


# Only what a person describes is editable; content, hashes and processing are facts. So is the
# file name: what the bank keeps of it follows a policy (imagebank.filenames) an edit would skip.
IMAGE_EDITABLE_FIELDS = frozenset(
    {"step", "step_original_wording", "display_order", "capture_device"}
)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    """Images arrive through the upload service; here their labels can be corrected while the case
    is in the contributor's hands, and removal goes through the service (which audits it)."""

    list_display = (
        "__str__",
        "case_link",
        "step",
        "display_order",
        "source_format",
        "processing_status",
        "dimensions",
        "byte_size",
        "uploaded_by",
        "created_at",
    )
    list_filter = ("processing_status", "step", "source_format", "case__site", "case__state")
    search_fields = ("=case__id", "=sha256", "original_filename", "capture_device")
    list_select_related = ("case", "uploaded_by")
    date_hierarchy = "created_at"
    fields = (
        "case",
        "thumbnail_preview",
        "step",
        "step_original_wording",
        "display_order",
        "original_filename",
        "capture_device",
        "source_format",
        "content_type",
        "byte_size",
        "file",
        "sha256",
        "original_sha256",
        "processing_status",
        "processing_error",
        "width",
        "height",
        "preview",
        "thumbnail",
        "uploaded_by",
        "created_at",
    )
    readonly_fields = tuple(name for name in fields if name not in IMAGE_EDITABLE_FIELDS)
    actions = ("queue_processing",)

    @admin.display(description=_("case"), ordering="case")
    def case_link(self, image: Image) -> str:
        return admin_link(image.case)

    @admin.display(description=_("thumbnail"))
    def thumbnail_preview(self, image: Image) -> str:
        return thumbnail_html(image)

    @admin.display(description=_("size (pixels)"))
    def dimensions(self, image: Image) -> str:
        return f"{image.width} × {image.height}" if image.width else "-"

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and can_see_file_names(request.user, obj.case):
            return fields
        return [name for name in fields if name != "original_filename"]

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if request.user.is_superuser or has_role(request.user, CURATOR):
            return fields
        return tuple(name for name in fields if name != "original_filename")

    def has_add_permission(self, request) -> bool:
        # Uploads are validated, de-identified and stored under their hash by the service.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not obj.case.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and not obj.case.is_editable:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj: Image) -> None:
        image_services.remove_image(image=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        # remove_image refuses images of cases that left the contributor; all or nothing.
        with transaction.atomic():
            for image in queryset:
                image_services.remove_image(image=image, actor=request.user)

    @admin.action(description=_("Queue processing again for images not yet ready"))
    def queue_processing(self, request, queryset) -> None:
        pending = list(
            queryset.exclude(processing_status=ProcessingStatus.DONE).values_list("pk", flat=True)
        )
        for pk in pending:
            transaction.on_commit(lambda pk=pk: process_image.delay(pk))
        self.message_user(
            request,
            ngettext(
                "%(count)d image queued for processing.",
                "%(count)d images queued for processing.",
                len(pending),
            )
            % {"count": len(pending)},
        )
