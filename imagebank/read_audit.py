"""The audit of reads: one row (imagebank.models.ReadEvent) for each read of a case, an image, an
image file or an import report by a signed-in user, written by a middleware so that no view has
to remember it.

What is recorded (docs/audit.md): a GET or HEAD answered 2xx (or, for the file view, the 302 to
a signed object-storage URL) to an authenticated user, on one of the routes in AUDITED_READS. The
route's name (request.resolver_match) says what was read; the URL's own arguments give the ids,
so recording costs one INSERT, plus one indexed look-up of the image's case for image routes.
Not recorded: refusals (403, 404, 401, the sign-in redirect), anonymous requests, writes, the
HTML list pages and the dashboard (they show a line per case, not its clinical details or
pictures; the pictures they show are fetched through the file view, which is recorded), and the
polling of a case's image status (processing state only). The API's case and import lists do
carry every field of each case or report they list, so they write one row per listed object, in
one INSERT, from the ids in the answer itself.

A read that cannot be recorded is refused: see ReadAuditMiddleware.

Apps above the core record reads of their own pages with `register_audited_read`.
"""

import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import DatabaseError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from imagebank.client_address import client_ip
from imagebank.models import Image, ReadEvent
from imagebank.models.audit import USER_AGENT_MAX_LENGTH
from imagebank.permissions import can_see_read_audit

logger = logging.getLogger("imagebank.read_audit")

Kind = ReadEvent.Kind
Channel = ReadEvent.Channel

# Where the case of a read comes from.
CASE_IN_URL = "case"  # the URL's `pk` is the case's id
IMAGE_IN_URL = "image"  # the URL's `pk` is an image's id: one look-up gives its case
NO_CASE = ""


@dataclass(frozen=True)
class AuditedRead:
    kind: str
    channel: str
    case_from: str = NO_CASE
    # The URL argument holding the object's id (None: the read is of no one object).
    object_kwarg: str | None = "pk"
    # The URL argument naming the file variant (image files).
    variant_kwarg: str | None = None
    # An API list: one row per object in the answer's results, each with its own id.
    per_listed_object: bool = False
    # The file view answers a 302 to a short-lived signed URL on object storage: that is a read.
    signed_redirect_is_read: bool = False
    # For another app's object in the URL (case_from NO_CASE): its id -> its case's id, one
    # indexed look-up, so the read still shows among the case's reads.
    case_of: Callable[[int], int | None] | None = None


AUDITED_READS: dict[str, AuditedRead] = {
    # Pages
    "imagebank:case-detail": AuditedRead(Kind.CASE, Channel.PAGE, CASE_IN_URL),
    # The edit form shows every clinical field of the case, as the case page does.
    "imagebank:case-edit": AuditedRead(Kind.CASE, Channel.PAGE, CASE_IN_URL),
    "imagebank:import-detail": AuditedRead(Kind.IMPORT_RUN, Channel.PAGE),
    "imagebank:import-report": AuditedRead(Kind.IMPORT_REPORT, Channel.FILE),
    "imagebank:image-file": AuditedRead(
        Kind.IMAGE_FILE,
        Channel.FILE,
        IMAGE_IN_URL,
        variant_kwarg="variant",
        signed_redirect_is_read=True,
    ),
    # The read log itself names people and addresses: reading it is recorded too.
    "imagebank:case-reads": AuditedRead(Kind.CASE_READS, Channel.PAGE, CASE_IN_URL),
    "imagebank:case-reads-csv": AuditedRead(Kind.CASE_READS, Channel.FILE, CASE_IN_URL),
    "imagebank:reads-export": AuditedRead(Kind.READ_EXPORT, Channel.FILE, object_kwarg=None),
    # The admin's pages of a case and of an image show as much as the case page.
    "admin:imagebank_case_change": AuditedRead(
        Kind.CASE, Channel.PAGE, CASE_IN_URL, object_kwarg="object_id"
    ),
    "admin:imagebank_image_change": AuditedRead(
        Kind.IMAGE, Channel.PAGE, IMAGE_IN_URL, object_kwarg="object_id"
    ),
    # API
    "api:case-detail": AuditedRead(Kind.CASE, Channel.API, CASE_IN_URL),
    "api:case-list": AuditedRead(
        Kind.CASE, Channel.API, CASE_IN_URL, object_kwarg=None, per_listed_object=True
    ),
    "api:case-images": AuditedRead(Kind.CASE_IMAGES, Channel.API, CASE_IN_URL),
    "api:image-detail": AuditedRead(Kind.IMAGE, Channel.API, IMAGE_IN_URL),
    "api:ingest-detail": AuditedRead(Kind.IMPORT_RUN, Channel.API),
    "api:ingest-list": AuditedRead(
        Kind.IMPORT_RUN, Channel.API, object_kwarg=None, per_listed_object=True
    ),
}

_SAFE_METHODS = frozenset({"GET", "HEAD"})


def register_audited_read(view_name: str, read: AuditedRead) -> None:
    """Record reads of another route (a namespaced URL name, e.g. "curation:review")."""
    known = AUDITED_READS.get(view_name)
    if known is not None and known != read:
        raise ValueError(f"{view_name} is already audited as {known}")
    AUDITED_READS[view_name] = read


class ReadNotRecorded(Exception):
    """The read happened but its row could not be written; the answer is withheld."""


def _is_read(request: HttpRequest, response: HttpResponse, read: AuditedRead) -> bool:
    if 200 <= response.status_code < 300:
        return True
    if response.status_code == 302 and read.signed_redirect_is_read:
        # A signed URL is absolute; the sign-in redirect (and any other redirect within the
        # bank) is a path on this site, and gives nothing away.
        return bool(urlsplit(response.get("Location", "")).scheme)
    return False


