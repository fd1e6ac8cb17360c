from rest_framework.permissions import BasePermission


class DenyAll(BasePermission):
    """The default: an endpoint that does not name its permission refuses everyone."""

    def has_permission(self, request, view) -> bool:
        return False
