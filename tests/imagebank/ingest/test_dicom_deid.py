"""De-identification of DICOM (PS3.15 Annex E basic profile), unit by unit and end to end.

The end-to-end test ingests the colour and secondary-capture files shipped with pydicom,
pydicom-data and deid-data, then looks for every identifying value they carried in the whole
database and in every stored file.
"""

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from pydicom import dcmread
from pydicom.dataset import Dataset

from imagebank.filenames import stored_name
from imagebank.imaging import dicom_deid
from imagebank.imaging.dicom_deid import ACTIONS, BASIC_PROFILE, deidentify, replacement_uid
from imagebank.ingest import dicom_files
from imagebank.ingest.sources import ingest_paths
from imagebank.models import Case, Image
from imagebank.services import images as image_services
from tests.factories import make_case, make_contributor
from tests.imagebank.ingest.dicom_samples import (
    DEID_DATA,
    PHI,
    PRIVATE_VALUE,
    PYDICOM_DATA,
    PYDICOM_TEST_FILES,
    VL_ENDOSCOPIC,
    jpeg_dicom,
    picture,
    pixel_bytes,
    rgb_dicom,
)

KEY = "test-pseudonym-key"

ACCEPTED_SAMPLES = [
    *(DEID_DATA / "dicom-cookies" / f"image{n}.dcm" for n in range(1, 8)),
    DEID_DATA / "humans" / "ctbrain1.dcm",
    DEID_DATA / "humans" / "ctbrain2.dcm",
    *(PYDICOM_DATA / name for name in ("SC_rgb.dcm", "SC_rgb_2frame.dcm", "SC_rgb_expb.dcm",
                                        "SC_ybr_full_uncompressed.dcm",
                                        "SC_rgb_dcmtk_ebcynp_dcmd.dcm", "vlut_04.dcm")),
    *(PYDICOM_TEST_FILES / name for name in ("SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm",
                                             "SC_rgb_dcmtk_+eb+cy+s4.dcm", "SC_rgb_rle.dcm",
                                             "SC_rgb_rle_2frame.dcm", "SC_rgb_small_odd.dcm",
                                             "SC_ybr_full_422_uncompressed.dcm",
                                             "SC_jpeg_no_color_transform.dcm", "SC_rgb_jpeg.dcm")),
]  # fmt: skip
REFUSED_SAMPLES = [
    DEID_DATA / "ultrasounds" / "RGB_IMAGE.dcm",  # Ultrasound Image Storage
    PYDICOM_TEST_FILES / "SC_rgb_gdcm_KY.dcm",  # JPEG 2000
    PYDICOM_DATA / "SC_rgb_16bit.dcm",  # 16 bits per sample
]
TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UT"}
# Shorter values ("F", "MR", "1") occur everywhere by chance, and so do short runs of digits in
# hashes, timestamps and compressed pixel data.
MIN_PHI_LENGTH, MIN_NUMERIC_PHI_LENGTH = 5, 8


def _identifying(value: str) -> bool:
    digits = value.replace(".", "").isdigit()
    return len(value) >= (MIN_NUMERIC_PHI_LENGTH if digits else MIN_PHI_LENGTH)


def _strings(value) -> list[str]:
    values = value if isinstance(value, list | tuple) or hasattr(value, "__iter__") else [value]
    if isinstance(value, str | bytes):
        values = [value]
    return [str(v).strip() for v in values if str(v).strip()]


def phi_values(dataset: Dataset) -> set[str]:
    """The identifying text a file carries: what the profile removes, blanks or replaces, less
    what the same file also says in an attribute that is kept (vlut_04.dcm's institution is also
    its manufacturer)."""
    found: set[str] = set()
    kept: set[str] = set()
    for element in [*dataset.file_meta, *dataset.iterall()]:
        if element.VR not in TEXT_VRS or element.keyword in dicom_files.STEP_ATTRIBUTES:
            continue  # step texts are kept as wording when they name no one (test_dicom)
        removed = ACTIONS.get(element.tag) in ("X", "Z", "D") or element.tag.is_private
        values = _strings(element.value)
        if removed or element.VR == "PN":
            found.update(v for v in values if _identifying(v))
        else:
            kept.update(values)
    return {value for value in found if not any(value in other for other in kept)}


def everything_stored() -> bytes:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    blobs = [out.getvalue().encode()]
    folders = [""]
    while folders:
        folder = folders.pop()
        subfolders, files = default_storage.listdir(folder)
        folders += [f"{folder}/{name}".lstrip("/") for name in subfolders]
        for name in files:
            with default_storage.open(f"{folder}/{name}".lstrip("/")) as file:
                blobs.append(file.read())
    return b"\n".join(blobs)


def stored_dataset(image: Image) -> Dataset:
    with default_storage.open(image.file.name) as file:
        return dcmread(io.BytesIO(file.read()))


@pytest.fixture
def actor(site):
    return make_contributor(site)


# --- the profile, unit by unit ----------------------------------------------------------------


