"""Downloads of a granted release version (access_requests.views.downloads and its service): a
real small release built and published through curation's services, granted through an approved
request, downloaded by its accessor.

What must hold: only a live grant naming the user and covering the version, with the agreement in
force signed, gives anything (404 otherwise, 403 with a link to sign when only the signature is
missing); the archive is a streamed ZIP holding exactly the release's files and the signed
agreement under one folder, of the length announced, the same bytes every time, so that a range
is a slice of it and a resumed download equals a whole one; single files and the manifest, by
redirect to a signed URL on object storage; a log row per download and signed URL, read per
grant by the committee (all rows) and the accessor (their own), exported as CSV without formulas;
API tokens follow the grant, revocation included."""

import csv
import hashlib
import io
import zipfile
from datetime import UTC, timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from access_requests.models import DataUseAgreement, DownloadKind, DownloadLog, Grant
from access_requests.services import downloads as download_services
from access_requests.services import grants as grant_services
from curation.models import ReleaseFile, ReleaseImage
from curation.services import releases
from tests.access_requests.test_requests import (
    add_member,
    approved_request,
    committee_member,
    make_group,
    new_agreement_version,
    sign,
)
from tests.curation.test_release_build import bank, build, curator  # noqa: F401 (fixtures)
from tests.tokens import token_for
from tests.totp import with_totp

# Local storage even in a run configured for S3: these tests read the streamed bytes and what
# the stream opens; the S3 branch (a logged redirect to a signed URL) has its own test.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

RELEASE_FILES = {
    "manifest.csv",
    "manifest.parquet",
    "croissant.json",
    "datasheet.md",
    "LICENSE.txt",
}


@pytest.fixture
def granted(bank, curator):  # noqa: F811 (the imported fixtures)
    """A published release version granted to two accessors of a group (the first signed the
    agreement when requesting; the second has not signed), and a member not named."""
    version = releases.publish(build(curator), actor=curator)
    group = make_group()
    accessor, second, bystander = add_member(group), add_member(group), add_member(group)
    request = approved_request(
        group=group, requester=accessor, releases=[version], accessors=[accessor, second]
    )
    return {
        "grant": request.grant,
        "version": version,
        "accessor": accessor,
        "second": second,
        "bystander": bystander,
        "group": group,
    }


def url(name, grant, version, *extra):
    return reverse(
        f"access_requests:{name}", args=[grant.pk, version.release.slug, version.version, *extra]
    )


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def get_archive(client, g, **headers):
    return client.get(url("download-archive", g["grant"], g["version"]), **headers)


def signed_in(client, user):
    client.force_login(user)
    return client


# --- the archive --------------------------------------------------------------------------------


def test_the_archive_holds_the_release_and_the_signed_agreement_under_one_folder(client, granted):
    g = granted
    version = g["version"]
    response = get_archive(
        signed_in(client, g["accessor"]), g, HTTP_USER_AGENT="cli/1 " + "x" * 400
    )
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)  # streamed, never the bytes at once
    assert response["Content-Type"] == "application/zip"
    assert response["Accept-Ranges"] == "bytes"
    assert 'filename="cervix-1.0.0.zip"' in response["Content-Disposition"]
    data = body_of(response)
    assert int(response["Content-Length"]) == len(data)

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None  # every member's CRC holds
    images = set(ReleaseImage.objects.filter(version=version).values_list("path", flat=True))
    assert len(images) == version.image_count
    expected = {f"cervix-1.0.0/{path}" for path in RELEASE_FILES | images | {"AGREEMENT.txt"}}
    assert set(archive.namelist()) == expected
    assert len(archive.namelist()) == len(expected)  # no duplicates
    for path in RELEASE_FILES | set(list(images)[:5]):
        assert archive.read(f"cervix-1.0.0/{path}") == releases.read_file(version, path)
    published = version.published_at.astimezone(UTC)
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.date_time[:5] == published.timetuple()[:5]

    agreement = DataUseAgreement.objects.get(version=1)
    text = archive.read("cervix-1.0.0/AGREEMENT.txt").decode()
    assert f"version {agreement.version}" in text
    assert g["group"].name in text
    signature = g["accessor"].agreement_signatures.get()
    assert f"Signed by: {signature.typed_name}" in text
    assert signature.signed_at.astimezone(UTC).isoformat() in text
    assert agreement.sha256 in text and agreement.text.strip() in text

    row = DownloadLog.objects.get()
    assert (row.user, row.group, row.grant, row.version) == (
        g["accessor"],
        g["group"],
        g["grant"],
        version,
    )
    assert (row.kind, row.path, row.bytes) == (DownloadKind.ARCHIVE, "", len(data))
    assert row.range_start is None and row.range_end is None and row.api_token is None
    assert row.ip_address == "127.0.0.1"
    assert len(row.user_agent) == 300 and row.user_agent.startswith("cli/1 ")