def _reader(request: HttpRequest):
    """The user the view answered. DRF sets request.user to the token's user; the file view
    authenticates `Authorization: Token` itself, and unless it set request.user, the same
    authentication is asked again here (the API's own, from the REST framework settings)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    if "HTTP_AUTHORIZATION" not in request.META:
        return None
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.exceptions import APIException
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    drf_request = Request(request)
    for authentication_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(authentication_class, SessionAuthentication):
            continue
        try:
            result = authentication_class().authenticate(drf_request)
        except APIException:
            return None
        if result:
            return result[0]
    return None


def _int_or_none(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _address(request: HttpRequest) -> str | None:
    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _listed_ids(response: HttpResponse) -> list[int]:
    """The ids of the objects in a DRF list answer (paginated or not)."""
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        data = data.get("results")
    if not isinstance(data, list):
        raise ReadNotRecorded("a list answer without the ids of what it lists")
    ids = [_int_or_none(item.get("id")) for item in data if isinstance(item, dict)]
    if len(ids) != len(data) or None in ids:
        raise ReadNotRecorded("a list answer without the ids of what it lists")
    return ids


def events_for(request: HttpRequest, response: HttpResponse, user, read: AuditedRead):
    """The unsaved rows that record this read."""
    kwargs = request.resolver_match.kwargs
    common = {
        "user": user,
        "user_email": user.email,
        "kind": read.kind,
        "channel": read.channel,
        "route": request.resolver_match.view_name[:100],
        "client_ip": _address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
    }
    if read.per_listed_object:
        ids = _listed_ids(response)
        with_case = read.case_from == CASE_IN_URL
        return [ReadEvent(**common, object_id=pk, case_id=pk if with_case else None) for pk in ids]

    object_id = _int_or_none(kwargs.get(read.object_kwarg)) if read.object_kwarg else None
    if read.object_kwarg and object_id is None:
        raise ReadNotRecorded(f"no object id in {request.path}")
    case_id = None
    if read.case_from == CASE_IN_URL:
        case_id = object_id
    elif read.case_from == IMAGE_IN_URL:
        case_id = Image.objects.filter(pk=object_id).values_list("case_id", flat=True).first()
    elif read.case_of is not None and object_id is not None:
        case_id = read.case_of(object_id)
    variant = str(kwargs.get(read.variant_kwarg, "")) if read.variant_kwarg else ""
    return [ReadEvent(**common, object_id=object_id, case_id=case_id, variant=variant)]


def record_read(request: HttpRequest, response: HttpResponse) -> None:
    """Write the rows of a read, if this answer is one; raise ReadNotRecorded if it cannot."""
    match = getattr(request, "resolver_match", None)
    if match is None or request.method not in _SAFE_METHODS:
        return
    read = AUDITED_READS.get(match.view_name)
    if read is None or not _is_read(request, response, read):
        return
    user = _reader(request)
    if user is None:
        # The view gave something away to someone the audit cannot name.
        raise ReadNotRecorded(f"a read of {request.path} by no identifiable user")
    try:
        events = events_for(request, response, user, read)
        if not events:
            return
        _write(events)
    except DatabaseError as error:
        raise ReadNotRecorded(str(error)) from error


# A database that is briefly busy (SQLite's write lock while the worker writes, a PostgreSQL
# fail-over) is worth a few quick tries before the read is withheld.
_RETRY_DELAYS = (0.05, 0.2, 0.5)


def _write(events: list[ReadEvent]) -> None:
    for delay in (*_RETRY_DELAYS, None):
        try:
            # A savepoint, so that a failed INSERT leaves any transaction around it usable.
            with transaction.atomic():
                if len(events) == 1:
                    events[0].save(force_insert=True)
                else:
                    ReadEvent.objects.bulk_create(events)
            return
        except OperationalError:
            if delay is None:
                raise  # out of tries: the read is withheld
            time.sleep(delay)  # the savepoint was rolled back: trying again is safe


def _discard(response: HttpResponse) -> None:
    """Release what the withheld answer holds open (a FileResponse's file) without
    `response.close()`, which would also send request_finished in the middle of the request and
    so close the database connection under the rest of it (and under a test's transaction)."""
    for closer in getattr(response, "_resource_closers", []):
        with contextlib.suppress(Exception):  # as HttpResponse.close: closing must not fail
            closer()
    response.closed = True


def _withheld() -> HttpResponse:
    response = HttpResponse(
        _("This could not be recorded in the audit of reads, so it is not shown. Try again later."),
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "private, no-store"
    response["Retry-After"] = "30"
    return response


class ReadAuditMiddleware:
    """Record each audited read after the view has answered and before anything is sent.

    Fail closed: when the row cannot be written (the database refuses it, or the answer does not
    say who read what), the answer is replaced by a 503 and never reaches the reader. The audit
    exists so that a patient's site, a data protection officer or the access committee can learn
    who saw a case; a read that leaves no trace is exactly what it is there to rule out, and a
    failing audit table is rare and loud, whereas silently missing rows are found only when they
    are needed. The view has built its answer but sent nothing yet (a file is streamed only
    after this returns), so withholding it gives nothing away.

    It also puts `request.read_audit_visible` on the request (lazy, true for curators and
    superusers), which the case page's template reads to show its "Who read this case" link.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.read_audit_visible = SimpleLazyObject(lambda: can_see_read_audit(request.user))
        response = self.get_response(request)
        try:
            record_read(request, response)
        except ReadNotRecorded:
            logger.exception(
                "read not recorded, answer withheld: %s %s", request.method, request.path
            )
            _discard(response)
            return _withheld()
        return response
