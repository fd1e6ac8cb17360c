"""The Django admin of the bank's core models.

The admin is a window on the data, not a side door: every change of state still goes through the
services (sites are created with their contributors group, memberships keep that group in step,
metadata edits are audited, images are removed through the service), and the lifecycle fields,
file keys, hashes and the audit trail are read-only here.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdmin

from imagebank import vocabularies as vocab
from imagebank.models import (
    Case,
    CaseEvent,
    Image,
    ProcessingStatus,
    Site,
    SiteGroupObjectPermission,
    SiteMembership,
    SiteUserObjectPermission,
    Subject,
    User,
)
from imagebank.roles import Role
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services import sites as site_services

# Kept in the audit trail as data, so not translated.
ADMIN_EDIT_REASON = "Edited in the administration site."


class ReadOnlyAdminMixin:
    """View-only: rows are written by services or background tasks, never by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _admin_link(obj, label: str | None = None) -> str:
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


def _thumbnail(image: Image) -> str:
    """The thumbnail through the permission-checked file view; files have no public URL."""
    if image.processing_status != ProcessingStatus.DONE or not image.thumbnail:
        return "-"
    try:
        src = reverse("files:image-file", args=[image.pk, "thumbnail"])
    except NoReverseMatch:
        return "-"
    return format_html('<img src="{}" alt="" style="max-height: 96px">', src)


def _refusal_message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or gettext("You do not have permission to do this.")


# --- users -----------------------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "full_name")
        field_classes: dict = {}


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes: dict = {}


class MembershipOfUserInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SiteMembership
    fk_name = "user"
    fields = ("site", "role", "created_at")
    readonly_fields = fields
    extra = 0
    verbose_name = _("site membership")
    verbose_name_plural = _("site memberships (add them from the site membership page)")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the email address as the login."""

    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "first_name", "last_name")}),
        (
            _("Permissions"),
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": _(
                    "Bank-wide roles are the groups %(roles)s. Site contributors get their "
                    "site's group through a site membership, not here."
                )
                % {"roles": ", ".join(Role.values)},
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipOfUserInline,)
    list_display = ("email", "full_name", "roles", "is_active", "is_staff", "is_superuser")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "full_name", "first_name", "last_name")
    ordering = ("email",)
    date_hierarchy = "date_joined"

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, user: User) -> str:
        labels = {role.value: str(role.label) for role in Role}
        return ", ".join(labels[g.name] for g in user.groups.all() if g.name in labels) or "-"


# --- sites, memberships, subjects ------------------------------------------------------------


class MembershipOfSiteInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SiteMembership
    fk_name = "site"
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0
    verbose_name = _("member")
    verbose_name_plural = _("members (add them from the site membership page)")


@admin.register(Site)
class SiteAdmin(GuardedModelAdmin):
    list_display = (
        "name",
        "slug",
        "country",
        "clinical_setting",
        "member_count",
        "case_count",
        "contributors_group",
        "created_at",
    )
    list_filter = ("country", "clinical_setting")
    search_fields = ("name", "slug")
    list_select_related = ("contributors_group",)
    date_hierarchy = "created_at"
    fields = (
        "slug",
        "name",
        "country",
        "clinical_setting",
        "devices",
        "contributors_group",
        "created_at",
    )
    inlines = (MembershipOfSiteInline,)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_readonly_fields(self, request, obj=None):
        # The slug names the contributors group and scopes pseudonyms: it cannot change later.
        if obj is None:
            return ("contributors_group", "created_at")
        return ("slug", "contributors_group", "created_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("memberships", distinct=True),
                case_count=Count("cases", distinct=True),
            )
        )

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, site: Site) -> int:
        return site.member_count

    @admin.display(description=_("cases"), ordering="case_count")
    def case_count(self, site: Site) -> int:
        return site.case_count

    def save_model(self, request, obj: Site, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new site needs its contributors group and that group's object permissions.
        created = site_services.create_site(
            slug=obj.slug,
            name=obj.name,
            country=obj.country,
            clinical_setting=obj.clinical_setting,
            devices=obj.devices,
        )
        obj.pk = created.pk
        obj.contributors_group = created.contributors_group
        obj.created_at = created.created_at
        obj._state.adding = False
        obj._state.db = created._state.db


@admin.register(SiteMembership)
class SiteMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "site", "role", "created_at")
    list_filter = ("role", "site")
    search_fields = ("user__email", "user__full_name", "site__name", "site__slug")
    list_select_related = ("user", "site")
    autocomplete_fields = ("user", "site")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        # Moving a membership to another user or site would leave the old group membership behind.
        return ("created_at",) if obj is None else ("user", "site", "created_at")

    def save_model(self, request, obj: SiteMembership, form, change: bool) -> None:
        membership = site_services.add_site_member(site=obj.site, user=obj.user, role=obj.role)
        obj.pk = membership.pk
        obj.created_at = membership.created_at
        obj._state.adding = False
        obj._state.db = membership._state.db

    def delete_model(self, request, obj: SiteMembership) -> None:
        site_services.remove_site_member(site=obj.site, user=obj.user)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for membership in queryset.select_related("site", "user"):
                site_services.remove_site_member(site=membership.site, user=membership.user)


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    """Subjects are created with their first case, from a local patient ID that is not kept."""

    list_display = ("short_pseudonym", "site", "case_count", "created_at")
    list_filter = ("site",)
    search_fields = ("=pseudonym",)
    list_select_related = ("site",)
    fields = ("site", "pseudonym", "created_at")
    readonly_fields = fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(case_count=Count("cases"))

    @admin.display(description=_("pseudonym"), ordering="pseudonym")
    def short_pseudonym(self, subject: Subject) -> str:
        return f"{subject.pseudonym[:16]}…"

    @admin.display(description=_("cases"), ordering="case_count")
    def case_count(self, subject: Subject) -> int:
        return subject.case_count


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
        return _admin_link(image, gettext("Image %(number)s") % {"number": image.pk})

    @admin.display(description=_("thumbnail"))
    def thumbnail_preview(self, image: Image) -> str:
        return _thumbnail(image)


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
    search_fields = ("=id", "site__name", "site__slug", "=subject__pseudonym", "created_by__email")
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
    fieldsets = (
        (None, {"fields": readonly_fields}),
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
                % {"reason": _refusal_message(error)},
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
    readonly_fields = (
        "case",
        "thumbnail_preview",
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
    actions = ("queue_processing",)

    @admin.display(description=_("case"), ordering="case")
    def case_link(self, image: Image) -> str:
        return _admin_link(image.case)

    @admin.display(description=_("thumbnail"))
    def thumbnail_preview(self, image: Image) -> str:
        return _thumbnail(image)

    @admin.display(description=_("size (pixels)"))
    def dimensions(self, image: Image) -> str:
        return f"{image.width} × {image.height}" if image.width else "-"

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
        from imagebank.tasks import process_image

        pending = list(
            queryset.exclude(processing_status=ProcessingStatus.DONE).values_list("pk", flat=True)
        )
        for pk in pending:
            transaction.on_commit(lambda pk=pk: process_image.delay(pk))
        self.message_user(
            request, gettext("%(count)d images queued for processing.") % {"count": len(pending)}
        )


# --- guardian's object permission tables -----------------------------------------------------


@admin.register(SiteGroupObjectPermission)
class SiteGroupObjectPermissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Granted by the services (one contributors group per site); read-only here."""

    list_display = ("content_object", "group", "permission")
    list_filter = ("permission", "content_object")
    search_fields = ("group__name", "content_object__name", "content_object__slug")
    list_select_related = ("content_object", "group", "permission__content_type")


@admin.register(SiteUserObjectPermission)
class SiteUserObjectPermissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Per-user grants on a site; the bank grants to groups, so this table is normally empty."""

    list_display = ("content_object", "user", "permission")
    list_filter = ("permission", "content_object")
    search_fields = ("user__email", "content_object__name", "content_object__slug")
    list_select_related = ("content_object", "user", "permission__content_type")
