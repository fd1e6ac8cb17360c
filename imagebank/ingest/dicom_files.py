"""DICOM files: a .dcm file, a file with the DICOM preamble, or a folder of them; a case per study.

Only headers are read here (pixels are checked and de-identified later, in dicom.prepare, one file
at a time), to group the files by StudyInstanceUID and to find each image's examination step.
"""

import hashlib
import warnings
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _
from pydicom import dcmread
from pydicom.dataset import Dataset

from imagebank import vocabularies as vocab
from imagebank.imaging.prepared import DICOM_MAGIC_OFFSET
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.report import IngestReport

FORMAT = "dicom"
# The free-text attributes where capture software writes what a picture shows, most specific
# first; the first wording the vocabulary recognises wins.
STEP_ATTRIBUTES = ("AcquisitionContextDescription", "ImageComments", "SeriesDescription")
# A DICOMDIR indexes the files beside it; it is not an image.
IGNORED_NAMES = frozenset({"DICOMDIR"})


def has_preamble(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            head = file.read(DICOM_MAGIC_OFFSET + 4)
    except OSError:
        return False
    return head[DICOM_MAGIC_OFFSET:] == b"DICM"


def _is_dicom_file(path: Path) -> bool:
    return path.suffix.lower() == ".dcm" or has_preamble(path)


def _files_in(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.name.upper() not in IGNORED_NAMES
    )


def can_read(path: Path) -> bool:
    if path.is_file():
        return _is_dicom_file(path)
    if path.is_dir():
        files = _files_in(path)
        return bool(files) and all(_is_dicom_file(file) for file in files)
    return False


class UnreadableHeader(ValueError):
    pass


def _header(path: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # irregular values are the writer's concern, not ours
        header = dcmread(path, stop_before_pixels=True)
    # pydicom reads whatever bytes follow the preamble as elements: a damaged file often gives a
    # data set with nothing in it, which would otherwise become a case of its own.
    if not header.get("SOPClassUID"):
        raise UnreadableHeader(_("it has no SOP Class UID."))
    return header


def _text(header: Dataset, keyword: str) -> str:
    value = header.get(keyword, "")
    return " ".join(str(value or "").split())


def _step(header: Dataset, name: str, reference: str, report: IngestReport) -> tuple[str, bool]:
    """The step code read from the header's descriptions, and whether it was only a stand-in
    ("other") because no description named a step."""
    wordings = [text for text in (_text(header, k) for k in STEP_ATTRIBUTES) if text]
    for wording in wordings:
        term = vocab.EXAMINATION_STEP.lookup(wording)
        if term is not None:
            return term.code, False
    if not wordings:
        report.warning(
            _("No series description or comment names the examination step: stored as “other”."),
            file=name,
            case=reference,
        )
        return "other", True
    # The free text a step is read from is removed by the de-identification profile: it can hold
    # anything a person typed, so a wording the vocabulary does not know is neither kept nor
    # quoted in the report (which is stored too).
    report.warning(
        _(
            "The series description or comment does not name a known examination step: stored as "
            "“other” (the text itself is not kept: it may identify the patient)."
        ),
        file=name,
        case=reference,
    )
    return "other", True


def _instance_number(header: Dataset) -> int | None:
    try:
        number = int(header.get("InstanceNumber"))
    except (TypeError, ValueError):
        return None
    return number if number >= 1 else None


def _stand_in_id(uid: str) -> str:
    # The writer turns it into a keyed pseudonym; it is never stored as it is.
    return "dicom-study-" + hashlib.sha256(uid.encode()).hexdigest()[:20]


def _image(
    path: Path, name: str, header: Dataset, reference: str, report: IngestReport
) -> ImageItem:
    step, stand_in = _step(header, name, reference, report)
    return ImageItem(
        filename=name,
        read=path.read_bytes,
        step=step,
        # No description named the step: "other" stands in until the contributor sets it.
        step_is_guess=stand_in,
        display_order=_instance_number(header),
    )


def read(path: Path, report: IngestReport) -> Iterator[CaseItem]:
    files = [path] if path.is_file() else _files_in(path)
    root = path.parent if path.is_file() else path
    studies: dict[str, list[tuple[Path, str, Dataset]]] = {}
    loose: list[tuple[Path, str, Dataset]] = []
    for file in files:
        name = str(file.relative_to(root))
        try:
            header = _header(file)
        # pydicom meets a damaged header with many exception types: all mean "unreadable".
        except Exception as error:  # noqa: BLE001
            report.error(
                _("The DICOM header cannot be read: %(detail)s") % {"detail": str(error)[:80]},
                file=name,
            )
            continue
        study = _text(header, "StudyInstanceUID")
        if study:
            studies.setdefault(study, []).append((file, name, header))
        else:
            loose.append((file, name, header))

    total = len(studies) + len(loose)
    groups = [(uid, members) for uid, members in studies.items()]
    groups += [("", [member]) for member in loose]
    for position, (uid, members) in enumerate(groups, start=1):
        first_name, first_header = members[0][1], members[0][2]
        if path.is_file():
            reference = path.name
        else:
            reference = _("study %(n)s of %(total)s in %(folder)s") % {
                "n": position,
                "total": total,
                "folder": path.name,
            }
        if not uid:
            report.warning(
                _("The file has no Study Instance UID: imported as a case of its own."),
                file=first_name,
                case=reference,
            )
        patient_id = _text(first_header, "PatientID")
        local_id = patient_id or _stand_in_id(
            uid or _text(first_header, "SOPInstanceUID") or first_name
        )
        members.sort(
            key=lambda m: (_instance_number(m[2]) is None, _instance_number(m[2]) or 0, m[1])
        )
        yield CaseItem(
            reference=reference,
            local_patient_id=local_id,
            images=[
                _image(file, name, header, reference, report) for file, name, header in members
            ],
        )