def test_every_keyword_of_the_table_is_a_dicom_attribute():
    assert len(ACTIONS) == len(BASIC_PROFILE)
    assert set(BASIC_PROFILE.values()) <= {"X", "Z", "D", "U"}


def test_replacement_uids_are_keyed_deterministic_and_valid():
    old = "1.2.826.0.1.3680043.8.498.12345678901234567890123456789012345678901"
    new = replacement_uid(old, KEY)
    assert new == replacement_uid(old, KEY) and new != replacement_uid(old, "another key")
    assert new.startswith("2.25.") and len(new) <= 64 and new[5:].isdigit()
    assert replacement_uid("1.2.3", KEY) != replacement_uid("1.2.4", KEY)


def test_a_data_set_is_de_identified_by_the_basic_profile():
    original = dcmread(io.BytesIO(rgb_dicom(StudyInstanceUID="1.2.3.4.5")))
    ds = dcmread(io.BytesIO(rgb_dicom(StudyInstanceUID="1.2.3.4.5")))
    ds.SOPInstanceUID = original.SOPInstanceUID
    deidentify(ds, KEY)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
                    "ReferringPhysicianName", "StudyDate"):  # fmt: skip
        assert keyword in ds and ds[keyword].value in (None, "")  # Z: present, empty
    for keyword in ("InstitutionName", "OperatorsName", "OtherPatientIDs", "StationName",
                    "DeviceSerialNumber", "PatientAddress", "StudyDescription", "ImageComments",
                    "PatientAge"):  # fmt: skip
        assert keyword not in ds  # X
    assert ds.ContentDate == "19000101"  # D
    assert not any(element.tag.is_private for element in ds.iterall())
    assert not any(element.tag.group == 0x6000 for element in ds)
    assert "ReferencedImageSequence" not in ds  # X
    [series] = ds.ReferencedSeriesSequence  # kept, and cleaned inside
    assert not series.get("PatientName") and not any(e.tag.is_private for e in series)
    assert series.SeriesInstanceUID == ds.SeriesInstanceUID != original.SeriesInstanceUID
    assert ds.StudyInstanceUID == replacement_uid("1.2.3.4.5", KEY)
    assert ds.SOPInstanceUID == replacement_uid(original.SOPInstanceUID, KEY)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.DeidentificationMethod == dicom_deid.DEIDENTIFICATION_METHOD
    [code] = ds.DeidentificationMethodCodeSequence
    assert (code.CodeValue, code.CodingSchemeDesignator) == ("113100", "DCM")
    # What displays the image is kept.
    for keyword in ("Rows", "Columns", "PhotometricInterpretation", "SamplesPerPixel",
                    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                    "PlanarConfiguration", "SOPClassUID", "Manufacturer",
                    "BurnedInAnnotation"):  # fmt: skip
        assert ds[keyword].value == original[keyword].value
    assert ds.PixelData == original.PixelData