def test_the_archive_is_the_same_bytes_each_time_so_ranges_resume_it(client, granted):
    g = granted
    client = signed_in(client, g["accessor"])
    first = get_archive(client, g)
    full, etag = body_of(first), first["ETag"]
    assert body_of(get_archive(client, g)) == full
    total = len(full)

    for header, start, stop in (
        (f"bytes={total // 2}-", total // 2, total),
        ("bytes=100-5099", 100, 5100),
        ("bytes=-700", total - 700, total),
        (f"bytes={total - 1}-{total + 50}", total - 1, total),
    ):
        response = get_archive(client, g, HTTP_RANGE=header)
        assert response.status_code == 206, header
        assert response["Content-Range"] == f"bytes {start}-{stop - 1}/{total}"
        part = body_of(response)
        assert part == full[start:stop]
        assert int(response["Content-Length"]) == len(part)

    interrupted_at = total // 3
    resumed = get_archive(client, g, HTTP_RANGE=f"bytes={interrupted_at}-", HTTP_IF_RANGE=etag)
    assert resumed.status_code == 206
    assert full[:interrupted_at] + body_of(resumed) == full
    row = DownloadLog.objects.first()  # the newest
    assert (row.bytes, row.range_start, row.range_end) == (
        total - interrupted_at,
        interrupted_at,
        total - 1,
    )

    # Another ETag in If-Range (the archive changed meanwhile, say): the whole archive.
    changed = get_archive(client, g, HTTP_RANGE="bytes=10-", HTTP_IF_RANGE='"other"')
    assert changed.status_code == 200 and body_of(changed) == full
    # Beyond the end: 416 with the length, and no row (nothing leaves).
    rows = DownloadLog.objects.count()
    refused = get_archive(client, g, HTTP_RANGE=f"bytes={total}-")
    assert refused.status_code == 416 and refused["Content-Range"] == f"bytes */{total}"
    assert DownloadLog.objects.count() == rows
    # HEAD: the length and the ETag, no bytes and no row.
    head = client.head(url("download-archive", g["grant"], g["version"]))
    assert head.status_code == 200 and int(head["Content-Length"]) == total
    assert head["ETag"] == etag and DownloadLog.objects.count() == rows
    # Several ranges are not served as such: the whole archive.
    several = get_archive(client, g, HTTP_RANGE="bytes=0-1,5-6")
    assert several.status_code == 200 and body_of(several) == full


def test_a_resumed_download_skips_reading_what_was_sent_once_its_crcs_are_known(
    client, granted, monkeypatch
):
    g = granted
    client = signed_in(client, g["accessor"])
    full = body_of(get_archive(client, g))
    opened = []
    real_open = FileSystemStorage.open

    def counting_open(storage, name, mode="rb"):
        opened.append(name)
        return real_open(storage, name, mode)

    monkeypatch.setattr(FileSystemStorage, "open", counting_open)
    tail = get_archive(client, g, HTTP_RANGE="bytes=-200")  # the central directory only
    assert body_of(tail) == full[-200:]
    assert opened == []  # every member skipped: its CRC-32 was remembered

    cache.clear()  # a cold cache: the members are read again (and not sent), same bytes
    tail = get_archive(client, g, HTTP_RANGE="bytes=-200")
    assert body_of(tail) == full[-200:]
    # Each stored blob read once (an image stored twice in the release is skipped the second
    # time: its CRC is known by then); AGREEMENT.txt is not stored.
    keys = {
        *ReleaseFile.objects.filter(version=g["version"]).values_list(
            "blob__storage_key", flat=True
        ),
        *ReleaseImage.objects.filter(version=g["version"]).values_list(
            "blob__storage_key", flat=True
        ),
    }
    assert sorted(opened) == sorted(keys)


def test_a_stored_file_changed_behind_the_banks_back_stops_the_stream(client, granted):
    g = granted
    row = ReleaseImage.objects.filter(version=g["version"]).select_related("blob").last()
    key = row.blob.storage_key
    original = default_storage.open(key).read()
    default_storage.delete(key)
    default_storage.save(key, ContentFile(bytes([original[0] ^ 1]) + original[1:]))
    response = get_archive(signed_in(client, g["accessor"]), g)
    assert response.status_code == 200
    with pytest.raises(download_services.CorruptStoredFile):
        body_of(response)
    single = client.get(url("download-file", g["grant"], g["version"], row.path))
    with pytest.raises(download_services.CorruptStoredFile):
        body_of(single)


def stored_keys(version) -> set[str]:
    """The storage keys of a version's stored members (AGREEMENT.txt is not stored)."""
    return {
        *ReleaseFile.objects.filter(version=version).values_list("blob__storage_key", flat=True),
        *ReleaseImage.objects.filter(version=version).values_list("blob__storage_key", flat=True),
    }


def test_once_the_crcs_are_cached_a_full_download_is_the_same_bytes(client, granted):
    g = granted
    client = signed_in(client, g["accessor"])
    first = body_of(get_archive(client, g))
    shas = {
        *ReleaseFile.objects.filter(version=g["version"]).values_list("sha256", flat=True),
        *ReleaseImage.objects.filter(version=g["version"]).values_list("sha256", flat=True),
    }
    crc_keys = [download_services._crc_key(sha256) for sha256 in shas]
    assert len(cache.get_many(crc_keys)) == len(shas)  # every stored member's CRC remembered
    again = get_archive(client, g)
    assert body_of(again) == first and int(again["Content-Length"]) == len(first)
    assert zipfile.ZipFile(io.BytesIO(first)).testzip() is None


class _CountingHashlib:
    """Stands for the module's `hashlib`: counts the SHA-256 objects made."""

    def __init__(self) -> None:
        self.sha256_calls = 0

    def sha256(self, *args):
        self.sha256_calls += 1
        return hashlib.sha256(*args)


class _CountingCache:
    """Stands for the module's `cache`: counts the round trips that read it."""

    def __init__(self) -> None:
        self.reads = []

    def get(self, *args, **kwargs):
        self.reads.append("get")
        return cache.get(*args, **kwargs)

    def get_many(self, keys, *args, **kwargs):
        self.reads.append("get_many")
        return cache.get_many(keys, *args, **kwargs)

    def set(self, *args, **kwargs):
        return cache.set(*args, **kwargs)


def test_a_member_whose_crc_is_cached_streams_without_sha256(client, granted, monkeypatch):
    g = granted
    client = signed_in(client, g["accessor"])

    def streamed_counting():
        """The archive's body streamed with hashlib and the cache counted (the response is made
        first: its ETag and AGREEMENT.txt hash a few bytes, not the stored files)."""
        response = get_archive(client, g)
        counting_hashlib, counting_cache = _CountingHashlib(), _CountingCache()
        with monkeypatch.context() as patch:
            patch.setattr(download_services, "hashlib", counting_hashlib)
            patch.setattr(download_services, "cache", counting_cache)
            data = body_of(response)
        return data, counting_hashlib.sha256_calls, counting_cache.reads

    cold, hashed, reads = streamed_counting()
    # The first time: every stored blob checked against its SHA-256 (a blob stored twice in the
    # release only once: its CRC is known, and checked, the second time).
    assert hashed == len(stored_keys(g["version"])) > 0
    assert reads == ["get_many"]  # one round trip for the whole (small) archive
    cached, hashed, reads = streamed_counting()
    assert cached == cold
    assert hashed == 0 and reads == ["get_many"]


def test_a_stored_file_changed_after_its_crc_was_cached_stops_the_stream(client, granted):
    g = granted
    client = signed_in(client, g["accessor"])
    full = body_of(get_archive(client, g))  # every CRC-32 now cached
    row = ReleaseImage.objects.filter(version=g["version"]).select_related("blob").last()
    key = row.blob.storage_key
    original = default_storage.open(key).read()
    # Same size, other bytes (the last one: the member is wrong only at its very end).
    changed = original[:-1] + bytes([original[-1] ^ 0xFF])
    default_storage.delete(key)
    default_storage.save(key, ContentFile(changed))
    try:
        response = get_archive(client, g)
        assert response.status_code == 200
        received = []
        with pytest.raises(download_services.CorruptStoredFile):
            for piece in response.streaming_content:
                received.append(piece)
        sent = b"".join(received)
        # A truncated body: what went out is the right archive's beginning, short of the
        # changed member's last byte (its last chunk and data descriptor were held back).
        assert len(sent) < int(response["Content-Length"]) and full.startswith(sent)
        assert changed not in sent and original not in sent
    finally:
        default_storage.delete(key)
        default_storage.save(key, ContentFile(original))
    assert body_of(get_archive(client, g)) == full  # restored: the same archive again


# --- who may ------------------------------------------------------------------------------------


def test_only_the_named_accessors_of_a_live_grant_get_anything(client, granted):
    g = granted
    other_group = make_group()
    outsiders = [
        g["bystander"],
        g["group"].principal_investigator,
        other_group.principal_investigator,
    ]
    for user in outsiders:
        client.force_login(user)
        assert get_archive(client, g).status_code == 404
        assert client.get(url("download-manifest", g["grant"], g["version"])).status_code == 404
    client.force_login(g["accessor"])
    assert (
        client.get(url("download-file", g["grant"], g["version"], "nothing.txt")).status_code == 404
    )
    wrong = reverse("access_requests:download-archive", args=[g["grant"].pk, "cervix", "9.9.9"])
    assert client.get(wrong).status_code == 404
    assert DownloadLog.objects.count() == 0

    client.logout()
    anonymous = get_archive(client, g)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_an_expired_or_revoked_grant_gives_nothing(client, granted):
    g = granted
    client = signed_in(client, g["accessor"])
    assert get_archive(client, g).status_code == 200
    now = timezone.now()
    Grant.objects.filter(pk=g["grant"].pk).update(
        starts_at=now - timedelta(days=2), expires_at=now - timedelta(seconds=1)
    )
    assert get_archive(client, g).status_code == 404  # before the expiry task has run
    Grant.objects.filter(pk=g["grant"].pk).update(expires_at=now + timedelta(days=2))
    assert get_archive(client, g).status_code == 200
    grant_services.revoke_grant(g["grant"], actor=committee_member(), reason="Breach.")
    assert get_archive(client, g).status_code == 404
    assert client.get(url("download-manifest", g["grant"], g["version"])).status_code == 404


def test_the_agreement_in_force_must_be_signed_again_before_the_next_download(client, granted):
    g = granted
    client = signed_in(client, g["second"])  # named, never signed
    refused = get_archive(client, g)
    sign_url = reverse("access_requests:agreement-sign", args=[g["group"].pk])
    assert refused.status_code == 403 and sign_url in refused.content.decode()
    sign(g["group"], g["second"])
    assert get_archive(client, g).status_code == 200

    client.force_login(g["accessor"])
    new_agreement = new_agreement_version()
    assert get_archive(client, g).status_code == 403
    assert client.get(url("download-manifest", g["grant"], g["version"])).status_code == 403
    sign(g["group"], g["accessor"], new_agreement)
    response = get_archive(client, g)
    assert response.status_code == 200
    text = zipfile.ZipFile(io.BytesIO(body_of(response))).read("cervix-1.0.0/AGREEMENT.txt")
    assert b"version 2" in text and new_agreement.text.encode() in text
    assert DownloadLog.objects.count() == 2  # refusals write nothing


# --- single files -------------------------------------------------------------------------------


def test_single_files_and_the_manifest_stream_with_ranges_and_are_logged(client, granted):
    g = granted
    version = g["version"]
    client = signed_in(client, g["accessor"])
    manifest = client.get(url("download-manifest", g["grant"], version))
    assert manifest.status_code == 200
    assert body_of(manifest) == releases.read_file(version, "manifest.csv")
    image = ReleaseImage.objects.filter(version=version).first()
    response = client.get(url("download-file", g["grant"], version, image.path))
    data = body_of(response)
    assert hashlib.sha256(data).hexdigest() == image.sha256
    assert response["ETag"] == f'"{image.sha256}"'
    assert int(response["Content-Length"]) == image.bytes
    assert response["Content-Type"] == "image/jpeg"
    part = client.get(
        url("download-file", g["grant"], version, image.path), HTTP_RANGE="bytes=10-99"
    )
    assert part.status_code == 206 and body_of(part) == data[10:100]
    agreement = body_of(client.get(url("download-file", g["grant"], version, "AGREEMENT.txt")))
    assert b"Signed by:" in agreement

    rows = list(
        DownloadLog.objects.order_by("pk").values_list("kind", "path", "bytes", "range_start")
    )
    assert rows == [
        (
            DownloadKind.MANIFEST,
            "manifest.csv",
            ReleaseFile.objects.get(version=version, path="manifest.csv").bytes,
            None,
        ),
        (DownloadKind.FILE, image.path, image.bytes, None),
        (DownloadKind.FILE, image.path, 90, 10),
        (DownloadKind.FILE, "AGREEMENT.txt", len(agreement), None),
    ]


def test_on_object_storage_a_file_is_a_logged_redirect_to_a_signed_url(
    client, granted, settings, monkeypatch
):
    g = granted
    version = g["version"]
    image = ReleaseImage.objects.filter(version=version).select_related("blob").first()
    issued = []

    def fake_signed_url(key):
        issued.append(key)
        return f"https://objects.example/{key}?X-Amz-Signature=abc"

    settings.USE_S3 = True
    monkeypatch.setattr("imagebank.storage.signed_url", fake_signed_url)
    client = signed_in(client, g["accessor"])
    response = client.get(url("download-file", g["grant"], version, image.path))
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"https://objects.example/{image.blob.storage_key}?X-Amz-Signature=abc"
    )
    assert "no-store" in response["Cache-Control"]
    row = DownloadLog.objects.get()
    assert (row.kind, row.path, row.bytes) == (DownloadKind.SIGNED_URL, image.path, image.bytes)
    assert client.get(url("download-manifest", g["grant"], version)).status_code == 302

    grant_services.revoke_grant(g["grant"], actor=committee_member(), reason="Breach.")
    assert client.get(url("download-file", g["grant"], version, image.path)).status_code == 404
    assert len(issued) == 2 and DownloadLog.objects.count() == 2


