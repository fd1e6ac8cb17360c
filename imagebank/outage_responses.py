"""What a request answers when a service the bank depends on is out, instead of Django's 500.

An outage (imagebank.outages.service_out names the service: database, broker, cache or storage)
answers 503 with `Retry-After` (OUTAGE_RETRY_AFTER_SECONDS): JSON under /api/ and to a request
that prefers JSON (the case page's status poll), in the API's error shape plus a stable code:

    {"detail": "The file storage is briefly unavailable, so nothing was stored. Try again in a
     moment.", "code": "service_unavailable", "service": "storage", "retry_after": 30}

and elsewhere the page templates/503.html, in the visitor's language. It is logged as one WARNING
line naming the service, the exception (and its cause) and the path; Django's own "Service
Unavailable" line is suppressed, since the outage is not a fault of the code.

Two ways in, one answer:

- OutageResponseMiddleware.process_exception: an exception raised by a view, DRF's included (DRF
  re-raises what its exception handler does not answer);
- server_error, the root URL conf's handler500: an exception raised anywhere else, in a middleware
  too (the session or the user read from a database that is down). Anything that is not an outage
  stays a 500: JSON `{"detail": …, "code": "server_error"}` under /api/, the 500 page elsewhere,
  logged by Django with its traceback. Django calls handler500 only with DEBUG off.

Neither touches the database: the page is rendered without the request, hence without the context
processors (user, messages, navigation), and the language comes from the request's cookie or
Accept-Language header, as LocaleMiddleware would choose it.
"""

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import defaults

from imagebank import outages

logger = logging.getLogger(__name__)

SERVICE_UNAVAILABLE = "service_unavailable"
SERVER_ERROR = "server_error"


def _unavailable_message(service: str) -> str:
    # One whole sentence per service (not a service name put into one), for the translators.
    messages = {
        outages.DATABASE: _(
            "The database is briefly unavailable, so nothing was stored. Try again in a moment."
        ),
        # Work is queued after what asked for it is stored: this one does not promise otherwise.
        outages.BROKER: _("The task queue is briefly unavailable. Try again in a moment."),
        outages.CACHE: _(
            "The cache is briefly unavailable, so nothing was stored. Try again in a moment."
        ),
        outages.STORAGE: _(
            "The file storage is briefly unavailable, so nothing was stored. Try again in a moment."
        ),
    }
    return messages[service]


def wants_json(request: HttpRequest) -> bool:
    """Under /api/ always; elsewhere when the client prefers JSON to a page (a browser's Accept
    header, `*/*` and no header at all get the page)."""
    if request.path_info.startswith("/api/"):
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".replace("\n", " ").strip()


def _root_cause(error: BaseException) -> BaseException:
    """The last explicit cause (`raise … from`): what a library wrapped. An exception that was
    merely being handled when this one was raised (`__context__`) is not its cause."""
    seen = {id(error)}
    while error.__cause__ is not None and id(error.__cause__) not in seen:
        error = error.__cause__
        seen.add(id(error))
    return error


def _log_outage(request: HttpRequest, service: str, error: BaseException) -> None:
    # An outage often fails a request twice: a view, then a middleware on the way out reading the
    # same session or user again; the answer is replaced, and the outage is still logged once.
    if getattr(request, "_outage_logged", False):
        return
    request._outage_logged = True
    cause = _root_cause(error)
    because = f" (caused by {_one_line(cause)})" if cause is not error else ""
    logger.warning(
        "%s unavailable, answered 503: %s%s; %s %s",
        service,
        _one_line(error),
        because,
        request.method,
        request.path,
    )


def _language(request: HttpRequest) -> str:
    # Before LocaleMiddleware ran (an outage in SessionMiddleware) no language is active yet.
    return translation.get_language_from_request(request)


def outage_response(request: HttpRequest, service: str, error: BaseException) -> HttpResponse:
    """The 503 for an outage of `service`, logged once."""
    seconds = settings.OUTAGE_RETRY_AFTER_SECONDS
    with translation.override(_language(request)):
        message = _unavailable_message(service)
        if wants_json(request):
            response: HttpResponse = JsonResponse(
                {
                    "detail": message,
                    "code": SERVICE_UNAVAILABLE,
                    "service": service,
                    "retry_after": seconds,
                },
                status=503,
            )
        else:
            # Rendered without the request: no context processor may query a database that is out.
            page = loader.render_to_string("503.html", {"message": message, "retry_after": seconds})
            response = HttpResponse(page, status=503)
    response["Retry-After"] = str(seconds)
    _log_outage(request, service, error)
    response._has_been_logged = True  # Django's log_response: the line above is the only one
    return response


class OutageResponseMiddleware:
    """Answers an outage raised by a view with the 503 (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        service = outages.service_out(exception)
        if service is None:
            return None  # a real failure: Django's 500 (handler500 below), with its traceback
        return outage_response(request, service, exception)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: the 503 for an outage raised outside a view; otherwise the 500, JSON under
    /api/. Django has logged nothing yet: it logs the 500 (with its traceback) once this returns.
    """
    error = sys.exc_info()[1]
    service = outages.service_out(error) if error is not None else None
    if service is not None:
        return outage_response(request, service, error)
    if request.path_info.startswith("/api/"):
        with translation.override(_language(request)):
            detail = _(
                "Something went wrong on our side. The error has been logged, and nothing you "
                "sent was half-stored: try again in a few minutes."
            )
        return JsonResponse({"detail": detail, "code": SERVER_ERROR}, status=500)
    with translation.override(_language(request)):
        return defaults.server_error(request, template_name=template_name)
