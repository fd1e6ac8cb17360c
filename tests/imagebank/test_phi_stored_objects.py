"""Nothing identifying in any stored object: every door, every kind of metadata, every object.

Images carrying a distinct needle in every place metadata hides (EXIF text, camera serial, GPS,
XMP, IPTC, JPEG comment; PNG tEXt, zTXt, iTXt, eXIf, tIME; TIFF tags; DICOM patient attributes and
the EXIF of a wrapped JPEG frame), under file names that carry a patient's ID, are sent through
every door: the upload service and its processing task (what the new-case form and the case page
call), the API, a case package ZIP queued from the import page, the command line's import of an
IARC folder, a DICOM folder and a lone image, and the API import. Then every object in storage —
originals, previews, thumbnails, whatever else is there — is read byte by byte and parsed (PNG text
chunks decompressed, EXIF, TIFF tags and DICOM headers listed), the whole database is dumped, and
no needle may be found.

Needles have letters past "f", so they cannot turn up by chance in a hash or a timestamp.
"""

import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook
from PIL import Image as PILImage
from PIL import ImageCms, TiffImagePlugin
from PIL.PngImagePlugin import PngInfo
from rest_framework.test import APIClient

from fixtures.synthetic_cervix import render
from imagebank.filenames import withheld_name
from imagebank.imaging import metadata_guard
from imagebank.imaging import processing as image_processing
from imagebank.ingest import runs as ingest_services
from imagebank.models import Image, IngestRun
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.tasks import process_image
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.imagebank.ingest.dicom_samples import jpeg_dicom
from tests.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
TIME_NEEDLE = "2031:07:19 08:09:10"  # a date no test writes: EXIF and TIFF date-times
PNG_TIME = (2031, 7, 19, 8, 9, 10)
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


class Needles:
    """Distinct values to plant, one per place and door, all kept to find them again."""

    def __init__(self) -> None:
        self.planted: dict[str, str] = {}

    def __call__(self, door: str, place: str) -> str:
        value = f"zwq{door}{place}"[:16]  # DICOM short strings (SH) hold 16 characters
        assert value not in self.planted, value
        self.planted[value] = f"{door}: {place}"
        return value


def picture(seed: int = 0) -> PILImage.Image:
    return render("after_acetic_acid", seed=seed, size=(160, 120)).convert("RGB")


def app_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def camera_jpeg(needle, door: str, seed: int = 0) -> bytes:
    exif = PILImage.Exif()
    exif[0x013B] = needle(door, "artist")  # Artist
    exif[0x010E] = needle(door, "descr")  # ImageDescription
    exif[0x0112] = 6  # Orientation: the one thing that stays
    exif[0x0132] = TIME_NEEDLE  # DateTime
    details = exif.get_ifd(0x8769)
    details[0x9286] = b"ASCII\x00\x00\x00" + needle(door, "usercom").encode()  # UserComment
    details[0xA431] = needle(door, "serial")  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (0.0, 5.0, 17.25)  # GPSLatitudeRef, GPSLatitude
    gps[0x12] = needle(door, "gpsdatum")  # GPSMapDatum
    buffer = io.BytesIO()
    picture(seed).save(
        buffer,
        "JPEG",
        quality=90,
        exif=exif,
        icc_profile=ICC,
        xmp=f"<x:xmpmeta><dc:creator>{needle(door, 'xmp')}</dc:creator></x:xmpmeta>".encode(),
        comment=needle(door, "comment").encode(),
    )
    data = buffer.getvalue()
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x20" + needle(door, "iptc").encode()
    return data[:2] + app_segment(0xED, iptc) + data[2:]


def tagged_png(needle, door: str, seed: int = 0) -> bytes:
    info = PngInfo()
    info.add_text("Author", needle(door, "text"))
    info.add_text("Comment", needle(door, "ztxt"), zip=True)  # compressed: no byte search sees it
    info.add_itxt("Description", needle(door, "itxt"), lang="en", zip=True)
    exif = PILImage.Exif()
    exif[0x013B] = needle(door, "pngexif")
    buffer = io.BytesIO()
    picture(seed).save(buffer, "PNG", pnginfo=info, exif=exif, icc_profile=ICC)
    data = buffer.getvalue()
    body = b"tIME" + struct.pack(">HBBBBB", *PNG_TIME)
    chunk = struct.pack(">I", 7) + body + struct.pack(">I", zlib.crc32(body))
    return data[:33] + chunk + data[33:]  # after the signature and IHDR


