"""Downloads of a grant's release versions: the whole release as one streamed ZIP, single files
and the manifest, and the grant's download log (a page, and CSV).

Who: a user signed in, or sending one of the bank's API tokens (`Authorization: Token …`), whom
the grant in the URL names, while it is live and covers the version (access_requests.services
.downloads.authorize, asked on every request: a revoked grant refuses its tokens at once). Any
other grant, version or file is answered 404, whether or not it exists. A user who has not
signed the agreement in force for the grant's group gets 403 with a link to sign it.

Every download and every signed URL writes its DownloadLog row before the bytes go. On object
storage (settings.USE_S3) a single file is a redirect to a short-lived signed URL; the archive is
always streamed by the bank (it is made on the fly). Byte ranges: a single range (`bytes=N-`,
`N-M`, `-N`), answered 206 with Content-Range, 416 beyond the end; `If-Range` with another ETag
gets the whole body. HEAD answers the headers and logs nothing (no bytes leave).
"""

import csv
from datetime import UTC

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from rest_framework.exceptions import AuthenticationFailed

from access_requests.models import DownloadKind, Grant
from access_requests.services import downloads
from imagebank.authentication import ApiTokenAuthentication
from imagebank.views.reads import spreadsheet_safe

LOG_PAGE_ROWS = 500
CSV_COLUMNS = (
    "at",
    "user_email",
    "kind",
    "release",
    "version",
    "path",
    "bytes",
    "range_start",
    "range_end",
    "api_token",
    "ip_address",
    "user_agent",
)


# --- who asks -----------------------------------------------------------------------------------


