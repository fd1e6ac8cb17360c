"""Builders for DICOM test files, and the sample files shipped with pydicom and its data packages.

The synthetic files carry made-up identifying values (PHI below) in the attributes the basic
profile removes, a private tag and an overlay, so that tests can look for them afterwards.
"""

import io
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

from fixtures.synthetic_cervix import render, render_jpeg

VL_PHOTOGRAPHIC = "1.2.840.10008.5.1.4.1.1.77.1.4"
VL_ENDOSCOPIC = "1.2.840.10008.5.1.4.1.1.77.1.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

PHI = {
    "PatientName": "Wanjiru^Achieng^Grace",
    "PatientID": "KCH-0098231",
    "PatientBirthDate": "19790412",
    "InstitutionName": "Kisumu Colposcopy Unit Seven",
    "ReferringPhysicianName": "Otieno^Barasa",
    "OperatorsName": "Nurse^Mwangi",
    "AccessionNumber": "ACC7731902",
    "OtherPatientIDs": "NHIF-55128834",
    "StationName": "COLPO-KSM-0042",
    "DeviceSerialNumber": "SN-99812377",
    "PatientAddress": "Plot 42 Obote Road Kisumu",
    "StudyDescription": "Colposcopy for Wanjiru",
    "ImageComments": "Acetic acid",
}
PRIVATE_VALUE = "PRIVATE-SECRET-7781"

SITE_PACKAGES = Path(np.__file__).resolve().parent.parent
PYDICOM_TEST_FILES = SITE_PACKAGES / "pydicom" / "data" / "test_files"
PYDICOM_DATA = SITE_PACKAGES / "data_store" / "data"  # the pydicom-data package
DEID_DATA = SITE_PACKAGES / "deid_data" / "data"


def _base(sop_class: str, study_uid: str, instance: int, **attributes) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.SourceApplicationEntityTitle = "KSMCOLPO01"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.Modality = "XC"
    ds.StudyDate = "20210315"
    ds.ContentDate = "20210315"
    ds.ContentTime = "101500"
    ds.PatientSex = "F"
    ds.PatientAge = "045Y"
    ds.Manufacturer = "Zeiss"
    ds.ManufacturerModelName = "Colposcope 150 FC"
    ds.InstanceNumber = instance
    ds.BurnedInAnnotation = "NO"
    for keyword, value in PHI.items():
        setattr(ds, keyword, value)
    ds.add_new(0x00091010, "LO", "KCH private block")  # private creator
    ds.add_new(0x00091001, "LO", PRIVATE_VALUE)
    ds.add_new(0x60003000, "OW", b"\x00\x01" * 8)  # an overlay plane
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = sop_class
    referenced.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    referenced.PatientName = PHI["PatientName"]  # PHI nested in a sequence
    ds.ReferencedImageSequence = Sequence([referenced])
    ds.ReferencedSeriesSequence = Sequence([_series_ref(ds.SeriesInstanceUID)])
    for keyword, value in attributes.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def _series_ref(series_uid: str) -> Dataset:
    item = Dataset()
    item.SeriesInstanceUID = series_uid
    item.PatientName = PHI["PatientName"]  # PHI nested in a sequence the profile keeps
    item.add_new(0x00091010, "LO", "KCH private block")
    item.add_new(0x00091001, "LO", PRIVATE_VALUE)
    return item


def _image_module(ds: Dataset, image: PILImage.Image, photometric: str) -> None:
    ds.Columns, ds.Rows = image.size
    ds.SamplesPerPixel = 1 if photometric == "MONOCHROME2" else 3
    ds.PhotometricInterpretation = photometric
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def picture(step: str = "after_acetic_acid", seed: int = 0, size=(96, 72)) -> PILImage.Image:
    return render(step, seed=seed, size=size).convert("RGB")


def jpeg_dicom(
    sop_class: str = VL_PHOTOGRAPHIC,
    *,
    study_uid: str = "",
    instance: int = 1,
    step: str = "after_acetic_acid",
    seed: int = 0,
    size=(96, 72),
    jpeg: bytes = b"",
    **attributes,
) -> bytes:
    """A JPEG baseline file, as colposcopes export: the JPEG bytes encapsulated unchanged."""
    jpeg = jpeg or render_jpeg(step, seed=seed, size=size)
    ds = _base(sop_class, study_uid or generate_uid(), instance, **attributes)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    _image_module(ds, PILImage.open(io.BytesIO(jpeg)), "YBR_FULL_422")
    ds.LossyImageCompression = "01"
    ds.PixelData = encapsulate([jpeg])
    ds["PixelData"].VR = "OB"
    return _bytes(ds)


def rgb_dicom(
    sop_class: str = VL_PHOTOGRAPHIC,
    *,
    study_uid: str = "",
    instance: int = 1,
    seed: int = 0,
    rle: bool = False,
    grey: bool = False,
    **attributes,
) -> bytes:
    """An uncompressed (or RLE lossless) RGB file, or a grey one (green-filter captures)."""
    image = picture(seed=seed)
    if grey:
        image = image.convert("L")
    ds = _base(sop_class, study_uid or generate_uid(), instance, **attributes)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    _image_module(ds, image, "MONOCHROME2" if grey else "RGB")
    array = np.asarray(image, dtype=np.uint8)
    ds.PixelData = array.tobytes()
    if rle:
        ds.compress(RLELossless, array, encoding_plugin="pydicom")
    return _bytes(ds)


def pixel_bytes(data: bytes) -> bytes:
    from pydicom import dcmread

    return dcmread(io.BytesIO(data)).PixelData
