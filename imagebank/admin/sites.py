"""Admin of sites, memberships, subjects and their object permissions."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdmin

from imagebank import submission
from imagebank.models import (
    Site,
    SiteGroupObjectPermission,
    SiteMembership,
    SiteUserObjectPermission,
    Subject,
)
from imagebank.services import sites as site_services

from .common import ReadOnlyAdminMixin

# --- sites, memberships, subjects ------------------------------------------------------------


class MembershipOfSiteInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SiteMembership
    fk_name = "site"
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0
    verbose_name = _("member")
    verbose_name_plural = _("members (add them from the site membership page)")


class SiteAdminForm(forms.ModelForm):
    """The site, with what its cases need before they are submitted as boxes to tick."""

    submission_requirements = forms.MultipleChoiceField(
        label=_("Required to submit a case"),
        choices=submission.requirement_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=list(submission.DEFAULT_REQUIREMENTS),
        help_text=_(
            "What a case of this site must have before its contributors can submit it for "
            "review. The default: adequacy, the transformation zone type or the VIA result, and "
            "images before and after acetic acid and after Lugol's iodine. A VIA site without "
            "Lugol's iodine ticks “Images before and after acetic acid” instead of the three "
            "steps. Tick none to require nothing."
        ),
    )

    class Meta:
        model = Site
        fields = (
            "slug",
            "name",
            "country",
            "clinical_setting",
            "devices",
            "submission_requirements",
            "data_sharing_agreement",
            "data_sharing_agreement_until",
        )

    def clean_submission_requirements(self) -> list[str]:
        try:
            return submission.validate_requirements(
                list(self.cleaned_data.get("submission_requirements") or [])
            )
        except ValidationError as error:
            raise ValidationError(error.message_dict["submission_requirements"]) from error


@admin.register(Site)
class SiteAdmin(GuardedModelAdmin):
    list_display = (
        "name",
        "slug",
        "country",
        "clinical_setting",
        "member_count",
        "case_count",
        "data_sharing_agreement",
        "data_sharing_agreement_until",
        "contributors_group",
        "created_at",
    )
    list_filter = ("country", "clinical_setting")
    search_fields = ("name", "slug")
    list_select_related = ("contributors_group",)
    date_hierarchy = "created_at"
    form = SiteAdminForm
    fields = (
        "slug",
        "name",
        "country",
        "clinical_setting",
        "devices",
        "submission_requirements",
        "data_sharing_agreement",
        "data_sharing_agreement_until",
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
            submission_requirements=obj.submission_requirements,
            data_sharing_agreement=obj.data_sharing_agreement,
            data_sharing_agreement_until=obj.data_sharing_agreement_until,
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

    # The pseudonym is never shown: the subject is known here, as everywhere, by its code.
    list_display = ("display_code", "site", "case_count", "created_at")
    list_filter = ("site",)
    search_fields = ("=display_code",)
    list_select_related = ("site",)
    fields = ("site", "display_code", "created_at")
    readonly_fields = fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(case_count=Count("cases"))

    @admin.display(description=_("cases"), ordering="case_count")
    def case_count(self, subject: Subject) -> int:
        return subject.case_count


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
