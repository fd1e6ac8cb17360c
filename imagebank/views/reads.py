"""The audit of reads for curators: who read what on one case (page and CSV), and the bank-wide
CSV over a date range. The rows are written by imagebank.read_audit; docs/audit.md describes them.

Permission: permissions.can_see_read_audit (curators and superusers; 403 for anyone else, before
anything about the case is looked up), then the case must exist or have reads (404). The rows
come from selectors.read_events.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, date, timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from imagebank import selectors
from imagebank.days import iso_date, start_of
from imagebank.models import ReadEvent
from imagebank.permissions import can_see_read_audit, require

READS_PER_PAGE = 50
# The CSV's columns: stable names and codes (not translated), for scripts and spreadsheets.
CSV_COLUMNS = (
    "at",
    "user_id",
    "user_email",
    "kind",
    "variant",
    "object_id",
    "case_id",
    "channel",
    "route",
    "client_ip",
    "user_agent",
)
EXPORT_PARAMETERS = ("since", "until")
# A cell starting with one of these is run as a formula by spreadsheet programs (OWASP, "CSV
# injection"); the user agent and even an email address are written by whoever made the request.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(event: ReadEvent) -> list[str]:
    values = {
        "at": event.at.astimezone(UTC).isoformat(),
        "user_id": event.user_id,
        "user_email": event.user_email,
        "kind": event.kind,
        "variant": event.variant,
        "object_id": event.object_id,
        "case_id": event.case_id,
        "channel": event.channel,
        "route": event.route,
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
    }
    return [spreadsheet_safe(values[column]) for column in CSV_COLUMNS]


class _Echo:
    """A file-like object whose write gives the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(events: Iterable[ReadEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(CSV_COLUMNS)
    for event in events:
        yield writer.writerow(csv_row(event))


def _csv_response(events, filename: str) -> StreamingHttpResponse:
    # A fixed-size chunked read: an export of a busy year does not sit in memory at once.
    response = StreamingHttpResponse(
        _csv_lines(events.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _require_read_audit(user) -> None:
    require(can_see_read_audit(user), _("Only curators see who read a case."))


def _case_and_reads(request: HttpRequest, pk: int):
    """The case (None when it has since left the bank) and its reads; 404 if neither exists."""
    _require_read_audit(request.user)
    case = selectors.cases_for_user(request.user).filter(pk=pk).first()
    events = selectors.read_events(request.user, case_id=pk)
    if case is None and not events.exists():
        raise Http404(_("No such case."))
    return case, events


@login_required
@require_GET
def case_reads(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: can_see_read_audit (403), then the case or its reads must exist (404)."""
    case, events = _case_and_reads(request, pk)
    page = Paginator(events, READS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "imagebank/case_reads.html",
        {"case": case, "case_pk": pk, "page": page},
    )


@login_required
@require_GET
def case_reads_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: as case_reads. Every read of the case, newest first, as CSV."""
    _case, events = _case_and_reads(request, pk)
    return _csv_response(events, f"case-{pk}-reads.csv")


def _bad_request(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _export_dates(request: HttpRequest) -> tuple[date | None, date | None]:
    """`since` and `until` (both optional, inclusive days, UTC); ValueError
    with a message naming the parameter when one is wrong."""
    unknown = sorted(set(request.GET) - set(EXPORT_PARAMETERS))
    if unknown:
        raise ValueError(
            _("%(name)s: unknown parameter; the export takes since and until.")
            % {"name": unknown[0]}
        )
    days = {}
    for name in EXPORT_PARAMETERS:
        text = request.GET.get(name, "").strip()
        if not text:
            days[name] = None
            continue
        days[name] = iso_date(text)
        if days[name] is None:
            raise ValueError(
                _("%(name)s: “%(value)s” is not a date; give it as YYYY-MM-DD.")
                % {"name": name, "value": text[:40]}
            )
    if days["since"] and days["until"] and days["until"] < days["since"]:
        raise ValueError(_("until: the end of the range is before its start (since)."))
    return days["since"], days["until"]


@login_required
@require_GET
def reads_export(request: HttpRequest) -> HttpResponse:
    """Permission: can_see_read_audit (403). Every read in the bank between `since` and `until`
    (YYYY-MM-DD, both days included, both optional), newest first, as CSV; a wrong date is a 400
    that names the parameter."""
    _require_read_audit(request.user)
    try:
        since, until = _export_dates(request)
    except ValueError as error:
        return _bad_request(str(error))
    events = selectors.read_events(
        request.user,
        since=start_of(since) if since else None,
        until=start_of(until + timedelta(days=1)) if until else None,
    )
    name = "-".join(
        ["reads", since.isoformat() if since else "start", until.isoformat() if until else "now"]
    )
    return _csv_response(events, f"{name}.csv")
