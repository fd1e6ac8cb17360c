"""Grants: what an approved request gives, to whom, until when; and the permission tables
through which guardian holds the download right on release versions."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from access_requests.lifecycle import GrantState
from imagebank.object_permissions import PermissionTable

# The one right a grant gives (declared on curation.ReleaseVersion's Meta).
DOWNLOAD = "download_releaseversion"
RELEASE_PERMISSIONS = frozenset({DOWNLOAD})


class Grant(models.Model):
    """An approved request's access: the named accessors may download the granted release
    versions (and, with `and_later_versions`, later published versions of the same releases)
    until `expires_at`, through a guardian group of their own (`auth_group`)."""

    request = models.OneToOneField(
        "access_requests.AccessRequest", on_delete=models.PROTECT, related_name="grant"
    )
    group = models.ForeignKey(
        "access_requests.ResearchGroup", on_delete=models.PROTECT, related_name="grants"
    )
    releases = models.ManyToManyField("curation.ReleaseVersion", related_name="grants")
    and_later_versions = models.BooleanField(default=False)
    accessors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="grants")
    auth_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="grant")
    state = models.CharField(
        _("state"), max_length=10, choices=GrantState.choices, default=GrantState.ACTIVE
    )
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    reminded_month_at = models.DateTimeField(null=True, blank=True)
    reminded_week_at = models.DateTimeField(null=True, blank=True)
    destruction_confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("starts_at")),
                name="grant_expires_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"grant {self.pk} to {self.group_id}"


class ReleaseVersionUserPermission(PermissionTable, UserObjectPermissionBase):
    allowed_permissions = RELEASE_PERMISSIONS
    content_object = models.ForeignKey("curation.ReleaseVersion", on_delete=models.CASCADE)


class ReleaseVersionGroupPermission(PermissionTable, GroupObjectPermissionBase):
    allowed_permissions = RELEASE_PERMISSIONS
    content_object = models.ForeignKey("curation.ReleaseVersion", on_delete=models.CASCADE)
