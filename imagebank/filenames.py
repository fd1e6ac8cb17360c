"""What the bank keeps of a file's name: the name itself only when it cannot identify anyone.

Clinics name files after the patient ("AAAW1.jpg" for CaseID AAAW, "Jane_Doe_2024-03-05.jpg",
"MRN1234567.dcm"). A name is kept as received only when

- every run of letters is a neutral word of NEUTRAL_WORDS (what a file is, an examination step or
  a camera prefix, in English, French or Spanish; accents and case ignored; no word of fewer than
  three letters, which could be initials),
- it has at most one run of digits, of at most three digits (a position or a count: "Case 002",
  "image 3"); a year or any longer number needs four digits, and a date, even without its year,
  needs two numbers (05-03),
- it is at most MAX_KEPT_LENGTH characters long,
- and it does not spell the patient's local ID (compared the way pseudonyms compare IDs: without
  spaces, in any case).

Anything else is withheld: a keyed hash of the name plus its lower-cased extension, e.g.
`file-3f9a1c2b7d4e.jpg`. The hash is an HMAC under PSEUDONYM_KEY, so the same name always gives the
same stand-in (a report and the case page agree) and nobody without the key can test a guessed
name or ID against it. A data manager finds a withheld file by the row and case the report gives.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import TYPE_CHECKING

from django.conf import settings

from imagebank.pseudonyms import normalise_local_id, pseudonym_for

if TYPE_CHECKING:
    from imagebank.models import Case

MAX_KEPT_LENGTH = 100
MAX_DIGITS = 3
HASH_HEX_DIGITS = 12  # 48 bits: enough to tell the files of one import apart
WITHHELD_PREFIX = "file-"
# Extensions worth keeping on a withheld name: they say what the file is and name no one.
KNOWN_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "jpe", "png", "tif", "tiff", "dcm", "dicom", "zip", "xlsx", "xlsm", "xls",
     "ods", "csv", "json", "txt", "pdf"}
)  # fmt: skip

# Words that say what a file is or which step of the examination it shows, never who is in it.
# Compared without accents and case; no word shorter than three letters (initials).
NEUTRAL_WORDS = frozenset(
    {
        # what a file or folder is
        "image", "images", "img", "imgs", "photo", "photos", "picture", "pictures", "pic",
        "foto", "fotos", "imagen", "imagenes", "scan", "scans", "frame", "frames", "capture",
        "file", "files", "fichier", "fichiers", "archivo", "archivos", "upload", "export",
        "import", "package", "folder", "dossier", "carpeta", "copy", "copie", "copia",
        "original", "final", "preview", "thumbnail", "mask", "masks", "overlay", "annotation",
        "manifest", "metadata", "meta", "data", "donnees", "datos", "metadatos", "template",
        "report", "sheet", "bank", "banque", "banco",
        # cameras, devices, standards
        "dsc", "dscn", "dcim", "cam", "camera", "colposcope", "colposcopy", "colposcopie",
        "colposcopia", "colpo", "dicom", "dcm", "iarc",
        # examination steps (English)
        "before", "after", "acetic", "acid", "saline", "green", "filter", "lugol", "lugols",
        "iodine", "red", "free", "native", "plain", "raw", "pre", "post", "via", "vili",
        "vinegar", "magnified", "magnification", "zoom", "view", "step", "overview", "detail",
        # French
        "avant", "apres", "acide", "acetique", "serum", "physiologique", "vert", "filtre",
        "iode", "agrandi", "agrandie", "vue", "etape", "cas",
        # Spanish
        "antes", "despues", "acido", "acetico", "solucion", "salina", "suero", "fisiologico",
        "verde", "filtro", "yodo", "aumentada", "ampliada", "vista", "paso", "caso", "casos",
        # cases, studies and anatomy
        "case", "cases", "study", "series", "exam", "examen", "cervix", "cervical", "col",
        "cuello", "uterus", "lesion", "lesions", "scj", "transformation", "zone",
        # joining words
        "and", "with", "without", "the", "des", "les", "avec", "sans", "del", "los", "las",
        "con", "sin",
    }
)  # fmt: skip

_RUN = re.compile(r"[^\W\d_]+|\d+")  # a run of letters or a run of digits
_WITHHELD = re.compile(rf"^{WITHHELD_PREFIX}[0-9a-f]{{{HASH_HEX_DIGITS}}}(\.[a-z0-9]+)?$")
_HASH_DOMAIN = "imagebank.filenames\x1f"  # keeps these hashes apart from pseudonyms
MAX_RUNS_COMPARED = 16


def withheld_name(name: str) -> str:
    """The keyed-hash stand-in for a name, with its lower-cased extension when it is a known one."""
    message = (_HASH_DOMAIN + name).encode()
    digest = hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()
    stem, dot, extension = name.rpartition(".")
    extension = extension.lower()
    suffix = f".{extension}" if dot and stem and extension in KNOWN_EXTENSIONS else ""
    return f"{WITHHELD_PREFIX}{digest[:HASH_HEX_DIGITS]}{suffix}"


def _folded(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _base(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return stem if dot and stem and extension.lower() in KNOWN_EXTENSIONS else name


def is_neutral(name: str) -> bool:
    """Whether a name passes the word and digit rules (the patient's ID aside)."""
    if not name or len(name) > MAX_KEPT_LENGTH or not name.isprintable():
        return False
    digit_runs = 0
    for run in _RUN.findall(_base(name)):
        if run.isdigit():
            digit_runs += 1
            if digit_runs > 1 or len(run) > MAX_DIGITS:
                return False
        elif _folded(run) not in NEUTRAL_WORDS:
            return False
    return True


def _spans(name: str) -> set[str]:
    """Every way a run of consecutive words and numbers of the name could spell an ID: the runs
    joined as written (spaces dropped, as pseudonyms drop them) and joined with nothing between."""
    runs = list(_RUN.finditer(_base(name)))[:MAX_RUNS_COMPARED]
    spans: set[str] = set()
    for first in range(len(runs)):
        for last in range(first, len(runs)):
            written = name[runs[first].start() : runs[last].end()]
            spans.add(normalise_local_id(written))
            spans.add(normalise_local_id("".join(r.group() for r in runs[first : last + 1])))
    return spans


def _spells_case_patient(name: str, case: Case) -> bool:
    """Whether the name spells the case's local patient ID, which the bank knows only by its
    keyed hash: each span of the name is hashed the same way and compared."""
    from imagebank.models import Subject

    site_slug, pseudonym = (
        Subject.objects.filter(pk=case.subject_id).values_list("site__slug", "pseudonym").get()
    )
    return any(pseudonym_for(site_slug, span) == pseudonym for span in _spans(name) if span)


def stored_name(name: str, *, local_patient_id: str = "", case: Case | None = None) -> str:
    """What the bank may store and show of a base name as received (see the module docstring).

    The patient's ID is given as `local_patient_id` where it is at hand (an import), or found
    through `case` where only its pseudonym is (an upload to an existing case).
    """
    name = str(name or "")
    if not name or _WITHHELD.match(name):
        return name  # nothing, or already a stand-in: applying the policy twice changes nothing
    if not is_neutral(name):
        return withheld_name(name)
    if spells_patient_id(name, local_patient_id):
        return withheld_name(name)
    if case is not None and _spells_case_patient(name, case):
        return withheld_name(name)
    return name


def spells_patient_id(text: str, local_patient_id: str) -> bool:
    """Whether a run of consecutive words and numbers of the text is the local patient ID
    ("CASE-12" is spelled by "case 12.jpg" too: punctuation is ignored as well as spaces)."""
    patient = normalise_local_id(local_patient_id)
    patient_forms = {patient, re.sub(r"[\W_]+", "", patient)} - {""}
    return bool(patient_forms & _spans(text))


def stored_path(path: str, *, local_patient_id: str = "") -> str:
    """stored_name() applied to each part of a relative path ("Case 002/AAAW1.jpg" becomes
    "Case 002/file-….jpg"), so a folder or a file that names someone is withheld on its own."""
    parts = re.split(r"([/\\])", str(path or ""))
    return "".join(
        part if part in ("/", "\\", "") else stored_name(part, local_patient_id=local_patient_id)
        for part in parts
    )