def tagged_tiff(needle, door: str, seed: int = 0) -> bytes:
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[270] = needle(door, "tiffdescr")  # ImageDescription
    tags[315] = needle(door, "tiffartist")  # Artist
    tags[306] = TIME_NEEDLE  # DateTime
    tags[305] = needle(door, "tiffsoft")  # Software
    buffer = io.BytesIO()
    picture(seed).save(buffer, "TIFF", tiffinfo=tags)
    return buffer.getvalue()


def tagged_dicom(needle, door: str, seed: int = 0) -> bytes:
    return jpeg_dicom(
        seed=seed,
        jpeg=camera_jpeg(needle, door + "f", seed),  # the colposcope's camera JPEG, wrapped
        PatientName=f"{needle(door, 'pname')}^Grace",
        PatientID=needle(door, "pid"),
        OtherPatientIDs=needle(door, "otherid"),
        InstitutionName=needle(door, "institution"),
        OperatorsName=needle(door, "operator"),
        StationName=needle(door, "station"),
        DeviceSerialNumber=needle(door, "devserial"),
        AccessionNumber=needle(door, "accession"),
        StudyDescription=needle(door, "studydesc"),
        ImageComments="After acetic acid",
    )


def every_kind(needle, door: str) -> dict[str, bytes]:
    """One file of each kind, named after a patient (a needle in every name)."""
    return {
        f"{needle(door, 'jpgname').upper()}.jpg": camera_jpeg(needle, door),
        f"{needle(door, 'pngname')}_lugol.png": tagged_png(needle, door, seed=1),
        f"green {needle(door, 'tifname')}.tif": tagged_tiff(needle, door, seed=2),
        f"{needle(door, 'dcmname')}.dcm": tagged_dicom(needle, door, seed=3),
    }


def xlsx(path: Path, rows: list[list]) -> None:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


# --- reading everything back -------------------------------------------------------------------


def _png_texts(data: bytes) -> list[bytes]:
    """Every chunk's payload, text chunks decompressed; a text chunk itself is a finding."""
    found, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        payload = data[pos + 8 : pos + 8 + length]
        if kind in PNG_TEXT_CHUNKS:
            found.append(b"PNG chunk " + kind)
        if kind == b"zTXt":
            found.append(zlib.decompress(payload.split(b"\x00", 1)[1][1:]))
        elif kind == b"iTXt":
            keyword, rest = payload.split(b"\x00", 1)
            compressed, text = rest[0], rest[2:].split(b"\x00", 2)[-1]
            found.append(zlib.decompress(text) if compressed else text)
        pos += 12 + length
    return found


def _parsed_texts(data: bytes) -> list[bytes]:
    """What a reader of the object would find: metadata as Pillow and pydicom list it."""
    texts: list[bytes] = []
    if data.startswith(PNG_SIGNATURE):
        texts += _png_texts(data)
    if data[128:132] == b"DICM":
        from pydicom import dcmread
        from pydicom.encaps import generate_frames

        dataset = dcmread(io.BytesIO(data))
        texts.append(f"{dataset.file_meta}\n{dataset}".encode())
        if dataset.file_meta.TransferSyntaxUID.is_compressed:
            frames = int(dataset.get("NumberOfFrames") or 1)
            for frame in generate_frames(dataset.PixelData, number_of_frames=frames):
                texts += _parsed_texts(frame.rstrip(b"\x00"))
        return texts
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            texts.append(repr(image.info).encode())
            texts.append(repr(dict(exif)).encode())
            for ifd in (0x8769, 0x8825):  # EXIF details, GPS
                if exif.get_ifd(ifd):
                    texts.append(b"EXIF IFD %d: %r" % (ifd, dict(exif.get_ifd(ifd))))
            if image.format == "TIFF":
                texts.append(repr(dict(image.tag_v2)).encode())
    except PILImage.UnidentifiedImageError:
        pass  # not an image: its bytes were searched
    return texts


def stored_objects() -> dict[str, bytes]:
    """Every object in the storage backend, whatever its prefix."""
    objects, folders = {}, [""]
    while folders:
        folder = folders.pop()
        subfolders, files = default_storage.listdir(folder)
        folders += [f"{folder}/{name}".lstrip("/") for name in subfolders]
        for name in files:
            key = f"{folder}/{name}".lstrip("/")
            with default_storage.open(key) as handle:
                objects[key] = handle.read()
    return objects


def database_text() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)  # every model
    rows = [out.getvalue()]
    with connection.cursor() as cursor:  # and every table, whether a model has it or not
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows += [" ".join(map(str, row)) for row in cursor.fetchall()]
    return "\n".join(rows)


