"""The `imagebank` command-line client against a live test server and small fake servers."""

import hashlib
import importlib.util
import io
import json
import socket
import stat
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixtures.synthetic_cervix import render_jpeg
from imagebank.client import cli
from imagebank.client.cli import EXIT_FAILURE, EXIT_OK, Uploader, main, sha256_of
from imagebank.filenames import withheld_name
from imagebank.models import ApiToken, Case, Image
from tests.factories import PASSWORD, make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.tokens import token_for
from tests.totp import current_code

FAST = ["--retries", "1", "--backoff", "0", "--quiet"]


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    # Never read or write the developer's own ~/.config/imagebank.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("IMAGEBANK_URL", "IMAGEBANK_TOKEN", "IMAGEBANK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def contributor_token(transactional_db):
    site = make_site(slug="test-clinic")
    user = make_contributor(site)
    return site, user, token_for(user)


def _jpegs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = folder / f"image-{seed}.jpg"
        path.write_bytes(render_jpeg("after_acetic_acid", seed=seed, size=(160, 120)))
        paths.append(path)
    return paths


def _iarc_folder(root: Path) -> Path:
    from openpyxl import Workbook

    folder = root / "colposcopy"
    images = Workbook()
    sheet = images.active
    sheet.append(["Case Number", "File", "Sort", "Type"])
    steps = ["After normal saline", "After acetic acid"]
    for case in (1, 2):
        for order, step in enumerate(steps, start=1):
            sheet.append([case, f"C{case}{order}.jpg", order, step])
    folder.mkdir(parents=True)
    images.save(folder / "Cases - Images.xlsx")
    meta = Workbook()
    sheet = meta.active
    sheet.append(["", "", "Colposcopic assessment", ""])
    sheet.append(["Case Number", "CaseID", "HPV status", "Age"])
    sheet.append([1, "PAT-A", "Negative", 35])
    sheet.append([2, "PAT-B", "Positive", 42])
    meta.save(folder / "Cases Meta data.xlsx")
    for case in (1, 2):
        case_folder = folder / f"Case {case:03d}"
        case_folder.mkdir()
        for order, step in enumerate(("before_acetic_acid", "after_acetic_acid"), start=1):
            data = render_jpeg(step, seed=case * 10 + order, size=(160, 120))
            (case_folder / f"C{case}{order}.jpg").write_bytes(data)
    return folder


# --- login --------------------------------------------------------------------------------------


def test_login_stores_token_privately(live_server, contributor_token, monkeypatch, capsys):
    _site, user, _token = contributor_token
    monkeypatch.setenv("IMAGEBANK_PASSWORD", PASSWORD)

    status = main(["login", "--url", live_server.url, "--email", user.email, *FAST])

    assert status == EXIT_OK, capsys.readouterr()
    path = cli.config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = json.loads(path.read_text())
    assert config["url"] == live_server.url
    # A new token of the user's, stored on the server only as its hash.
    digest = hashlib.sha256(config["token"].encode()).hexdigest()
    token = ApiToken.objects.get(key_hash=digest)
    assert token.owner == user and token.name.startswith("imagebank login on ")


def test_login_with_wrong_password_exits_2(live_server, contributor_token, monkeypatch, capsys):
    _site, user, _token = contributor_token
    monkeypatch.setattr("getpass.getpass", lambda prompt: "not-the-password")

    status = main(["login", "--url", live_server.url, "--email", user.email, *FAST])

    assert status == EXIT_FAILURE
    assert "Unable to sign in" in capsys.readouterr().err
    assert not cli.config_path().exists()


@pytest.fixture
def curator_with_totp(transactional_db):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.core.cache import cache

    cache.clear()  # allauth remembers used codes in the cache
    user = make_user_with_role(Role.CURATOR)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    yield user, secret
    cache.clear()


def _token_works(url: str, token: str) -> bool:
    import requests

    answer = requests.get(
        f"{url}/api/cases/", headers={"Authorization": f"Token {token}"}, timeout=30
    )
    return answer.status_code == 200


