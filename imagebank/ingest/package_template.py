"""The template case package offered on the import page: a ZIP that imports as it is.

It holds a manifest.json, the same cases as a CSV example (named so that it is not read as a second
manifest), a short README and three small synthetic images: no real patient is in it.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from functools import cache

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.manifest import FORMAT_NAME, VERSION

FOLDER = "case-package-template"
# A fixed timestamp keeps the archive byte-identical from one download to the next.
ZIP_DATE = (2025, 1, 1, 0, 0, 0)
IMAGE_SIZE = (320, 240)

CASES = [
    {
        "case_id": "K-001",
        "local_patient_id": "CLINIC-0001",
        "metadata": {
            "age_at_exam": 34,
            "exam_year": 2024,
            "hpv_result": "positive",
            "adequacy": "adequate",
            "scj_visibility": "completely_visible",
            "transformation_zone": "type_1",
            "grade_1_findings": ["thin_acetowhite", "fine_mosaic"],
            "provisional_diagnosis": "lsil",
            "management": "repeat_in_1_year",
        },
        "images": [
            {"file": "K-001/1.jpg", "step": "before_acetic_acid", "order": 1},
            {"file": "K-001/2.jpg", "step": "After application of acetic acid", "order": 2},
        ],
    },
    {
        "case_id": "K-002",
        "local_patient_id": "CLINIC-0002",
        "metadata": {"age_at_exam": 41, "hpv_result": "negative", "via_result": "negative"},
        "images": [{"file": "K-002/1.jpg", "step": "after_acetic_acid", "order": 1}],
    },
]
SEEDS = {"K-001": 101, "K-002": 202}

CSV_COLUMNS = ["case_id", "local_patient_id", "file", "step", "order", "capture_device"]

README = """Cervical Image Bank: case package template
==========================================

A case package is a folder (or a ZIP of it) holding one manifest and the images it lists.

- manifest.json        the manifest the bank reads: one entry per case, with its images
- manifest-example.csv the same cases as a spreadsheet, one row per image. To use a CSV
                       instead of JSON, delete manifest.json and rename this file manifest.csv
                       (a package holds exactly one manifest).
- K-001/, K-002/       the images (synthetic pictures, no real patient)

Metadata values are vocabulary codes (e.g. "positive", "type_1") or wordings the bank knows
("Type 1"); findings are lists (in the CSV separated by ";"). A Swede score of 99 means
"not assessable". Never put names, dates of birth or other direct identifiers in a package:
local_patient_id is turned into a pseudonym and is not stored.

The full description of every field and its allowed values: docs/formats/case-package.md
in the bank's documentation ("Case package format").
"""


def manifest() -> dict:
    return {"format": FORMAT_NAME, "version": VERSION, "cases": CASES}


def manifest_csv() -> str:
    metadata_columns = list(dict.fromkeys(k for case in CASES for k in case["metadata"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # what spreadsheet programs write
    writer.writerow(CSV_COLUMNS + metadata_columns)
    for case in CASES:
        for image in case["images"]:
            values = {**case, **image}
            row = [values.get(column, "") for column in CSV_COLUMNS]
            for column in metadata_columns:
                value = case["metadata"].get(column, "")
                row.append(";".join(value) if isinstance(value, list) else value)
            writer.writerow(row)
    return out.getvalue()


@cache
def template_zip_bytes() -> bytes:
    """The template as ZIP bytes, identical on every call (rendered once per process)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes | str) -> None:
            info = zipfile.ZipInfo(f"{FOLDER}/{name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)

        add("README.txt", README)
        add("manifest.json", json.dumps(manifest(), indent=2, ensure_ascii=False) + "\n")
        add("manifest-example.csv", manifest_csv())
        for case in CASES:
            for image in case["images"]:
                step = (
                    image["step"] if image["step"] == "before_acetic_acid" else "after_acetic_acid"
                )
                add(image["file"], render_jpeg(step, seed=SEEDS[case["case_id"]], size=IMAGE_SIZE))
    return buffer.getvalue()