def findings(needles: dict[str, str]) -> list[str]:
    found = []
    for key, data in stored_objects().items():
        for where, text in [("bytes", data), *(("parsed", t) for t in _parsed_texts(data))]:
            lowered = text.lower()
            found += [f"{key} ({where}): {needles[n]}" for n in needles if n.encode() in lowered]
            if b"png chunk " in lowered:
                found.append(f"{key}: {text[:14]!r}")
            if TIME_NEEDLE.encode() in text:
                found.append(f"{key} ({where}): a planted date-time")
            if b"exif ifd" in lowered:
                found.append(f"{key}: {text[:60]!r}")
    database = database_text().lower()
    found += [f"database: {where}" for needle, where in needles.items() if needle in database]
    return found


# --- the doors ----------------------------------------------------------------------------------


def send_everything(tmp_path: Path, needle: Needles) -> dict:
    site = make_site()
    contributor = make_contributor(site)
    sent: dict = {"site": site, "contributor": contributor}

    # The upload service and the processing task, as the new-case form and the case page call
    # them; the local patient ID is a needle too.
    case = make_case(site=site, actor=contributor, local_patient_id=needle("sv", "localid"))
    for step, (name, data) in zip(
        ("before_acetic_acid", "after_acetic_acid", "green_filter", "after_lugol"),
        every_kind(needle, "sv").items(),
        strict=True,
    ):
        image = image_services.add_image(
            case=case, actor=contributor, fileobj=io.BytesIO(data), filename=name, step=step
        )
        process_image(image.pk)
    sent["service_case"] = case

    # The API: a case, then each file as a multipart upload.
    api = APIClient()
    api.force_authenticate(contributor)
    created = api.post(
        "/api/cases/", {"site": site.pk, "local_patient_id": needle("ap", "localid")}, format="json"
    )
    assert created.status_code == 201, created.content
    for name, data in every_kind(needle, "ap").items():
        upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
        response = api.post(
            f"/api/cases/{created.json()['id']}/images/",
            {"file": upload, "step": "after_acetic_acid"},
            format="multipart",
        )
        assert response.status_code == 201, response.content

    # A case package ZIP, queued from the import page and imported by the worker.
    files = every_kind(needle, "pk")
    manifest = {
        "format": "cervical-image-bank/case-package",
        "version": 1,
        "cases": [
            {
                "case_id": "Case 001",
                "local_patient_id": needle("pk", "localid"),
                "images": [
                    {"file": f"images/{name}", "step": "after_acetic_acid", "order": order}
                    for order, name in enumerate(files, start=1)
                ],
            }
        ],
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("manifest.json", json.dumps(manifest))
        for name, data in files.items():
            bundle.writestr(f"images/{name}", data)
    archive.seek(0)
    ingest_services.queue_ingest(
        site=site, actor=contributor, fileobj=archive, filename=f"{needle('pk', 'zipname')}.zip"
    )

    # An IARC folder from the command line: files named after their CaseID, the local ID.
    folder = tmp_path / "colposcopy"
    (folder / "Case 001").mkdir(parents=True)
    case_id = needle("ia", "caseid").upper()
    xlsx(
        folder / "Cases Meta data.xlsx",
        [["Case Number", "CaseID", "HPV"], [1, case_id, "Positive"]],
    )
    xlsx(
        folder / "Cases - Images.xlsx",
        [["Case Number", "File", "Sort", "Type"], [1, f"{case_id}1.jpg", 1, "After acetic acid"]],
    )
    (folder / "Case 001" / f"{case_id}1.jpg").write_bytes(camera_jpeg(needle, "ia"))
    call_command("ingest", str(folder), "--site", site.slug, stdout=io.StringIO())

    # A folder of DICOM files named after the patient, and a lone PNG named after another.
    dicom_folder = tmp_path / needle("dc", "folder")
    dicom_folder.mkdir()
    (dicom_folder / "IM1").write_bytes(tagged_dicom(needle, "dc"))
    lone = tmp_path / f"{needle('lo', 'name')}.png"
    lone.write_bytes(tagged_png(needle, "lo"))
    ingest_services.run_ingest(site=site, actor=contributor, paths=[dicom_folder, lone])

    # The API import of a lone TIFF.
    tiff = SimpleUploadedFile(f"{needle('ai', 'name')}.tif", tagged_tiff(needle, "ai"))
    response = api.post("/api/ingest/", {"site": site.pk, "file": tiff}, format="multipart")
    assert response.status_code == 201, response.content
    return sent


def test_no_planted_value_survives_in_any_stored_object_or_the_database(
    tmp_path, django_capture_on_commit_callbacks
):
    needle = Needles()
    with django_capture_on_commit_callbacks(execute=True):
        sent = send_everything(tmp_path, needle)

    images = Image.objects.all()
    assert images.count() == 4 + 4 + 4 + 1 + 1 + 1 + 1, list(images.values("original_filename"))
    assert all(image.preview and image.thumbnail for image in images)
    assert IngestRun.objects.filter(status=IngestRun.Status.DONE).count() == 4
    assert all(run.summary["errors"] == 0 for run in IngestRun.objects.all()), [
        run.report["problems"] for run in IngestRun.objects.all()
    ]
    objects = stored_objects()
    prefixes = {key.split("/")[0] for key in objects}
    assert {"images", "previews", "thumbnails"} <= prefixes, prefixes
    assert not any(key.startswith(ingest_services.UPLOAD_PREFIX) for key in objects)
    for key, data in objects.items():
        metadata_guard.check_clean(io.BytesIO(data), key.rsplit(".", 1)[-1])
    # The file names carried a patient's ID: none is kept as it was received.
    kept = set(images.values_list("original_filename", flat=True))
    withheld = re.compile(r"file-[0-9a-f]{12}(\.(jpg|png|tif|dcm))?")
    assert all(withheld.fullmatch(name) for name in kept), kept

    assert not findings(needle.planted), "\n".join(findings(needle.planted))
    assert sent["service_case"].images.count() == 4


# --- the search finds what it looks for -------------------------------------------------------


def test_the_search_sees_a_comment_in_a_preview_and_text_in_a_compressed_png_chunk(
    monkeypatch, tmp_path
):
    """Without the fixes the search finds the needles: previews that a bulk import makes from its
    decode of the upload took the upload's comment (COM) before image_processing.NO_METADATA, and
    storage had no guard."""
    needle = Needles()
    monkeypatch.setattr(image_processing, "NO_METADATA", {})
    monkeypatch.setattr(metadata_guard, "check_clean", lambda fileobj, extension: None)
    site = make_site()
    path = tmp_path / "lugol.jpg"
    path.write_bytes(camera_jpeg(needle, "old"))
    ingest_services.run_ingest(site=site, actor=make_contributor(site), paths=[path])
    found = findings(needle.planted)
    assert any("previews/" in line and "old: comment" in line for line in found), found
    assert any("thumbnails/" in line and "old: comment" in line for line in found), found
    assert not any(line.startswith("images/") for line in found), found  # originals were clean

    png = tagged_png(needle, "zt")
    assert b"zwqztztxt" not in png  # compressed: no byte search sees it
    assert b"zwqztztxt" in b"".join(_png_texts(png))


# --- who sees a file name -----------------------------------------------------------------------


def test_reviewers_never_get_the_file_name_contributors_and_curators_do(
    django_capture_on_commit_callbacks,
):
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    with django_capture_on_commit_callbacks(execute=True):
        images = add_core_images(case, contributor)
        case_services.submit_case(case=case, actor=contributor)
    name = images[0].original_filename
    assert name == "before_acetic_acid-0.jpg"  # a neutral name is kept as it came

    reviewer = make_user_with_role(Role.REVIEWER)
    curator = make_user_with_role(Role.CURATOR)
    for user, shown in ((contributor, True), (curator, True), (reviewer, False)):
        api = APIClient()
        api.force_authenticate(user)
        response = api.get(f"/api/cases/{case.pk}/images/")
        assert response.status_code == 200, (user, response.content[:300])
        assert (name in response.content.decode()) is shown, user
        assert (response.json()[0]["original_filename"] == name) is shown
        assert (
            api.get(f"/api/images/{images[0].pk}/").json()["original_filename"] == name
        ) is shown
    for user, shown in ((contributor, True), (reviewer, False)):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("imagebank:case-detail", args=[case.pk]))
        assert page.status_code == 200
        assert (name in page.content.decode()) is shown, user


def test_an_upload_named_after_the_patient_id_keeps_no_name_even_when_it_looks_neutral():
    case = make_case(local_patient_id="Case 12")
    image = image_services.add_image(
        case=case,
        actor=case.created_by,
        fileobj=io.BytesIO(camera_jpeg(Needles(), "id")),
        filename="case 12.jpg",
        step="after_lugol",
    )
    assert image.original_filename == withheld_name("case 12.jpg")