def test_login_with_otp_option(live_server, curator_with_totp, monkeypatch, capsys):
    user, secret = curator_with_totp
    monkeypatch.setenv("IMAGEBANK_PASSWORD", PASSWORD)
    argv = ["login", "--url", live_server.url, "--email", user.email, "--otp", current_code(secret)]

    status = main([*argv, "--token-name", "lab pc", *FAST])

    assert status == EXIT_OK, capsys.readouterr()
    token = json.loads(cli.config_path().read_text())["token"]
    assert _token_works(live_server.url, token)
    assert ApiToken.objects.get(owner=user, name="lab pc").second_factor


def test_login_asks_for_the_code_when_the_server_needs_one(
    live_server, curator_with_totp, monkeypatch, capsys
):
    user, secret = curator_with_totp
    monkeypatch.setenv("IMAGEBANK_PASSWORD", PASSWORD)
    prompts = []

    def answer(prompt):
        prompts.append(prompt)
        return current_code(secret)

    monkeypatch.setattr("getpass.getpass", answer)

    status = main(["login", "--url", live_server.url, "--email", user.email, *FAST])

    assert status == EXIT_OK, capsys.readouterr()
    assert len(prompts) == 1 and "code" in prompts[0].lower()
    assert _token_works(live_server.url, json.loads(cli.config_path().read_text())["token"])


def test_login_with_a_wrong_code_exits_2_naming_it(
    live_server, curator_with_totp, monkeypatch, capsys
):
    user, _secret = curator_with_totp
    monkeypatch.setenv("IMAGEBANK_PASSWORD", PASSWORD)
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("asked again"))

    argv = ["login", "--url", live_server.url, "--email", user.email, "--otp", "000000"]
    status = main([*argv, *FAST])

    assert status == EXIT_FAILURE
    assert "otp" in capsys.readouterr().err
    assert not cli.config_path().exists()
    assert not ApiToken.objects.filter(owner=user).exists()


def test_login_of_a_curator_without_two_factor_says_to_set_it_up(
    live_server, monkeypatch, capsys, transactional_db
):
    user = make_user_with_role(Role.CURATOR)
    monkeypatch.setenv("IMAGEBANK_PASSWORD", PASSWORD)

    status = main(["login", "--url", live_server.url, "--email", user.email, *FAST])

    assert status == EXIT_FAILURE
    assert "two-factor" in capsys.readouterr().err
    assert not cli.config_path().exists()


# --- upload against the live server -------------------------------------------------------------


def test_upload_images_by_slug_then_skip_them(live_server, contributor_token, tmp_path, capsys):
    site, _user, token = contributor_token
    files = _jpegs(tmp_path / "photos", 2)
    report = tmp_path / "report.json"
    args = ["upload", *map(str, files), "--site", "test-clinic", "--url", live_server.url]

    status = main([*args, "--token", token, "--report", str(report), *FAST])

    out = capsys.readouterr().out
    assert status == EXIT_OK, out
    assert Image.objects.filter(case__site=site).count() == 2
    assert "2 created" not in out  # one case per lone image, reported per upload
    assert "1 added" in out
    # A single image carries no metadata; its name is its patient's ID, withheld (filenames).
    assert f"WARNING file {withheld_name('image-0.jpg')}" in out
    written = json.loads(report.read_text())
    assert [u["status"] for u in written["uploads"]] == ["uploaded", "uploaded"]
    assert written["uploads"][0]["run"]["report"]["summary"]["images_added"] == 1

    # Sent again: the client asks which files the site holds and sends nothing.
    status = main([*args, "--token", token, *FAST])

    out = capsys.readouterr().out
    assert status == EXIT_OK
    assert out.count("skipped") == 2
    assert Image.objects.filter(case__site=site).count() == 2


def test_upload_with_token_from_environment(live_server, contributor_token, tmp_path, monkeypatch):
    site, _user, token = contributor_token
    monkeypatch.setenv("IMAGEBANK_URL", live_server.url)
    monkeypatch.setenv("IMAGEBANK_TOKEN", token)
    [image] = _jpegs(tmp_path, 1)

    assert main(["upload", str(image), "--site", str(site.pk), *FAST]) == EXIT_OK
    assert Image.objects.filter(case__site=site).count() == 1


