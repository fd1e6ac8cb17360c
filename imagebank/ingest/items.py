"""The shape every reader produces: cases with their metadata and their images, not yet stored."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImageItem:
    filename: str  # as named by the source, for the report
    read: Callable[[], bytes]  # reads the bytes when the writer needs them, not before
    step: str  # a code of vocabularies.EXAMINATION_STEP
    step_original_wording: str = ""
    # The source did not say the step: the one given is a stand-in the contributor must check.
    step_is_guess: bool = False
    display_order: int | None = None
    capture_device: str = ""
    row: int | None = None  # the source row that listed it, if any
    # Declared by the client as already in the bank (ingest.known_files): found by this hash
    # among the site's images; `read` is then never called.
    known_sha256: str = ""


@dataclass
class CaseItem:
    reference: str  # the source's name for the case, for the report
    local_patient_id: str  # turned into a pseudonym by the writer, never stored
    metadata: dict[str, Any] = field(default_factory=dict)  # clinical fields, as codes
    images: list[ImageItem] = field(default_factory=list)
    # Problems found while reading this case's metadata; `metadata_valid` False rejects the case.
    metadata_valid: bool = True
    # The contributor's own name for the case, kept on it (never a patient ID): "Case 002" of an
    # IARC export, a case package's case_id.
    source_reference: str = ""
