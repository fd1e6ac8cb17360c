"""Reads a case package's manifest (JSON or CSV) into case descriptions and the problems found.

Pure functions of the manifest's bytes: no database, no other file. Whatever the bytes, a caller
gets either a `Manifest` (cases plus per-case, per-row and per-field problems) or a
`ManifestError` (the manifest as a whole cannot be read). Rows are what a person sees: in a CSV
the spreadsheet row (header = row 1); in JSON the 1-based position of the image in its case's
`images` list, with `field` naming the JSON path (`cases[0].images[1].file`).

The package: `limits` (format name, version, limits), `entries` (the result types),
`checks` (path, step and image checks both formats share), `metadata` (clinical metadata to
codes), `csv_manifest` and `json_manifest` (the two readers).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from imagebank.models.cases import CODED_FIELDS, MAX_AGE, MIN_AGE

from .checks import image_entry, step_for, too_long, unsafe_path_reason
from .csv_manifest import CASE_COLUMNS, IMAGE_COLUMNS, REQUIRED_COLUMNS, parse_csv_text
from .entries import CaseEntry, ImageEntry, Manifest, ManifestError, Problem, join
from .json_manifest import SCHEMA_PATH, parse_json_text, schema
from .limits import (
    FORMAT_NAME,
    MAX_CASES,
    MAX_IDENTIFIER_LENGTH,
    MAX_IMAGES,
    MAX_IMAGES_PER_CASE,
    MAX_MANIFEST_BYTES,
    VERSION,
)
from .metadata import (
    FALSE_WORDS,
    INTEGER_RANGES,
    LIST_SEPARATOR,
    SWEDE_SENTINEL_NUMBERS,
    TEXT_LIMITS,
    TRUE_WORDS,
    clean_metadata,
)

__all__ = [
    "CASE_COLUMNS",
    "CODED_FIELDS",
    "FALSE_WORDS",
    "FORMAT_NAME",
    "IMAGE_COLUMNS",
    "INTEGER_RANGES",
    "LIST_SEPARATOR",
    "MAX_AGE",
    "MAX_CASES",
    "MAX_IDENTIFIER_LENGTH",
    "MAX_IMAGES",
    "MAX_IMAGES_PER_CASE",
    "MAX_MANIFEST_BYTES",
    "MIN_AGE",
    "REQUIRED_COLUMNS",
    "SCHEMA_PATH",
    "SWEDE_SENTINEL_NUMBERS",
    "TEXT_LIMITS",
    "TRUE_WORDS",
    "VERSION",
    "CaseEntry",
    "ImageEntry",
    "Manifest",
    "ManifestError",
    "Problem",
    "clean_metadata",
    "image_entry",
    "join",
    "parse_csv_text",
    "parse_json_text",
    "parse_manifest",
    "schema",
    "step_for",
    "too_long",
    "unsafe_path_reason",
]


def parse_manifest(data: bytes, kind: str) -> Manifest:
    """`kind` is "json" or "csv". Raises ManifestError only; every other problem is listed."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            _("The manifest is larger than %(limit)s MB.")
            % {"limit": MAX_MANIFEST_BYTES // (1024 * 1024)}
        )
    try:
        text = data.decode("utf-8-sig")  # Excel writes a byte-order mark; both are fine
    except UnicodeDecodeError as error:
        raise ManifestError(
            _("The manifest is not UTF-8 text (byte %(at)s): save it as UTF-8 (“CSV UTF-8”).")
            % {"at": error.start}
        ) from None
    return parse_json_text(text) if kind == "json" else parse_csv_text(text)