def test_wrong_token_exits_2_with_a_message(live_server, contributor_token, tmp_path, capsys):
    [image] = _jpegs(tmp_path, 1)
    argv = ["upload", str(image), "--site", "test-clinic", "--url", live_server.url]

    status = main([*argv, "--token", "0" * 40, *FAST])

    assert status == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "401" in err and "Traceback" not in err
    assert Image.objects.count() == 0


def test_unknown_site_slug_exits_2(live_server, contributor_token, tmp_path, capsys):
    _site, _user, token = contributor_token
    [image] = _jpegs(tmp_path, 1)
    argv = ["upload", str(image), "--site", "elsewhere", "--url", live_server.url]

    assert main([*argv, "--token", token, *FAST]) == EXIT_FAILURE
    assert "test-clinic" in capsys.readouterr().err


def test_iarc_folder_upload_and_resume(live_server, contributor_token, tmp_path, capsys):
    if importlib.util.find_spec("imagebank.ingest.iarc") is None:
        pytest.skip("imagebank/ingest/iarc.py (the IARC reader) is not written yet")
    site, _user, token = contributor_token
    folder = _iarc_folder(tmp_path)
    argv = ["upload", str(folder), "--site", "test-clinic", "--url", live_server.url]

    status = main([*argv, "--token", token, *FAST])

    out = capsys.readouterr().out
    assert status in (0, 1), out
    added = Image.objects.filter(case__site=site).count()
    assert added == 4, out

    # A second run sends the spreadsheets and declares the images: nothing new comes in.
    assert main([*argv, "--token", token, *FAST]) == EXIT_OK
    out = capsys.readouterr().out
    assert "4 of 4 images are already in the bank" in out
    assert "0 created, 2 unchanged" in out
    assert Image.objects.filter(case__site=site).count() == added
    assert set(Case.objects.filter(site=site).values_list("source_reference", flat=True)) == {
        "Case 001",
        "Case 002",
    }


def _send_through_the_web_form(site, user, folder: Path, local_patient_id: str) -> Case:
    """Case 002's images, sent earlier through the new-case form (services, as the view does)."""
    from imagebank.services.cases import create_case
    from imagebank.services.images import add_image

    case = create_case(site=site, actor=user, local_patient_id=local_patient_id)
    for path in sorted((folder / "Case 002").iterdir()):
        with path.open("rb") as handle:
            add_image(case=case, actor=user, fileobj=handle, filename=path.name, step="other")
    return case


def test_resume_after_a_web_form_upload_links_the_same_patients_case(
    live_server, contributor_token, tmp_path, capsys
):
    """The failure the issue found: the client left out Case 002's folder because its images were
    in the bank (sent through the web form), the server refused the spreadsheet's case as having
    no folder, and a re-run said everything was already in the bank."""
    site, user, token = contributor_token
    folder = _iarc_folder(tmp_path)
    earlier = _send_through_the_web_form(site, user, folder, local_patient_id="PAT-B")
    argv = ["upload", str(folder), "--site", "test-clinic", "--url", live_server.url]

    assert main([*argv, "--token", token, *FAST]) == EXIT_OK
    out = capsys.readouterr().out
    assert "1 created" in out and "errors" in out and "0 errors" in out

    earlier.refresh_from_db()
    assert earlier.source_reference == "Case 002"
    assert earlier.hpv_result == "positive"  # filled from the spreadsheet
    assert Case.objects.filter(site=site).count() == 2
    assert earlier.images.count() == 2  # its images were not stored twice

    assert main([*argv, "--token", token, *FAST]) == EXIT_OK
    assert "0 created, 2 unchanged" in capsys.readouterr().out


def test_resume_never_reports_another_patients_images_as_this_case_already_in_the_bank(
    live_server, contributor_token, tmp_path, capsys
):
    site, user, token = contributor_token
    folder = _iarc_folder(tmp_path)
    _send_through_the_web_form(site, user, folder, local_patient_id="someone else")
    argv = ["upload", str(folder), "--site", "test-clinic", "--url", live_server.url]

    for _run in range(2):  # the same answer on every run: it is a conflict, not "done"
        assert main([*argv, "--token", token, *FAST]) == cli.EXIT_REPORTED_ERRORS
        out = capsys.readouterr().out
        assert "another case" in out
        assert "2 unchanged" not in out
    assert Case.objects.filter(site=site, source_reference="Case 002").count() == 0