# --- API tokens ---------------------------------------------------------------------------------


def test_api_tokens_download_until_the_grant_is_revoked(client, granted):
    g = granted
    key = token_for(g["accessor"])
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    listing = client.get(reverse("access_requests_api:downloads"), **auth)
    assert listing.status_code == 200
    [entry] = listing.json()
    assert (entry["grant"], entry["release"], entry["version"]) == (
        g["grant"].pk,
        "cervix",
        "1.0.0",
    )
    assert entry["archive_url"].endswith(url("download-archive", g["grant"], g["version"]))
    assert entry["manifest_url"].endswith(url("download-manifest", g["grant"], g["version"]))
    listed = reverse("access_requests_api:downloads")
    assert client.get(listed, {"release": "cervix"}, **auth).json() == [entry]
    assert client.get(listed, {"release": "other"}, **auth).json() == []
    assert client.get(listed, {"release": "not a slug"}, **auth).status_code == 400
    image = ReleaseImage.objects.filter(version=g["version"]).first()
    file_url = entry["files_url_prefix"] + image.path
    response = client.get(file_url, **auth)
    assert response.status_code == 200
    assert hashlib.sha256(body_of(response)).hexdigest() == image.sha256
    assert client.get(entry["archive_url"], **auth).status_code == 200
    assert DownloadLog.objects.filter(api_token__isnull=False).count() == 2

    assert client.get(entry["archive_url"], HTTP_AUTHORIZATION="Token ib_nope").status_code == 401
    assert client.get(reverse("access_requests_api:downloads")).status_code == 401

    grant_services.revoke_grant(g["grant"], actor=committee_member(), reason="Breach.")
    assert client.get(entry["archive_url"], **auth).status_code == 404
    assert client.get(file_url, **auth).status_code == 404
    assert client.get(reverse("access_requests_api:downloads"), **auth).json() == []


