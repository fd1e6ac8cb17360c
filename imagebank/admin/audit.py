"""The audit of reads in the admin: read-only, like every audit trail (imagebank.read_audit)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from imagebank.models import ReadEvent

from .common import ReadOnlyAdminMixin


@admin.register(ReadEvent)
class ReadEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who read what, when and from where; written by the middleware, never by hand."""

    list_display = (
        "at",
        "user_email",
        "kind",
        "variant",
        "object_id",
        "case_number",
        "channel",
        "client_ip",
    )
    list_filter = ("kind", "channel", "variant")
    # Exact matches only: every one is served by an index or is a short scan of one day.
    search_fields = ("=user_email", "=case__id", "=object_id", "=client_ip")
    date_hierarchy = "at"
    fields = (
        "at",
        "user",
        "user_email",
        "kind",
        "variant",
        "object_id",
        "case_number",
        "channel",
        "route",
        "client_ip",
        "user_agent",
    )
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("case"), ordering="case_id")
    def case_number(self, event: ReadEvent) -> str:
        # The id alone: the case may have left the bank since (there is no constraint to it).
        return "" if event.case_id is None else str(event.case_id)