# --- what is sent, without a server -------------------------------------------------------------


class RecordingClient:
    """Stands in for BankClient: knows some hashes and keeps a copy of what it is sent."""

    def __init__(self, known: set[str]):
        self.known_hashes = known
        self.sent: list[list[str]] = []
        self.declarations: list[dict] = []

    def known(self, site, hashes):
        return {h for h in hashes if h in self.known_hashes}

    def ingest(self, site, path, on_progress=None):
        with zipfile.ZipFile(path) as archive:
            names = sorted(archive.namelist())
            self.sent.append(names)
            for name in names:
                if name.endswith("/.imagebank-known.json"):
                    self.declarations.append(json.loads(archive.read(name)))
        return {"id": 1, "status": "done", "report": {"summary": {"errors": 0}, "problems": []}}


def test_iarc_folder_resumes_sending_every_case_and_declaring_what_the_bank_holds(tmp_path):
    folder = _iarc_folder(tmp_path)
    known = {sha256_of(p) for p in (folder / "Case 001").iterdir()}
    known.add(sha256_of(folder / "Case 002" / "C21.jpg"))  # half of case 2 is in already
    client = RecordingClient(known)

    outcome = Uploader(client, 1, True, tmp_path).upload(folder)

    assert outcome.status == "uploaded"
    assert client.sent == [
        [
            "colposcopy/.imagebank-known.json",
            "colposcopy/Case 002/C22.jpg",
            "colposcopy/Cases - Images.xlsx",
            "colposcopy/Cases Meta data.xlsx",
        ]
    ]
    # No case is left out: what the bank holds is declared, by path and hash.
    assert client.declarations == [
        {
            "version": 1,
            "files": {
                "Case 001/C11.jpg": sha256_of(folder / "Case 001" / "C11.jpg"),
                "Case 001/C12.jpg": sha256_of(folder / "Case 001" / "C12.jpg"),
                "Case 002/C21.jpg": sha256_of(folder / "Case 002" / "C21.jpg"),
            },
        }
    ]
    assert not list(tmp_path.glob("*.zip"))  # the temporary ZIP is gone


def test_an_iarc_folder_entirely_in_the_bank_still_goes_so_the_server_decides(tmp_path):
    folder = _iarc_folder(tmp_path)
    client = RecordingClient({sha256_of(p) for p in folder.glob("Case */*.jpg")})

    outcome = Uploader(client, 1, True, tmp_path).upload(folder)

    assert outcome.status == "uploaded"
    assert client.sent == [
        [
            "colposcopy/.imagebank-known.json",
            "colposcopy/Cases - Images.xlsx",
            "colposcopy/Cases Meta data.xlsx",
        ]
    ]
    assert len(client.declarations[0]["files"]) == 4


def test_case_package_goes_with_its_manifest_and_declares_the_images_the_bank_holds(tmp_path):
    package = tmp_path / "package"
    images = _jpegs(package / "images", 2)
    (package / "manifest.json").write_text("{}")

    client = RecordingClient({sha256_of(images[0])})
    assert Uploader(client, 1, True, tmp_path).upload(package).status == "uploaded"
    assert client.sent == [
        ["package/.imagebank-known.json", "package/images/image-1.jpg", "package/manifest.json"]
    ]
    assert client.declarations == [
        {"version": 1, "files": {"images/image-0.jpg": sha256_of(images[0])}}
    ]

    client = RecordingClient(set())
    assert Uploader(client, 1, True, tmp_path).upload(package).status == "uploaded"
    assert client.sent == [
        ["package/images/image-0.jpg", "package/images/image-1.jpg", "package/manifest.json"]
    ]
    assert client.declarations == []


def test_the_client_and_the_server_name_the_declaration_alike():
    from imagebank.ingest.known_files import KNOWN_FILES_NAME

    assert cli.KNOWN_FILES_NAME == KNOWN_FILES_NAME


def test_folder_of_unknown_kind_fails_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IMAGEBANK_TOKEN", "x")
    _jpegs(tmp_path / "loose", 1)
    argv = ["upload", str(tmp_path / "loose"), "--site", "1", "--url", "http://127.0.0.1:9"]

    assert main([*argv, *FAST]) == EXIT_FAILURE
    assert "Not an IARC folder" in capsys.readouterr().err


