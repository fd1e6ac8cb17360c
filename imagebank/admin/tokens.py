"""API tokens and their audit, read-only: tokens are issued and revoked by their owners (the
account's token page or the API) and by the bank itself, never edited here. No secret is shown:
none is stored."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from imagebank.models import ApiToken, ApiTokenEvent

from .common import ReadOnlyAdminMixin


class ApiTokenEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApiTokenEvent
    fields = ("at", "kind", "actor", "address", "detail")
    readonly_fields = fields
    extra = 0


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "owner",
        "second_factor",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("second_factor", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "key_id", "owner__email")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    fields = (
        "owner",
        "name",
        "prefix",
        "second_factor",
        "created_at",
        "created_from",
        "expires_at",
        "last_used_at",
        "last_used_from",
        "revoked_at",
        "revoked_by",
        "revoked_reason",
    )
    readonly_fields = fields
    inlines = (ApiTokenEventInline,)

    @admin.display(description=_("key prefix"))
    def prefix(self, token: ApiToken) -> str:
        return token.prefix


@admin.register(ApiTokenEvent)
class ApiTokenEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "token", "actor", "address", "detail")
    list_filter = ("kind",)
    search_fields = ("token__key_id", "token__owner__email", "address")
    date_hierarchy = "at"
    list_select_related = ("token", "actor")
    fields = ("token", "kind", "actor", "at", "address", "detail")
    readonly_fields = fields
