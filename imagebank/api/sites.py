"""Sites the user belongs to, read-only."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from imagebank import selectors
from imagebank.api.base import BankAPIMixin, is_schema_generation
from imagebank.api.filters import QueryFilterMixin
from imagebank.api.serializers import SiteSerializer
from imagebank.models import Site


@extend_schema(tags=["sites"])
class SiteViewSet(BankAPIMixin, QueryFilterMixin, viewsets.ReadOnlyModelViewSet):
    """Sites the user belongs to; reviewers and curators see every site."""

    permission_classes = [IsAuthenticated]
    serializer_class = SiteSerializer
    # The list takes no parameter but `page` (imagebank.api.filters).

    def get_queryset(self) -> QuerySet[Site]:
        if is_schema_generation(self):
            return Site.objects.none()
        return selectors.sites_for_user(self.request.user)
