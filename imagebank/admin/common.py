"""Shared pieces of the admin pages."""

from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext

from imagebank.models import (
    Image,
    ProcessingStatus,
)

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


def admin_link(obj, label: str | None = None) -> str:
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


def thumbnail_html(image: Image) -> str:
    """The thumbnail through the permission-checked file view; files have no public URL."""
    if image.processing_status != ProcessingStatus.DONE or not image.thumbnail:
        return "-"
    try:
        src = reverse("imagebank:image-file", args=[image.pk, "thumbnail"])
    except NoReverseMatch:
        return "-"
    return format_html('<img src="{}" alt="" style="max-height: 96px">', src)


def refusal_message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or gettext("You do not have permission to do this.")
