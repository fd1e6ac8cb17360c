"""A corpus of hostile input, sent through the command-line import and the API.

Each file gets a clear error naming the file, row, field or archive member; the server never fails
with an exception; and the database and storage are left exactly as they were, including a case
imported before the attack.
"""

import io
import json
import warnings
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from fixtures.synthetic_cervix import render_jpeg
from imagebank.filenames import withheld_name
from imagebank.ingest.sources import ingest_paths
from imagebank.models import Case, CaseEvent, Image, IngestRun, Subject
from tests.factories import make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

JPEG = render_jpeg("after_acetic_acid", seed=21, size=(160, 120))


def _zip(members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with (
        warnings.catch_warnings(),  # a duplicate name is the point of one of these archives
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        warnings.simplefilter("ignore", UserWarning)
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _symlink_member(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16) | 0
    return info, target.encode()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge image: a decompression bomb's opening."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _dicom(*, with_pixels: bool) -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Hostile^Patient"
    ds.PatientID = "HOSTILE-1"
    ds.Modality = "XC"
    if with_pixels:
        ds.Rows, ds.Columns = 4, 4
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "RGB"
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation, ds.PlanarConfiguration = 7, 0, 0
        ds.PixelData = b"\x80" * 48
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _xlsx(rows: list[list], *, formula_cell: str = "") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if formula_cell:
        sheet[formula_cell] = '=HYPERLINK("http://evil.example","click")'
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _iarc_zip(images_sheet: bytes) -> bytes:
    meta = _xlsx(
        [["Case Number", "CaseID", "HPV"], [1, "AAAA", "Negative"]],
    )
    return _zip(
        [
            ("bank/Cases - Images.xlsx", images_sheet),
            ("bank/Cases Meta data.xlsx", meta),
            ("bank/Case 001/AAAA1.jpg", JPEG),
        ]
    )


def _huge_sheet_xlsx() -> bytes:
    """An xlsx whose sheet XML inflates from kilobytes to 64 MB."""
    good = _xlsx([["Case Number", "File", "Sort", "Type"]])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as source,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b" " * (64 * 2**20) + b"</sheetData>")
            target.writestr(info.filename, data)
    return out.getvalue()


def _package(manifest: dict, files: list[tuple[str, bytes]]) -> bytes:
    return _zip([("manifest.json", json.dumps(manifest).encode()), *files])


def _manifest(images: list[dict]) -> dict:
    return {
        "format": "cervical-image-bank/case-package",
        "version": 1,
        "cases": [{"case_id": "H-1", "local_patient_id": "P-H1", "images": images}],
    }


# name sent, its bytes, and a fragment every error it causes must be located by
HOSTILE = {
    "truncated JPEG": ("cut.jpg", JPEG[: len(JPEG) // 2], "cut.jpg"),
    "random bytes named .jpg": ("noise.jpg", bytes(range(256)) * 40, "noise.jpg"),
    "a PDF named .png": ("report.png", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", "report.png"),
    "a decompression bomb": ("bomb.png", _png_claiming(60_000, 60_000), "bomb.png"),
    "zip-slip with ..": ("slip.zip", _zip([("../evil.jpg", JPEG)]), "evil.jpg"),
    "an absolute path": ("abs.zip", _zip([("/tmp/evil.jpg", JPEG)]), "evil.jpg"),
    "a symlink": ("link.zip", _zip([_symlink_member("a.jpg", "/etc/passwd")]), "a.jpg"),
    "a zip bomb": ("bomb.zip", _zip([("zeros.jpg", b"\0" * (8 * 2**20))]), "zeros.jpg"),
    "DICOM without pixel data": ("empty.dcm", _dicom(with_pixels=False), "empty.dcm"),
    "malformed DICOM": ("bad.dcm", b"\0" * 128 + b"DICM" + b"\xff" * 300, "bad.dcm"),
    "a spreadsheet with a formula": (
        "formula.zip",
        _iarc_zip(
            _xlsx(
                [["Case Number", "File", "Sort", "Type"], [1, "AAAA1.jpg", 1, "After acetic acid"]],
                formula_cell="D2",
            )
        ),
        "D2",
    ),
    "a spreadsheet of absurd size": ("huge.zip", _iarc_zip(_huge_sheet_xlsx()), "xlsx"),
    "a manifest naming a file outside the package": (
        "outside.zip",
        _package(
            _manifest([{"file": "../../etc/passwd", "step": "after_acetic_acid", "order": 1}]),
            [("a.jpg", JPEG)],
        ),
        "passwd",
    ),
    # Two members of one name: the second would replace the first after it was checked.
    "the same file twice": (
        "twice.zip",
        _zip([("case/a.jpg", JPEG), ("case/a.jpg", b"not the image that was checked")]),
        "a.jpg",
    ),
}


def _state(media: Path) -> tuple:
    files = sorted(
        (str(p.relative_to(media)), p.read_bytes()) for p in media.rglob("*") if p.is_file()
    )
    rows = (
        Case.objects.count(),
        Image.objects.count(),
        CaseEvent.objects.count(),
        Subject.objects.count(),
    )
    return rows, files


@pytest.fixture
def site_with_a_case(local_storage):
    site = make_site()
    user = make_contributor(site)
    good = local_storage.parent / "good.jpg"
    good.write_bytes(render_jpeg("after_lugol", seed=2, size=(160, 120)))
    report = ingest_paths([good], site=site, actor=user)
    assert report.summary()["cases_created"] == 1
    return site, user


def _located_errors(report: dict, fragment: str) -> list[dict]:
    errors = [p for p in report["problems"] if p["level"] == "error"]
    assert errors, f"no error reported: {report['problems']}"
    # A file name is located by what the file-name policy lets the report show of it (a lone
    # image's name is withheld: its stem is the patient ID, see ingest.single_image).
    fragments = {fragment.casefold(), withheld_name(fragment).casefold()}
    return [
        p
        for p in errors
        if any(
            wanted in " ".join(str(p[k]) for k in ("file", "field", "case", "message")).casefold()
            for wanted in fragments
        )
    ]


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_file_gets_a_located_error_and_changes_nothing(
    kind, site_with_a_case, local_storage, tmp_path
):
    site, user = site_with_a_case
    name, data, fragment = HOSTILE[kind]
    before = _state(local_storage)
    path = tmp_path / "sent" / name
    path.parent.mkdir()
    path.write_bytes(data)

    report = ingest_paths([path], site=site, actor=user).to_dict()

    assert _located_errors(report, fragment), report["problems"]
    assert report["summary"]["images_added"] == 0
    assert _state(local_storage) == before


# Files whose name and first bytes disagree: the API (like the import page) refuses them at the
# door with a 400 naming the file, before any import run (imagebank.ingest.accepted).
REFUSED_AT_THE_DOOR = frozenset({"random bytes named .jpg", "a PDF named .png"})


@pytest.mark.parametrize("kind", HOSTILE)
def test_the_api_answers_a_hostile_file_with_a_report_not_a_server_error(
    kind, site_with_a_case, local_storage
):
    site, user = site_with_a_case
    name, data, fragment = HOSTILE[kind]
    before = _state(local_storage)
    runs = IngestRun.objects.count()
    client = APIClient()
    client.force_authenticate(user)
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    response = client.post("/api/ingest/", {"site": site.pk, "file": upload}, format="multipart")

    if kind in REFUSED_AT_THE_DOOR:
        assert response.status_code == 400, response.content[:500]
        assert name in " ".join(response.json()["file"])
        assert IngestRun.objects.count() == runs
        assert _state(local_storage) == before
        return
    assert response.status_code == 201, response.content[:500]
    assert _located_errors(response.json()["report"], fragment)
    assert _state(local_storage) == before
    assert IngestRun.objects.get(pk=response.json()["id"]).status == IngestRun.Status.DONE


def test_an_oversized_upload_is_refused_by_the_api_and_changes_nothing(
    site_with_a_case, local_storage, settings
):
    site, user = site_with_a_case
    settings.INGEST_MAX_UPLOAD_BYTES = 1000
    before = _state(local_storage)
    client = APIClient()
    client.force_authenticate(user)
    upload = SimpleUploadedFile("big.jpg", JPEG, content_type="image/jpeg")
    response = client.post("/api/ingest/", {"site": site.pk, "file": upload}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()
    assert _state(local_storage) == before


def test_an_oversized_file_inside_a_folder_is_reported_by_name(
    site_with_a_case, local_storage, settings, tmp_path
):
    site, user = site_with_a_case
    settings.MAX_UPLOAD_BYTES = 1000
    before = _state(local_storage)
    path = tmp_path / "big.jpg"
    path.write_bytes(JPEG)
    report = ingest_paths([path], site=site, actor=user).to_dict()
    assert _located_errors(report, "big.jpg")
    assert _state(local_storage) == before


def test_a_nested_archive_is_not_opened_and_said_so(site_with_a_case, local_storage, tmp_path):
    site, user = site_with_a_case
    before = _state(local_storage)
    inner = _zip([("../evil.jpg", JPEG)])
    path = tmp_path / "outer.zip"
    path.write_bytes(_zip([("inner.zip", inner)]))
    report = ingest_paths([path], site=site, actor=user).to_dict()
    assert any(withheld_name("inner.zip") in p["file"] for p in report["problems"])
    assert _state(local_storage) == before
    assert not (tmp_path / "evil.jpg").exists()