def _reader(request: HttpRequest):
    """(user, api token or None, None), or (None, None, response) when nobody is signed in and
    no token is sent (a redirect to sign in) or the token is refused (401)."""
    if request.user.is_authenticated:
        return request.user, None, None
    try:
        found = ApiTokenAuthentication().authenticate(request)
    except AuthenticationFailed as error:
        response = HttpResponse(str(error.detail), status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Token"
        return None, None, response
    if found is None:
        return None, None, redirect_to_login(request.get_full_path())
    return found[0], found[1], None


def _refused_unsigned(request: HttpRequest, grant: Grant, token) -> HttpResponse:
    sign_url = reverse("access_requests:agreement-sign", args=[grant.group_id])
    message = _(
        "Sign the data use agreement in force for %(group)s before downloading: a new version "
        "must be signed before the next download."
    ) % {"group": grant.group.name}
    if token is not None:  # a script: plain text, with the address of the page to sign on
        body = f"{message}\n{request.build_absolute_uri(sign_url)}\n"
        return HttpResponse(body, status=403, content_type="text/plain; charset=utf-8")
    return render(
        request,
        "access_requests/download_unsigned.html",
        {"message": message, "sign_url": sign_url, "grant": grant},
        status=403,
    )


def _authorized(request: HttpRequest, grant: int, slug: str, version: str):
    """(user, token, Authorized, None) or (…, response) for a refusal."""
    user, token, refused = _reader(request)
    if refused is not None:
        return None, None, None, refused
    try:
        authorized = downloads.authorize(user, grant, slug, version)
    except downloads.DownloadNotFound:
        raise Http404(_("There is no such download for you.")) from None
    except downloads.AgreementUnsigned as unsigned:
        return user, token, None, _refused_unsigned(request, unsigned.grant, token)
    return user, token, authorized, None


# --- ranges -------------------------------------------------------------------------------------


def _wanted_range(request: HttpRequest, total: int, etag: str):
    """[start, stop) asked for, or None for the whole body; RangeNotSatisfiable for a range
    beyond the end. An If-Range naming another ETag (or a date) asks for the whole body."""
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        return None
    return downloads.parse_range(request.headers.get("Range", ""), total)


def _unsatisfiable(total: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{total}"
    response["Accept-Ranges"] = "bytes"
    return response


def _body_response(
    request: HttpRequest,
    *,
    body,
    total: int,
    byte_range,
    etag: str,
    content_type: str,
    filename: str,
) -> HttpResponse:
    status = 206 if byte_range else 200
    length = (byte_range[1] - byte_range[0]) if byte_range else total
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type)
    else:
        response = StreamingHttpResponse(body, status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    if byte_range:
        response["Content-Range"] = f"bytes {byte_range[0]}-{byte_range[1] - 1}/{total}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Vary"] = "Cookie, Authorization"
    return response


# --- the archive --------------------------------------------------------------------------------


@require_safe
def download_archive(request: HttpRequest, grant: int, slug: str, version: str) -> HttpResponse:
    user, token, authorized, refused = _authorized(request, grant, slug, version)
    if refused is not None:
        return refused
    release_version, signature = authorized.version, authorized.signature
    # One archive measures the length and streams the bytes (its members read from the database
    # once, not once for the length and again for the body).
    archive = downloads.build_archive(release_version, signature)
    total = len(archive)
    etag = downloads.archive_etag(release_version, signature)
    try:
        byte_range = _wanted_range(request, total, etag)
    except downloads.RangeNotSatisfiable:
        return _unsatisfiable(total)
    start, stop = byte_range or (0, total)
    body = None
    if request.method != "HEAD":
        downloads.log_download(
            request=request,
            user=user,
            authorized=authorized,
            kind=DownloadKind.ARCHIVE,
            length=total,
            byte_range=byte_range,
            api_token=token,
        )
        body = archive.slice(start, stop)
    return _body_response(
        request,
        body=body,
        total=total,
        byte_range=byte_range,
        etag=etag,
        content_type="application/zip",
        filename=downloads.archive_name(release_version),
    )


# --- single files -------------------------------------------------------------------------------


def _file_response(
    request: HttpRequest, grant: int, slug: str, version: str, path: str, kind: str
) -> HttpResponse:
    user, token, authorized, refused = _authorized(request, grant, slug, version)
    if refused is not None:
        return refused
    try:
        member = downloads.find_member(authorized.version, path, authorized.signature)
    except downloads.DownloadNotFound:
        raise Http404(_("This release version has no such file.")) from None

    if settings.USE_S3 and request.method != "HEAD":
        signed = downloads.signed_url_for(member)
        if signed:
            downloads.log_download(
                request=request,
                user=user,
                authorized=authorized,
                kind=DownloadKind.SIGNED_URL,
                path=path,
                length=member.size,
                api_token=token,
            )
            response = HttpResponseRedirect(signed)
            # The signed URL lives for seconds; never let a cache replay the redirect.
            response["Cache-Control"] = "private, no-store"
            return response

    etag = f'"{member.sha256}"'
    try:
        byte_range = _wanted_range(request, member.size, etag)
    except downloads.RangeNotSatisfiable:
        return _unsatisfiable(member.size)
    body = None
    if request.method != "HEAD":
        downloads.log_download(
            request=request,
            user=user,
            authorized=authorized,
            kind=kind,
            path=path,
            length=member.size,
            byte_range=byte_range,
            api_token=token,
        )
        # A whole file is checked against its SHA-256 as it streams; a range cannot be.
        body = member.chunks_between(*byte_range) if byte_range else iter(member)
    return _body_response(
        request,
        body=body,
        total=member.size,
        byte_range=byte_range,
        etag=etag,
        content_type=member.content_type,
        filename=path.rsplit("/", 1)[-1],
    )


@require_safe
def download_file(
    request: HttpRequest, grant: int, slug: str, version: str, path: str
) -> HttpResponse:
    return _file_response(request, grant, slug, version, path, DownloadKind.FILE)


@require_safe
def download_manifest(request: HttpRequest, grant: int, slug: str, version: str) -> HttpResponse:
    return _file_response(
        request, grant, slug, version, downloads.MANIFEST_PATH, DownloadKind.MANIFEST
    )


# --- the log ------------------------------------------------------------------------------------


def _csv_row(row) -> list[str]:
    values = {
        "at": row.at.astimezone(UTC).isoformat(),
        "user_email": row.user.email,
        "kind": row.kind,
        "release": row.version.release.slug,
        "version": row.version.version,
        "path": row.path,
        "bytes": row.bytes,
        "range_start": "" if row.range_start is None else row.range_start,
        "range_end": "" if row.range_end is None else row.range_end,
        "api_token": row.api_token.name if row.api_token else "",
        "ip_address": row.ip_address or "",
        "user_agent": row.user_agent,
    }
    return [spreadsheet_safe(values[column]) for column in CSV_COLUMNS]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(grant: Grant, rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for row in rows.iterator(chunk_size=1000):
            yield writer.writerow(_csv_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="grant-{grant.pk}-downloads.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def download_log(request: HttpRequest, grant: int) -> HttpResponse:
    """The grant's download log: all of it for committee members and curators, their own rows
    for the group's members; `?format=csv` exports it (cells a spreadsheet would run as formulas
    are neutralised)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    found = Grant.objects.select_related("group", "request").filter(pk=grant).first()
    rows = downloads.log_rows_for(request.user, found) if found else None
    if rows is None:
        raise Http404(_("No grant of yours has this number."))
    if request.GET.get("format") == "csv":
        return _csv_response(found, rows)
    return render(
        request,
        "access_requests/download_log.html",
        {
            "grant": found,
            "rows": rows[:LOG_PAGE_ROWS],
            "total": rows.count(),
            "limit": LOG_PAGE_ROWS,
            "all_rows": downloads.sees_every_row(request.user),
        },
    )
