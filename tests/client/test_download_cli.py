"""`imagebank releases` and `imagebank download` against a live test server holding a real granted
release (built and published through curation's services, as tests/access_requests/
test_downloads.py does), and against a small fake server for answers the bank never gives.

What must hold: the list shows what the user may download and --json is the API's list; a
download verifies every file against the manifest (the release's own files against the API
list); a second run asks for nothing; an interrupted part and a truncated file are completed with
a byte range; a file that does not match is named and the run exits 1; a hostile manifest (a path
climbing out, an absolute path, a path given twice) is refused row by row and nothing lands
outside the folder; a revoked grant, an unsigned agreement or a bad token exit 2 saying why."""

import csv
import hashlib
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from access_requests.models import DownloadLog
from access_requests.services import grants as grant_services
from curation.models import ReleaseFile, ReleaseImage
from imagebank.client import download
from imagebank.client.cli import EXIT_FAILURE, EXIT_OK, EXIT_REPORTED_ERRORS, main
from tests.access_requests import test_downloads
from tests.access_requests.test_requests import committee_member
from tests.curation.test_release_build import bank, curator  # noqa: F401 (fixtures of granted)
from tests.tokens import token_for

granted = test_downloads.granted  # the fixture: a published release version granted
RELEASE_FILES = test_downloads.RELEASE_FILES

# Local storage even in a run configured for S3: the tests read and tamper with stored files.
pytestmark = pytest.mark.usefixtures("local_storage")


def live(test):
    """A test on the live server: transactional, its flush lifting the guards of published
    releases, and the rows the data migrations add (label definitions, the default agreement)
    put back before it (published_releases_live)."""
    test = pytest.mark.usefixtures("published_releases_live")(test)
    return pytest.mark.django_db(transaction=True)(test)


