"""The OpenAPI schema's error answers: every operation documents the error statuses it can give,
with their JSON bodies (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] is BankAutoSchema).

Which statuses an operation can give follows from the view, so that a new view is documented
without a decorator:

- 400 (a ValidationError body: each bad field, parameter or file named) for POST, PUT and PATCH,
  and for list operations, whose query parameters are validated (imagebank.api.filters, `page`);
- 401 and 403 (an Error body, `{"detail": …}`) when the view authenticates or restricts access;
- 404 for an operation with an id in its path, and for a paginated list (a page past the last);
- 415 for an operation that reads a request body (a content type it does not parse);
- 429 when the view is throttled;
- 503 (a ServiceUnavailable body) for every operation: each reads the database, and the writes
  store files or queue work (imagebank.outage_responses answers an outage of any of them).

A status only some operations give (409 for a lifecycle transition, 404 for a site given in the
body) is declared on the view with `errors(...)`. Statuses declared on a view are kept as they
are; one declared with a description only gets its JSON body. List operations also get their
`query_serializer_class` fields as query parameters.
"""

import copy
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import AllowAny

BODY_METHODS = ("POST", "PUT", "PATCH")

ERROR_DESCRIPTIONS = {
    400: _(
        "Invalid input: each bad field, query parameter or file is named, with its messages "
        "(`non_field_errors` for the request as a whole)."
    ),
    401: _("No credentials, or bad ones (an unknown, expired or revoked token)."),
    403: _(
        "Signed in but not allowed: the permission is missing, or the object's state does not "
        "let you change it (e.g. editing a submitted case)."
    ),
    404: _(
        "Not found, or not visible to you (whether it exists is not revealed); for a list, a "
        "page past the last one."
    ),
    409: _("A lifecycle transition the case's state does not allow (e.g. submitting it twice)."),
    415: _("The request body's content type is not one this operation reads."),
    429: _("Too many requests: wait as long as `Retry-After` says."),
    503: _(
        "A service the bank depends on (database, task queue, cache or file storage) is briefly "
        "out, and nothing was stored: send the request again after `Retry-After` seconds."
    ),
}

# The 400 body: {"field": ["message", …], …}; a list or nested field has an object of its items'
# errors; a body that cannot be parsed at all gets `detail`.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": _(
        "Each key names a bad field or query parameter (`non_field_errors`: the request as a "
        "whole; `detail`: a body that could not be parsed); its value lists the messages, or for "
        "a list or nested field holds its items' errors by position or key."
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": True},
            {"type": "string"},
        ]
    },
}


class ErrorSerializer(serializers.Serializer):
    """The body of every error but a 400 and a 503."""

    detail = serializers.CharField(help_text=_("What went wrong, in words."))


class ServiceUnavailableSerializer(ErrorSerializer):
    """The body of a 503 (imagebank.outage_responses)."""

    # Plain strings, not enums: drf-spectacular would name them CodeEnum and ServiceEnum, names
    # that the next field called `code` or `service` with other choices would collide with.
    code = serializers.CharField(help_text=_("Always `service_unavailable`."))
    service = serializers.CharField(
        help_text=_("The service that is out: `database`, `broker`, `cache` or `storage`.")
    )
    retry_after = serializers.IntegerField(
        help_text=_("Seconds to wait before trying again, as in `Retry-After`.")
    )


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses` entries for @extend_schema, for a status the rules above do not give."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in statuses
    }


class BankAutoSchema(AutoSchema):
    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        query = getattr(self.view, "query_serializer_class", None)
        # A query serializer without fields (no parameters but `page`) documents nothing.
        if query is not None and getattr(self.view, "action", None) == "list" and query().fields:
            parameters.append(query)
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_statuses()):
            if str(code) not in responses:
                responses[str(code)] = self._error_response(code)
        # An error a view declares with a description only still answers its JSON body.
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                response["content"] = self._error_response(int(code))["content"]
        return responses

    def _error_statuses(self) -> set[int]:
        view = self.view
        statuses: set[int] = set()
        authenticates = bool(view.get_authenticators())
        restricted = any(not isinstance(p, AllowAny) for p in view.get_permissions())
        # Only the list action validates its query string (and pages); a sub-list such as a
        # case's images takes no parameters.
        is_list = getattr(view, "action", None) == "list" or (
            # A generic list view (ListAPIView) has no action, but pages like a viewset's list.
            self.method == "GET" and "{" not in self.path and isinstance(view, ListModelMixin)
        )
        if self.method in BODY_METHODS or is_list:
            statuses.add(400)
        if authenticates:
            statuses.add(401)
        if authenticates or restricted:
            statuses.add(403)
        if "{" in self.path or (is_list and self._get_paginator() is not None):
            statuses.add(404)
        if self.method in BODY_METHODS and self.get_request_serializer() is not None:
            statuses.add(415)
        if view.get_throttles():
            statuses.add(429)
        statuses.add(503)
        return statuses

    def _error_response(self, code: int) -> dict[str, Any]:
        description = ERROR_DESCRIPTIONS.get(code, "")
        if code == 400:
            component = ResolvedComponent(
                name="ValidationError",
                type=ResolvedComponent.SCHEMA,
                schema=copy.deepcopy(VALIDATION_ERROR_SCHEMA),
                object="ValidationError",
            )
            self.registry.register_on_missing(component)
            schema = component.ref
        elif code == 503:
            schema = self.resolve_serializer(ServiceUnavailableSerializer, "response").ref
        else:
            schema = self.resolve_serializer(ErrorSerializer, "response").ref
        return {
            "content": {"application/json": {"schema": schema}},
            "description": description,
        }
