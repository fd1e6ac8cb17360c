"""Query parameters of the list operations, validated like a request body.

Each list view names a `query_serializer_class`; its fields are the parameters the operation
takes (the schema documents them from the same serializer, see imagebank.api.schema), typed and
bounded: an id is an integer the database can hold, a state one of the codes. A parameter the
serializer does not declare is refused too, so a misspelt filter is a 400 naming it rather than a
silent, unfiltered answer. Pagination's `page` is the paginator's (imagebank.api.base).
"""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.request import Request

from imagebank.lifecycle import CaseState
from imagebank.services.cases import SOURCE_REFERENCE_MAX_LENGTH

# Every table's key is a BigAutoField: a larger number is no row, and SQLite cannot even compare
# a foreign key with it (an OverflowError, i.e. a 500, before this bound).
MAX_ID = 2**63 - 1
# Parameters every list takes besides its own: the page, and DRF's format override.
COMMON_PARAMETERS = frozenset({"page", "format"})


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def query_data(request: Request) -> dict[str, str]:
    """The query string as one value a parameter. A parameter given twice is refused (which one
    would count?), and each value is validated as sent: an empty `site=` is not a site id (DRF
    would read a form's empty field as no value at all)."""
    repeated = sorted(name for name, values in request.query_params.lists() if len(values) > 1)
    if repeated:
        raise serializers.ValidationError(
            {name: [_("Give this parameter once.")] for name in repeated}
        )
    return dict(request.query_params.items())


class QueryParameters(serializers.Serializer):
    """No parameters of its own: any parameter but `page` (and `format`) is refused."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields) - COMMON_PARAMETERS)
        if unknown:
            raise serializers.ValidationError(
                {name: [_("Unknown query parameter.")] for name in unknown}
            )
        return attrs


class CaseListQuery(QueryParameters):
    site = id_field(required=False, help_text=_("Only this site's cases (its id)."))
    state = serializers.ChoiceField(
        choices=CaseState.choices, required=False, help_text=_("Only cases in this state.")
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SOURCE_REFERENCE_MAX_LENGTH,
        help_text=_(
            "Cases whose source reference contains this text (ignoring letter case), or whose "
            "number it is (30 or #30)."
        ),
    )
    source_reference = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SOURCE_REFERENCE_MAX_LENGTH,
        help_text=_("Cases with exactly this source reference (ignoring letter case)."),
    )


class QueryFilterMixin:
    """For viewsets: the list action validates its query string with `query_serializer_class`
    (a 400 naming each bad or unknown parameter) and filters with `filter_by_query`."""

    query_serializer_class: type[QueryParameters] = QueryParameters
    request: Request
    action: str | None

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)  # type: ignore[misc]
        if getattr(self, "action", None) != "list":
            return queryset
        query = self.query_serializer_class(data=query_data(self.request))
        query.is_valid(raise_exception=True)
        return self.filter_by_query(queryset, query.validated_data)

    def filter_by_query(self, queryset: QuerySet, query: dict[str, Any]) -> QuerySet:
        return queryset