# --- end to end ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_sample_files_are_ingested_without_any_of_their_identifying_values(
    site, actor, tmp_path, django_capture_on_commit_callbacks
):
    folder = tmp_path / "export"
    sources: dict[str, Path] = {}
    for number, source in enumerate(ACCEPTED_SAMPLES + REFUSED_SAMPLES):
        target = folder / f"{number:02d}" / source.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        sources[source.name] = source
    with django_capture_on_commit_callbacks(execute=True):
        report = ingest_paths([folder], site=site, actor=actor)

    refused = {p.file.split("/")[-1] for p in report.errors if p.file}
    assert refused == {path.name for path in REFUSED_SAMPLES}, report.to_json()
    # ctbrain2 is ctbrain1 plus private tags: once those are gone it is the same object, kept once.
    assert any(
        p.file.endswith("ctbrain2.dcm") and "Same content as" in p.message for p in report.warnings
    )
    # Images are found by the name they were sent under as the file-name policy keeps it.
    received = {stored_name(path.name): path.name for path in ACCEPTED_SAMPLES}
    images = {received[image.original_filename]: image for image in Image.objects.all()}
    assert set(images) == {path.name for path in ACCEPTED_SAMPLES} - {"ctbrain2.dcm"}

    stored = everything_stored()
    for source in ACCEPTED_SAMPLES + REFUSED_SAMPLES:
        original = dcmread(source)
        leaked = {v for v in phi_values(original) if v.encode() in stored}
        assert not leaked, f"{source.name}: {leaked}"

    studies: dict[str, set[tuple[int, str]]] = {}
    for name, image in images.items():
        original = dcmread(sources[name])
        ds = stored_dataset(image)
        assert image.original_sha256 == hashlib.sha256(sources[name].read_bytes()).hexdigest()
        assert ds.PixelData == original.PixelData, name
        assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        assert not any(element.tag.is_private for element in ds.iterall())
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.StudyInstanceUID == replacement_uid(original.StudyInstanceUID, _key())
        assert ds.SOPInstanceUID == replacement_uid(original.SOPInstanceUID, _key())
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        for uid in (original.StudyInstanceUID, original.SeriesInstanceUID, original.SOPInstanceUID):
            assert uid.encode() not in stored, name
        studies.setdefault(original.StudyInstanceUID, set()).add(
            (image.case_id, ds.StudyInstanceUID)
        )
        image.refresh_from_db()
        assert image.preview and image.thumbnail, name  # derive() worked on the stored DICOM
    # One case per study, and a study's images share one new StudyInstanceUID.
    assert all(len(members) == 1 for members in studies.values())
    assert any(
        len([i for i in images.values() if i.case_id == case_id]) > 1
        for [(case_id, _uid)] in studies.values()
    )
    brain = images["ctbrain1.dcm"]
    assert brain.case.age_at_exam == 75 and brain.capture_device.startswith("SIEMENS")


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_synthetic_study_keeps_uids_consistent_and_flags_burned_in_text(site, actor, tmp_path):
    study = "1.2.840.99999.1.2.3"
    folder = tmp_path / "colposcopy"
    folder.mkdir()
    (folder / "IM1").write_bytes(jpeg_dicom(study_uid=study, instance=1, ImageComments="Saline"))
    (folder / "IM2").write_bytes(
        jpeg_dicom(VL_ENDOSCOPIC, study_uid=study, instance=2, seed=4, BurnedInAnnotation="YES")
    )
    (folder / "IM3").write_bytes(rgb_dicom(study_uid=study, instance=3, ImageComments="Lugol"))
    report = ingest_paths([folder], site=site, actor=actor)
    assert not report.errors, report.to_json()
    case = Case.objects.get()
    assert (case.age_at_exam, case.exam_year) == (45, 2021)
    images = list(case.images.order_by("display_order"))
    received = {stored_name(name): name for name in ("IM1", "IM2", "IM3")}
    assert [(received[i.original_filename], i.step, i.burned_in_annotation) for i in images] == [
        ("IM1", "before_acetic_acid", False),
        ("IM2", "after_acetic_acid", True),
        ("IM3", "after_lugol", False),
    ]
    assert all(i.capture_device == "Zeiss Colposcope 150 FC" for i in images)
    datasets = [stored_dataset(image) for image in images]
    assert {ds.StudyInstanceUID for ds in datasets} == {replacement_uid(study, _key())}
    for ds, image in zip(datasets, images, strict=True):
        with default_storage.open(image.file.name) as file:
            assert file.read()[128:132] == b"DICM"
        sent = folder / received[image.original_filename]
        assert ds.PixelData == pixel_bytes(sent.read_bytes())
        assert ds.BurnedInAnnotation == ("YES" if image.burned_in_annotation else "NO")
    stored = everything_stored()
    for value in [*PHI.values(), PRIVATE_VALUE, study]:
        if value != PHI["ImageComments"]:
            assert value.encode() not in stored, value


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_a_dicom_upload_through_the_form_path_is_stored_de_identified(
    site, actor, django_capture_on_commit_callbacks
):
    case = make_case(site=site, actor=actor)
    data = jpeg_dicom(BurnedInAnnotation="YES", size=(200, 150))
    with django_capture_on_commit_callbacks(execute=True):
        image = image_services.add_image(
            case=case, actor=actor, fileobj=io.BytesIO(data), filename="photo.dcm",
            step="after_acetic_acid",
        )  # fmt: skip
    image.refresh_from_db()
    assert (image.source_format, image.content_type) == ("dicom", "application/dicom")
    assert (image.width, image.height) == (200, 150)
    assert image.burned_in_annotation is True
    assert image.capture_device == "Zeiss Colposcope 150 FC"
    assert image.preview and image.thumbnail
    stored = everything_stored()
    assert PHI["PatientName"].encode() not in stored
    assert PHI["InstitutionName"].encode() not in stored


def _key() -> str:
    from django.conf import settings

    return settings.PSEUDONYM_KEY


def test_camera_metadata_inside_a_jpeg_frame_is_removed_and_the_pixels_kept(tmp_path):
    """A camera JPEG wrapped into DICOM carries its EXIF inside the frame, out of the header
    profile's reach."""
    from PIL import Image as PILImage

    from imagebank.imaging import dicom

    exif = PILImage.Exif()
    exif[0x013B] = "Dr Frame-Secret"  # Artist
    exif[0x0132] = "2019:04:01 09:30:00"  # DateTime
    buffer = io.BytesIO()
    picture(seed=3).save(buffer, "JPEG", quality=90, exif=exif.tobytes(), comment=b"Ward 7 bed 3")
    camera_jpeg = buffer.getvalue()
    assert b"Frame-Secret" in camera_jpeg

    prepared = dicom.prepare(jpeg_dicom(jpeg=camera_jpeg), "camera.dcm", received_sha256="")

    assert b"Frame-Secret" not in prepared.data and b"Ward 7" not in prepared.data
    assert b"2019:04:01" not in prepared.data
    stored = dcmread(io.BytesIO(prepared.data))
    original = PILImage.open(io.BytesIO(camera_jpeg)).convert("RGB")
    assert dicom.display_image(prepared.data, "camera.dcm").tobytes() == original.tobytes()
    assert stored.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"