# --- retries and connection failures ------------------------------------------------------------


class FlakyIngest(BaseHTTPRequestHandler):
    """Answers 503 to the first two uploads, then 201 with a report."""

    attempts: list[bytes] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/api/ingest/known/":
            self._answer(200, {"known": []})
            return
        type(self).attempts.append(body)
        if len(type(self).attempts) <= 2:
            self._answer(503, {"detail": "busy"})
            return
        summary = {"images_added": 1, "errors": 0, "warnings": 0}
        self._answer(201, {"id": 7, "status": "done", "report": {"summary": summary}})


@pytest.fixture
def flaky_server():
    FlakyIngest.attempts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyIngest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_upload_is_retried_after_503(flaky_server, tmp_path, capsys):
    [image] = _jpegs(tmp_path, 1)
    argv = ["upload", str(image), "--site", "1", "--url", flaky_server, "--token", "t"]

    status = main([*argv, "--retries", "3", "--backoff", "0", "--quiet"])

    assert status == EXIT_OK, capsys.readouterr()
    assert len(FlakyIngest.attempts) == 3
    # Each attempt carried the whole file: the body was rewound before being sent again.
    for body in FlakyIngest.attempts:
        assert image.read_bytes() in body
        assert b'name="site"\r\n\r\n1\r\n' in body
    assert "import #7" in capsys.readouterr().out


def test_upload_gives_up_after_the_retries(flaky_server, tmp_path, capsys):
    [image] = _jpegs(tmp_path, 1)
    argv = ["upload", str(image), "--site", "1", "--url", flaky_server, "--token", "t"]

    assert main([*argv, *FAST]) == EXIT_FAILURE
    assert len(FlakyIngest.attempts) == 2
    err = capsys.readouterr().err
    assert "503" in err and "Traceback" not in err


def test_unreachable_server_exits_2_quickly(tmp_path, capsys):
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    [image] = _jpegs(tmp_path, 1)
    argv = ["upload", str(image), "--site", "1", "--url", f"http://127.0.0.1:{port}"]

    started = time.monotonic()
    status = main([*argv, "--token", "t", *FAST])

    assert status == EXIT_FAILURE
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "Cannot connect" in err and "Traceback" not in err


def test_usage_error_exits_2(capsys):
    assert main(["upload"]) == EXIT_FAILURE
    assert main(["upload", "x", "--site", "1"]) == EXIT_FAILURE  # no URL anywhere
    assert "IMAGEBANK_URL" in capsys.readouterr().err


def test_case_package_dicom_file_and_dicom_folder_go_in_and_then_are_skipped(
    live_server, contributor_token, tmp_path, capsys
):
    from imagebank.ingest.package_template import template_zip_bytes
    from tests.imagebank.ingest.dicom_samples import jpeg_dicom

    site, _user, token = contributor_token
    with zipfile.ZipFile(io.BytesIO(template_zip_bytes())) as template:
        template.extractall(tmp_path / "unpacked")
    [package] = (tmp_path / "unpacked").iterdir()
    scan = tmp_path / "scan.dcm"
    scan.write_bytes(jpeg_dicom(PatientAge="033Y", seed=7))
    study = tmp_path / "study"
    study.mkdir()
    for instance in (1, 2):
        (study / f"IM{instance}").write_bytes(
            jpeg_dicom(study_uid="1.2.3.4.5.6", instance=instance, seed=10 + instance)
        )
    args = ["upload", str(package), str(scan), str(study), "--site", "test-clinic"]
    args += ["--url", live_server.url, "--token", token, *FAST]

    status = main(args)

    out = capsys.readouterr().out
    assert status == EXIT_OK, out
    images = Image.objects.filter(case__site=site)
    assert images.filter(source_format="dicom").count() == 3
    assert images.filter(source_format="jpeg").count() == 3  # the template's three images
    assert images.get(original_filename="scan.dcm").case.age_at_exam == 33

    status = main(args)

    out = capsys.readouterr().out
    assert status == EXIT_OK
    # The DICOM file and folder are skipped; the package goes, its images declared, not sent.
    assert out.count("skipped") == 2
    assert "3 of 3 images are already in the bank: declared, not sent again" in out
    assert images.count() == 6
