"""DICOM files: what is accepted, what is refused and why, and how a folder becomes cases."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import dcmread

from imagebank.imaging import dicom
from imagebank.imaging.prepared import prepare_upload
from imagebank.imaging.processing import InvalidImage, derive
from imagebank.ingest import dicom_files
from imagebank.ingest.report import IngestReport
from tests.imagebank.ingest.dicom_samples import (
    PYDICOM_DATA,
    PYDICOM_TEST_FILES,
    SECONDARY_CAPTURE,
    VL_ENDOSCOPIC,
    VL_PHOTOGRAPHIC,
    jpeg_dicom,
    picture,
    pixel_bytes,
    rgb_dicom,
)

SAMPLES = {
    "photographic-jpeg": lambda: jpeg_dicom(VL_PHOTOGRAPHIC),
    "endoscopic-jpeg": lambda: jpeg_dicom(VL_ENDOSCOPIC),
    "secondary-capture-rgb": lambda: rgb_dicom(SECONDARY_CAPTURE),
    "photographic-rle": lambda: rgb_dicom(VL_PHOTOGRAPHIC, rle=True),
    "endoscopic-grey": lambda: rgb_dicom(VL_ENDOSCOPIC, grey=True),
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_accepted_files_are_prepared_with_their_pixels_unchanged(kind):
    data = SAMPLES[kind]()
    prepared = prepare_upload(data, f"{kind}.dcm")
    assert (prepared.source_format, prepared.content_type, prepared.extension) == (
        "dicom",
        "application/dicom",
        "dcm",
    )
    assert (prepared.width, prepared.height) == (96, 72)
    assert prepared.data[128:132] == b"DICM"
    assert pixel_bytes(prepared.data) == pixel_bytes(data)
    stored = dcmread(io.BytesIO(prepared.data))
    original = dcmread(io.BytesIO(data))
    assert stored.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert prepared.attributes == {
        "age_at_exam": 45,
        "capture_device": "Zeiss Colposcope 150 FC",
        "exam_year": 2021,
    }
    assert prepared.burned_in_annotation is False
    image = dicom.display_image(prepared.data, "x.dcm")
    assert image.mode == "RGB" and image.size == (96, 72)


def test_uncompressed_pixels_are_decoded_exactly():
    image = dicom.display_image(rgb_dicom(seed=3), "x.dcm")
    assert image.tobytes() == picture(seed=3).tobytes()
    rle = dicom.display_image(rgb_dicom(seed=3, rle=True), "x.dcm")
    assert rle.tobytes() == picture(seed=3).tobytes()


def test_jpeg_pixels_decode_close_to_the_picture():
    shown = dicom.display_image(jpeg_dicom(seed=2), "x.dcm")
    expected = picture(seed=2)
    difference = sum(abs(a - b) for a, b in zip(shown.tobytes(), expected.tobytes(), strict=True))
    assert difference / len(expected.tobytes()) < 8  # JPEG is lossy; a wrong colour space is not


def test_derive_makes_previews_of_a_dicom_file():
    derived = derive(prepare_upload(jpeg_dicom(size=(320, 240)), "a.dcm").data, "a.dcm")
    assert (derived.width, derived.height) == (320, 240)
    assert derived.preview_jpeg[:2] == b"\xff\xd8" and derived.thumbnail_jpeg[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("value", "years"),
    [("045Y", 45), ("45Y", 45), ("360M", 30), ("999W", 19), ("520W", None), ("018Y", 18),
     ("150Y", None), ("003D", None), ("", None), ("abc", None), ("045", None)],
)  # fmt: skip
def test_patient_age_is_read_in_whole_years(value, years):
    assert dicom.age_in_years(value) == years


def test_burned_in_annotation_is_reported():
    prepared = prepare_upload(jpeg_dicom(BurnedInAnnotation="YES"), "a.dcm")
    assert prepared.burned_in_annotation is True
    assert dcmread(io.BytesIO(prepared.data)).BurnedInAnnotation == "YES"


def test_implausible_or_missing_clinical_values_are_left_out():
    prepared = prepare_upload(
        rgb_dicom(PatientAge="200Y", StudyDate=None, Manufacturer=None), "a.dcm"
    )
    assert prepared.attributes == {"capture_device": "Colposcope 150 FC"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("JPEG2000.dcm", "not supported: JPEG 2000 Image Compression"),
        ("MR_small_jpeg_ls_lossless.dcm", "not supported: JPEG-LS Lossless"),
        ("JPGExtended.dcm", "not supported: JPEG Extended"),
        ("image_dfl.dcm", "not supported: Deflated Explicit VR Little Endian"),
        ("CT_small.dcm", "CT Image Storage object is not supported"),
        ("examples_palette.dcm", "Ultrasound Image Storage object is not supported"),
    ],
)
def test_unsupported_files_are_refused_naming_the_file_and_the_reason(name, message):
    with pytest.raises(InvalidImage) as error:
        prepare_upload((PYDICOM_TEST_FILES / name).read_bytes(), name)
    assert str(error.value).startswith(f"{name}: ")
    assert message in str(error.value)


def test_sixteen_bit_colour_is_refused():
    with pytest.raises(InvalidImage, match="SC_rgb_16bit.dcm: only 8 bits"):
        prepare_upload((PYDICOM_DATA / "SC_rgb_16bit.dcm").read_bytes(), "SC_rgb_16bit.dcm")


def test_missing_pixel_data_is_refused():
    ds = dcmread(io.BytesIO(rgb_dicom()))
    del ds.PixelData
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with pytest.raises(InvalidImage, match="a.dcm: the file has no pixel data"):
        prepare_upload(buffer.getvalue(), "a.dcm")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
@pytest.mark.parametrize("build", [rgb_dicom, jpeg_dicom])
def test_truncated_files_are_refused(build, keep):
    data = build()
    with pytest.raises(InvalidImage, match="^cut.dcm: "):
        prepare_upload(data[: int(len(data) * keep)], "cut.dcm")


def test_bytes_with_the_preamble_that_are_not_dicom_are_refused():
    data = b"\0" * 128 + b"DICM" + b"this is not a DICOM data set at all" * 3
    with pytest.raises(InvalidImage, match="^fake.dcm: not a readable DICOM file"):
        prepare_upload(data, "fake.dcm")


def test_a_wrong_sop_class_is_refused():
    data = rgb_dicom("1.2.840.10008.5.1.4.1.1.6.1")
    with pytest.raises(InvalidImage, match="^us.dcm: .*Ultrasound Image Storage"):
        prepare_upload(data, "us.dcm")


def test_absurd_dimensions_are_refused(settings):
    settings.MAX_IMAGE_PIXELS = 96 * 72 - 1
    with pytest.raises(InvalidImage, match="^big.dcm: 6,912 pixels; the limit is 6,911"):
        prepare_upload(rgb_dicom(), "big.dcm")


def test_dimensions_that_do_not_match_the_pixel_data_are_refused():
    ds = dcmread(io.BytesIO(jpeg_dicom()))
    ds.Rows = 2000
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with pytest.raises(InvalidImage, match="^odd.dcm: "):
        prepare_upload(buffer.getvalue(), "odd.dcm")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=132, max_value=2000), byte=st.integers(0, 255))
def test_a_damaged_header_byte_never_raises_anything_but_invalid_image(position, byte):
    data = bytearray(jpeg_dicom(seed=1))
    data[position % len(data)] = byte
    try:
        prepare_upload(bytes(data), "x.dcm")
    except InvalidImage as error:
        assert str(error).startswith("x.dcm: ")


# --- the reader -------------------------------------------------------------------------------


def test_the_reader_recognises_dicom_files_and_folders_of_them(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "IM0001").write_bytes(rgb_dicom())
    (tmp_path / "one" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "IM0001").write_bytes(rgb_dicom())
    (tmp_path / "mixed" / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    assert dicom_files.can_read(tmp_path / "one")
    assert dicom_files.can_read(tmp_path / "one" / "IM0001")
    assert not dicom_files.can_read(tmp_path / "mixed")
    assert not dicom_files.can_read(tmp_path / "empty")
    assert not dicom_files.can_read(tmp_path / "photo.jpg")


def test_a_folder_becomes_one_case_per_study_with_steps_and_order(tmp_path):
    study_a, study_b = "1.2.3.4.100", "1.2.3.4.200"
    files = {
        "a2": rgb_dicom(study_uid=study_a, instance=2, ImageComments="After Lugol's iodine"),
        "a1": rgb_dicom(study_uid=study_a, instance=1, ImageComments=None, SeriesDescription="VIA"),
        "a3": rgb_dicom(study_uid=study_a, instance=3, ImageComments="Cervix, close up"),
        "b1": rgb_dicom(study_uid=study_b, PatientID=None, ImageComments=None,
                        StudyDescription=None),
        "loose": rgb_dicom(StudyInstanceUID=None),
        "broken": b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff",
    }  # fmt: skip
    folder = tmp_path / "export"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    report = IngestReport()
    cases = list(dicom_files.read(folder, report))
    assert [case.reference for case in cases] == [
        "study 1 of 3 in export",
        "study 2 of 3 in export",
        "study 3 of 3 in export",
    ]
    first = cases[0]
    assert first.local_patient_id == "KCH-0098231"
    assert [
        (i.filename, i.step, i.step_original_wording, i.display_order) for i in first.images
    ] == [
        ("a1", "after_acetic_acid", "", 1),
        ("a2", "after_lugol", "", 2),
        ("a3", "other", "", 3),
    ]
    assert first.images[0].read() == files["a1"]
    second = cases[1]
    assert second.local_patient_id.startswith("dicom-study-")
    assert second.images[0].step == "other"
    warnings = [(p.file, p.message) for p in report.warnings]
    assert any(file == "a3" and "known examination step" in message for file, message in warnings)
    assert not any("Cervix, close up" in message for _file, message in warnings)
    assert any(
        file == "b1" and "names the examination step" in message for file, message in warnings
    )
    assert any(file == "loose" and "Study Instance UID" in message for file, message in warnings)
    [error] = report.errors
    assert error.file == "broken" and "cannot be read" in error.message


def test_the_stand_in_patient_id_is_stable(tmp_path):
    path = tmp_path / "x.dcm"
    path.write_bytes(rgb_dicom(study_uid="1.2.3.9", PatientID=None))
    ids = {next(dicom_files.read(path, IngestReport())).local_patient_id for _ in range(2)}
    assert len(ids) == 1 and "1.2.3.9" not in ids.pop()


def test_a_step_wording_the_vocabulary_does_not_know_is_neither_kept_nor_quoted(tmp_path):
    path = tmp_path / "x.dcm"
    path.write_bytes(rgb_dicom(ImageComments="Grace, after the biopsy"))  # PatientName has Grace
    report = IngestReport()
    [image] = next(dicom_files.read(path, report)).images
    assert (image.step, image.step_original_wording) == ("other", "")
    [warning] = report.warnings
    assert "Grace" not in warning.message and "identify" in warning.message