FAST = ["--retries", "1", "--backoff", "0", "--quiet"]


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    # Never read or write the developer's own ~/.config/imagebank.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("IMAGEBANK_URL", "IMAGEBANK_TOKEN", "IMAGEBANK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_rows(out: Path) -> list[dict]:
    with (out / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def every_file(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def run_download(server_url: str, token: str, out: Path, *extra: str) -> int:
    argv = ["download", "cervix@1.0.0", "--out", str(out), "--url", server_url]
    return main([*argv, "--token", token, *FAST, *extra])


# --- releases -----------------------------------------------------------------------------------


@live
def test_releases_lists_what_the_user_may_download_and_json_is_the_api_list(
    live_server, granted, capsys
):
    g = granted
    token = token_for(g["accessor"])
    argv = ["releases", "--url", live_server.url, "--token", token, *FAST]

    assert main(argv) == EXIT_OK
    out = capsys.readouterr().out
    assert "cervix@1.0.0" in out and f"grant #{g['grant'].pk}" in out
    assert f"{g['version'].image_count} images" in out and "expires 20" in out

    assert main([*argv, "--json"]) == EXIT_OK
    [entry] = json.loads(capsys.readouterr().out)
    assert set(entry) == {
        "grant",
        "release",
        "version",
        "archive_url",
        "manifest_url",
        "files_url_prefix",
        "expires_at",
        "image_count",
        "files",
    }
    assert (entry["grant"], entry["release"], entry["version"]) == (
        g["grant"].pk,
        "cervix",
        "1.0.0",
    )
    assert entry["image_count"] == g["version"].image_count == 75
    files = {f["path"]: f for f in entry["files"]}
    assert set(files) == RELEASE_FILES | {"AGREEMENT.txt"}
    for row in ReleaseFile.objects.filter(version=g["version"]):
        assert (files[row.path]["sha256"], files[row.path]["bytes"]) == (row.sha256, row.bytes)

    assert main([*argv, "--json", "--release", "other"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == []

    # The second accessor has not signed: no AGREEMENT.txt to verify (a download says to sign).
    second = ["releases", "--url", live_server.url, "--token", token_for(g["second"]), "--json"]
    assert main(second) == EXIT_OK
    [unsigned] = json.loads(capsys.readouterr().out)
    assert {f["path"] for f in unsigned["files"]} == RELEASE_FILES

    # Not signed in: told to log in.
    assert main(["releases", "--url", live_server.url, *FAST]) == EXIT_FAILURE
    assert "imagebank login" in capsys.readouterr().err


@pytest.mark.django_db
def test_the_list_costs_a_query_per_version_not_per_file(
    client, granted, django_assert_max_num_queries
):
    g = granted
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(g['accessor'])}"}
    with django_assert_max_num_queries(16):
        listing = client.get(reverse("access_requests_api:downloads"), **auth)
    assert listing.status_code == 200 and len(listing.json()[0]["files"]) == 6


# --- a whole download, then resumed ones ----------------------------------------------------------


@live
def test_a_download_verifies_every_file_and_a_second_run_fetches_nothing(
    live_server, granted, tmp_path, capsys
):
    g = granted
    token = token_for(g["accessor"])
    out = tmp_path / "downloads" / "out"

    status = run_download(live_server.url, token, out, "--jobs", "4")

    captured = capsys.readouterr()
    assert status == EXIT_OK, captured.err
    rows = manifest_rows(out)
    assert len(rows) == g["version"].image_count
    for row in rows:
        data = (out / row["path"]).read_bytes()
        assert (sha256(data), len(data)) == (row["sha256"], int(row["bytes"])), row["path"]
    for release_file in ReleaseFile.objects.filter(version=g["version"]):
        assert sha256((out / release_file.path).read_bytes()) == release_file.sha256
    assert b"Signed by:" in (out / "AGREEMENT.txt").read_bytes()
    expected = {row["path"] for row in rows} | RELEASE_FILES | {"AGREEMENT.txt"}
    assert every_file(out) == expected  # no .part left, nothing else
    assert every_file(out.parent) == {f"out/{p}" for p in expected}  # nothing outside
    fetched = DownloadLog.objects.count()
    assert fetched == len(expected)
    assert DownloadLog.objects.filter(api_token__isnull=False).count() == fetched
    assert f"{len(expected)} downloaded, 0 already here" in captured.out

    # Again: every file is here and verified by its SHA-256; nothing is asked for.
    assert run_download(live_server.url, token, out) == EXIT_OK
    assert f"0 downloaded, {len(expected)} already here and verified" in capsys.readouterr().out
    assert DownloadLog.objects.count() == fetched


@live
def test_an_interrupted_download_resumes_with_byte_ranges(live_server, granted, tmp_path, capsys):
    g = granted
    token = token_for(g["accessor"])
    out = tmp_path / "out"
    assert run_download(live_server.url, token, out) == EXIT_OK
    rows = manifest_rows(out)
    good = {row["path"]: (out / row["path"]).read_bytes() for row in rows[:4]}
    parted, truncated, garbled, flipped = list(good)
    # A part cut off half way, its final file not there yet.
    (out / parted).unlink()
    Path(f"{out / parted}.part").write_bytes(good[parted][: len(good[parted]) // 2])
    # A final file cut short (a copy interrupted, a disk filled).
    (out / truncated).write_bytes(good[truncated][:1000])
    # A part whose bytes are wrong: resumed, found wrong, fetched again whole.
    (out / garbled).unlink()
    Path(f"{out / garbled}.part").write_bytes(b"\0" * 500)
    # A final file of the right size with one byte changed: fetched again whole.
    (out / flipped).write_bytes(bytes([good[flipped][0] ^ 1]) + good[flipped][1:])
    before = DownloadLog.objects.count()

    status = run_download(live_server.url, token, out, "--jobs", "2")

    captured = capsys.readouterr()
    assert status == EXIT_OK, captured.err
    assert "4 downloaded" in captured.out
    for path, data in good.items():
        assert (out / path).read_bytes() == data, path
    assert not list(out.rglob("*.part"))
    new = DownloadLog.objects.filter(pk__gt=DownloadLog.objects.order_by("pk")[before - 1].pk)
    requests_made = {(row.path, row.range_start) for row in new}
    assert requests_made == {
        (parted, len(good[parted]) // 2),
        (truncated, 1000),
        (garbled, 500),
        (garbled, None),
        (flipped, None),
    }


# --- what does not match ------------------------------------------------------------------------


@live
def test_a_stored_file_that_does_not_match_the_manifest_is_named_and_exits_1(
    live_server, granted, tmp_path, capsys
):
    g = granted
    row = ReleaseImage.objects.filter(version=g["version"]).select_related("blob").last()
    key = row.blob.storage_key
    original = default_storage.open(key).read()
    default_storage.delete(key)
    default_storage.save(key, ContentFile(bytes([original[0] ^ 1]) + original[1:]))
    token = token_for(g["accessor"])
    out = tmp_path / "out"
    try:
        status = run_download(live_server.url, token, out)
    finally:  # restored, whatever happened
        default_storage.delete(key)
        default_storage.save(key, ContentFile(original))

    captured = capsys.readouterr()
    assert status == EXIT_REPORTED_ERRORS
    problems = [line for line in captured.err.splitlines() if line.startswith("images/")]
    # The bank stops a stream whose bytes do not match: the client says so, naming the file.
    # (The test server answers 500: the file is one chunk, refused before a byte went.)
    assert problems == [f"{row.path}: not downloaded: HTTP 500 (after 2 tries)"]
    assert "1 files missing, corrupt or refused" in captured.err
    assert not (out / row.path).exists()  # never under its final name
    other = ReleaseImage.objects.filter(version=g["version"]).exclude(pk=row.pk).first()
    assert sha256((out / other.path).read_bytes()) == other.sha256

    # Repaired on the server: the next run completes it and nothing else.
    assert run_download(live_server.url, token, out) == EXIT_OK
    assert sha256((out / row.path).read_bytes()) == row.sha256
    assert "1 downloaded" in capsys.readouterr().out


# --- refusals -----------------------------------------------------------------------------------


@live
def test_a_revoked_grant_an_unsigned_agreement_and_a_bad_token_exit_2_saying_why(
    live_server, granted, tmp_path, capsys
):
    g = granted
    out = tmp_path / "out"

    # Named by the grant, but the agreement in force is not signed: the server's text says where.
    assert run_download(live_server.url, token_for(g["second"]), out) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "Sign the data use agreement" in err
    assert reverse("access_requests:agreement-sign", args=[g["group"].pk]) in err

    assert run_download(live_server.url, "ib_not-a-token", out) == EXIT_FAILURE
    assert "401" in capsys.readouterr().err

    token = token_for(g["accessor"])
    other = str(g["grant"].pk + 1000)
    assert run_download(live_server.url, token, out, "--grant", other) == EXIT_FAILURE
    assert f"Grant #{other} does not give you cervix@1.0.0" in capsys.readouterr().err

    grant_services.revoke_grant(g["grant"], actor=committee_member(), reason="Breach.")
    assert run_download(live_server.url, token, out) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "No grant of yours gives cervix@1.0.0 now" in err and "Traceback" not in err
    assert not every_file(out) - {"AGREEMENT.txt"}  # nothing of the release came


def test_usage_errors_exit_2(capsys):
    assert main(["download", "cervix", "--out", "x", "--url", "http://x", "--token", "t"]) == 2
    assert "SLUG@VERSION" in capsys.readouterr().err
    assert main(["download", "cervix@1.0.0", "--out", "x", "--jobs", "0"]) == EXIT_FAILURE
    assert main(["download", "cervix@1.0.0"]) == EXIT_FAILURE  # no --out


# --- a fake server, for answers the bank never gives --------------------------------------------


class FakeBank(BaseHTTPRequestHandler):
    """Serves one release version: `files` (the release's own, listed with their checksums)
    and `served` (what each file URL answers); records every file request with its Range."""

    files: dict[str, bytes] = {}
    served: dict[str, bytes] = {}
    listed: list[dict] | None = None
    failures: dict[str, list[int]] = {}  # path: statuses to answer first
    requests: list[tuple[str, str | None]] = []

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        cls = type(self)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path.startswith("/api/access/downloads/"):
            entry = {
                "grant": 1,
                "release": "cervix",
                "version": "1.0.0",
                "archive_url": f"{base}/archive",
                "manifest_url": f"{base}/files/manifest.csv",
                "files_url_prefix": f"{base}/files/",
                "expires_at": "2099-01-01T00:00:00Z",
                "image_count": 1,
                "files": cls.listed
                if cls.listed is not None
                else [
                    {"path": path, "sha256": sha256(data), "bytes": len(data)}
                    for path, data in cls.files.items()
                ],
            }
            self._send(200, json.dumps([entry]).encode(), Content_Type="application/json")
            return
        path = unquote(self.path.removeprefix("/files/"))
        cls.requests.append((path, self.headers.get("Range")))
        pending = cls.failures.get(path)
        if pending:
            self._send(pending.pop(0), b"busy", Retry_After="0")
            return
        data = cls.served.get(path, cls.files.get(path))
        if data is None:
            self._send(404, b"no")
            return
        self._send(200, data, ETag=f'"{sha256(data)}"')  # ranges ignored: the whole file


@pytest.fixture
def fake_bank():
    FakeBank.files, FakeBank.served, FakeBank.listed = {}, {}, None
    FakeBank.failures, FakeBank.requests = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBank)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def a_manifest(rows: list[tuple[str, str, object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image_id", "path", "sha256", "bytes", "split"])
    for number, (path, digest, size) in enumerate(rows):
        writer.writerow([f"img-{number}", path, digest, size, "train"])
    return buffer.getvalue().encode()


def test_a_hostile_manifest_is_refused_row_by_row_and_nothing_lands_outside(
    fake_bank, tmp_path, capsys
):
    good = b"a real image"
    other = b"another image"
    rows = [
        ("images/ok.jpg", sha256(good), len(good)),
        ("../escape.jpg", sha256(good), len(good)),
        ("/tmp/absolute.jpg", sha256(good), len(good)),
        ("images/twice.jpg", sha256(good), len(good)),
        ("images/twice.jpg", sha256(other), len(other)),
        ("C:/drive.jpg", sha256(good), len(good)),
        ("images\\back.jpg", sha256(good), len(good)),
        ("images/./dot.jpg", sha256(good), len(good)),
        ("images/nul\0.jpg", sha256(good), len(good)),
        ("images/badhash.jpg", "not-a-hash", len(good)),
        ("images/badsize.jpg", sha256(good), "-1"),
        ("manifest.csv", sha256(good), len(good)),  # a release file's path
    ]
    FakeBank.files = {"manifest.csv": a_manifest(rows), "LICENSE.txt": b"licence"}
    FakeBank.served = {path: good for path, _digest, _size in rows if path != "manifest.csv"}
    root = tmp_path / "root"
    out = root / "deep" / "out"

    status = main(
        ["download", "cervix@1.0.0", "--out", str(out), "--url", fake_bank, "--token", "t", *FAST]
    )

    err = capsys.readouterr().err
    assert status == EXIT_REPORTED_ERRORS
    refusals = [line for line in err.splitlines() if ": refused: " in line]
    assert len(refusals) == len(rows) - 1, err  # every row but the good one, each named
    for line in (
        "manifest.csv line 3 (../escape.jpg): refused: the path climbs out with '..'",
        "manifest.csv line 4 (/tmp/absolute.jpg): refused: the path is absolute",
        "manifest.csv line 5 (images/twice.jpg): refused: the same path as manifest.csv line 6",
        "manifest.csv line 6 (images/twice.jpg): refused: the same path as manifest.csv line 5",
    ):
        assert line in err, line
    assert "backslash" in err and "drive letter" in err and "NUL" in err
    assert "not 64 hexadecimal digits" in err and "whole number" in err
    assert "manifest.csv line 13 (manifest.csv): refused: the same path as a release file" in err
    assert every_file(out) == {"manifest.csv", "LICENSE.txt", "images/ok.jpg"}
    assert every_file(root) == {f"deep/out/{p}" for p in every_file(out)}
    assert not (tmp_path / "escape.jpg").exists() and not (root / "deep" / "escape.jpg").exists()
    assert {path for path, _range in FakeBank.requests} == {
        "manifest.csv",
        "LICENSE.txt",
        "images/ok.jpg",
    }


def test_a_link_in_the_folder_cannot_lead_a_file_outside(fake_bank, tmp_path, capsys):
    data = b"image bytes"
    FakeBank.files = {"manifest.csv": a_manifest([("images/x.jpg", sha256(data), len(data))])}
    FakeBank.served = {"images/x.jpg": data}
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "images", target_is_directory=True)

    status = main(
        ["download", "cervix@1.0.0", "--out", str(out), "--url", fake_bank, "--token", "t", *FAST]
    )

    assert status == EXIT_REPORTED_ERRORS
    assert "images/x.jpg): refused: the path leads outside the folder" in capsys.readouterr().err
    assert not list(elsewhere.iterdir())


def test_wrong_bytes_from_the_server_are_named_with_both_checksums(fake_bank, tmp_path, capsys):
    data, wrong = b"the image the manifest lists", b"something else entirely, same?"
    wrong = wrong[: len(data)]
    FakeBank.files = {"manifest.csv": a_manifest([("images/x.jpg", sha256(data), len(data))])}
    FakeBank.served = {"images/x.jpg": wrong}
    out = tmp_path / "out"

    status = main(
        ["download", "cervix@1.0.0", "--out", str(out), "--url", fake_bank, "--token", "t", *FAST]
    )

    err = capsys.readouterr().err
    assert status == EXIT_REPORTED_ERRORS
    assert f"images/x.jpg: SHA-256 mismatch (expected {sha256(data)}, got {sha256(wrong)})" in err
    assert [path for path, _r in FakeBank.requests].count("images/x.jpg") == 2  # retried once
    assert not (out / "images" / "x.jpg").exists() and not list(out.rglob("*.part"))

    # More bytes than the manifest says: never stored beyond the size, named.
    FakeBank.served = {"images/x.jpg": data + b"and more"}
    assert (
        main(
            [
                "download",
                "cervix@1.0.0",
                "--out",
                str(out),
                "--url",
                fake_bank,
                "--token",
                "t",
                *FAST,
            ]
        )
        == 1
    )
    assert "images/x.jpg: size mismatch" in capsys.readouterr().err


def test_busy_answers_are_retried_and_a_whole_answer_to_a_range_starts_again(
    fake_bank, tmp_path, capsys
):
    data = b"0123456789" * 50
    FakeBank.files = {"manifest.csv": a_manifest([("images/x.jpg", sha256(data), len(data))])}
    FakeBank.served = {"images/x.jpg": data}
    FakeBank.failures = {"images/x.jpg": [503, 429, 500]}
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (out / "images" / "x.jpg.part").write_bytes(data[:100])
    argv = ["download", "cervix@1.0.0", "--out", str(out), "--url", fake_bank, "--token", "t"]

    assert main([*argv, "--retries", "3", "--backoff", "0", "--quiet"]) == EXIT_OK, (
        capsys.readouterr()
    )
    assert (out / "images" / "x.jpg").read_bytes() == data
    image_requests = [r for r in FakeBank.requests if r[0] == "images/x.jpg"]
    # Each asked from byte 100 on; the fake answers the whole file (200), written from the start.
    assert image_requests == [("images/x.jpg", "bytes=100-")] * 4


def test_a_path_is_quoted_in_its_url(fake_bank, tmp_path, capsys):
    data = b"image"
    path = "images/ü é#1?.jpg"
    FakeBank.files = {"manifest.csv": a_manifest([(path, sha256(data), len(data))])}
    FakeBank.served = {path: data}
    argv = ["download", "cervix@1.0.0", "--out", str(tmp_path / "o"), "--url", fake_bank]

    assert main([*argv, "--token", "t", *FAST]) == EXIT_OK, capsys.readouterr().err
    assert (tmp_path / "o" / path).read_bytes() == data


def test_a_server_out_of_reach_stops_the_run_with_exit_2(tmp_path, capsys):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["download", "cervix@1.0.0", "--out", str(tmp_path / "o"), "--token", "t"]
    assert main([*argv, "--url", f"http://127.0.0.1:{port}", *FAST]) == EXIT_FAILURE
    assert "Cannot connect" in capsys.readouterr().err


# --- the path checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("../x.jpg", "'..'"),
        ("images/../../x.jpg", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/x.jpg", "drive letter"),
        ("c:x.jpg", "drive letter"),
        ("images\\x.jpg", "backslash"),
        ("images//x.jpg", "not normalised"),
        ("./x.jpg", "not normalised"),
        ("images/", "not normalised"),
        ("x\0.jpg", "NUL"),
        ("x\n.jpg", "control character"),
        ("images/x.jpg.part", ".part"),
    ],
)
def test_unsafe_paths_are_refused(path, reason):
    with pytest.raises(download.UnsafePath, match=reason.replace(".", r"\.")):
        download.check_release_path(path)


@pytest.mark.parametrize("path", ["images/train/a/b.jpg", "x.jpg", "images/ü é.jpg", "a..b.jpg"])
def test_plain_relative_paths_are_accepted(path, tmp_path):
    assert download.check_release_path(path) == path
    assert download.target_in(tmp_path.resolve(), path) == tmp_path.resolve() / path


def test_the_grant_expiring_last_is_chosen_unless_one_is_named():
    entries = [
        {"grant": 1, "release": "cervix", "version": "1.0.0", "expires_at": "2030-01-01T00:00:00Z"},
        {
            "grant": 2,
            "release": "cervix",
            "version": "1.0.0",
            "expires_at": "2031-01-01T00:00:00+01:00",
        },
        {"grant": 3, "release": "cervix", "version": "2.0.0", "expires_at": "2040-01-01T00:00:00Z"},
    ]
    assert download.choose_entry(entries, "cervix", "1.0.0", None)["grant"] == 2
    assert download.choose_entry(entries, "cervix", "1.0.0", 1)["grant"] == 1
    with pytest.raises(LookupError, match="these do: #1, #2"):
        download.choose_entry(entries, "cervix", "1.0.0", 3)