def test_a_token_of_a_user_who_has_not_signed_is_told_where_to_sign(client, granted):
    g = granted
    response = get_archive(client, g, HTTP_AUTHORIZATION=f"Token {token_for(g['second'])}")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert (
        reverse("access_requests:agreement-sign", args=[g["group"].pk]) in response.content.decode()
    )


# --- the log ------------------------------------------------------------------------------------


def test_the_log_shows_the_committee_every_row_and_an_accessor_their_own(client, granted):
    g = granted
    sign(g["group"], g["second"])
    client.force_login(g["accessor"])
    body_of(get_archive(client, g, HTTP_USER_AGENT='=HYPERLINK("http://evil")'))
    client.force_login(g["second"])
    body_of(client.get(url("download-manifest", g["grant"], g["version"])))
    log_url = reverse("access_requests:download-log", args=[g["grant"].pk])

    member = committee_member()
    with_totp(member)
    for reader, count in ((member, 2), (g["accessor"], 1), (g["second"], 1)):
        client.force_login(reader)
        page = client.get(log_url)
        assert page.status_code == 200
        assert page.content.decode().count("<tr data-kind=") == count
    client.force_login(g["accessor"])
    assert g["second"].email not in client.get(log_url).content.decode()

    for outsider in (make_group().principal_investigator,):
        client.force_login(outsider)
        assert client.get(log_url).status_code == 404

    client.force_login(member)
    export = client.get(log_url, {"format": "csv"})
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert {row["user_email"] for row in rows} == {g["accessor"].email, g["second"].email}
    archive_row = next(row for row in rows if row["kind"] == "archive")
    assert archive_row["user_agent"] == '\'=HYPERLINK("http://evil")'
