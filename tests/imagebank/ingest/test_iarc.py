"""The IARC image-bank reader, on small folders laid out as IARC publishes them: every fault of a
real export is reported against its file, row and field, and nothing raises."""

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from fixtures.synthetic_cervix import render_jpeg
from imagebank.filenames import withheld_name
from imagebank.ingest import iarc
from imagebank.ingest.iarc_columns import METADATA_COLUMNS
from imagebank.ingest.iarc_metadata import RowFields, clock_hours, finding_codes
from imagebank.ingest.report import IngestReport, Level, Outcome
from imagebank.ingest.sources import ingest_paths, reader_for
from imagebank.models import Case, Image
from imagebank.services.cases import clean_clinical_fields
from tests.factories import make_contributor, make_site

GROUP = [None, None, "General assessment", None, None, "Swede score"]
HEADER = [
    "Case Number",
    "CaseID",
    "HPV",
    "Adequacy",
    "Metaplastic squamous epithelium",
    "Aceto uptake",
    "Margins",
    "Vessels",
    "Lesion size",
    "Iodine uptake",
    "SwedeFinal",
    "\nProvisional diagnosis",
    "Location of the lesion by clock position",
    "additional position 1",
    "Histopathology",
]
SWEDE_2 = ["Nil or transparent", "Nil or diffuse", "Absent", "< 5 mm", "Faintly or patchy yellow"]


def meta_row(number, case_id, **changes) -> list:
    values = {
        "Case Number": number,
        "CaseID": case_id,
        "HPV": "Positive",
        "Adequacy": "Adequate",
        "Metaplastic squamous epithelium": "Nabothian cysts and Crypt (gland) openings",
        **dict(zip(HEADER[5:10], SWEDE_2, strict=True)),
        "SwedeFinal": "2",
        "\nProvisional diagnosis": "Type 1 transformation zone; normal",
        "Location of the lesion by clock position": "05-08 o'clock",
        "additional position 1": "12 o'clock",
        "Histopathology": "Not done",
        **changes,
    }
    return [values[column] for column in HEADER]


def save(path: Path, rows: list[list]) -> None:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def bank(
    root: Path,
    *,
    meta: list[list] | None = None,
    images: list[list] | None = None,
    folders: dict[str, list[str]] | None = None,
) -> Path:
    """A colposcopy-bank folder: by default two cases of two images each, all consistent."""
    folder = root / "colposcopy"
    folder.mkdir()
    if meta is None:
        meta = [meta_row(1, "AAAW"), meta_row(2, "AADE")]
    save(folder / "Cases Meta data.xlsx", [GROUP, HEADER, *meta])
    if images is None:
        images = [
            [1, "AAAW1.jpg", 1, "After normal saline"],
            [1, "AAAW3.jpg", 2, "After Lugol’s iodine"],
            [2, "AADE0.jpg", 2, "After acetic acid"],
            [2, "AADE1.jpg", 1, "Speculum examination"],
        ]
    save(folder / "Cases - Images.xlsx", [["Case Number", "File", "Sort", "Type"], *images])
    if folders is None:
        folders = {"Case 001": ["AAAW1.jpg", "AAAW3.jpg"], "Case 002": ["AADE0.jpg", "AADE1.jpg"]}
    for seed, (name, files) in enumerate(folders.items()):
        (folder / name).mkdir()
        for index, file in enumerate(files):
            data = render_jpeg("after_acetic_acid", seed=seed * 10 + index, size=(160, 120))
            (folder / name / file).write_bytes(data)
    return folder


def zipped_bank(folder: Path) -> bytes:
    """A bank folder zipped as the import page receives it: colposcopy/<case>/<file>."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"colposcopy/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def read(folder: Path) -> tuple[dict[str, object], IngestReport]:
    report = IngestReport()
    items = {item.reference: item for item in iarc.read(folder, report)}
    return items, report


def problems(report: IngestReport, level: Level) -> list[tuple]:
    return [(p.file, p.row, p.field, p.message) for p in report.problems if p.level == level]


def test_a_folder_is_recognised_by_its_two_workbooks(tmp_path):
    folder = bank(tmp_path)
    assert iarc.can_read(folder) and reader_for(folder) is iarc
    (folder / "Cases Meta data.xlsx").rename(folder / "META_DATA.xlsx")
    assert iarc.can_read(folder)
    (folder / "META_DATA.xlsx").unlink()
    assert not iarc.can_read(folder)
    assert not iarc.can_read(folder / "Cases - Images.xlsx")


def test_a_clean_folder_reads_every_case_image_and_field(tmp_path):
    items, report = read(bank(tmp_path))
    assert report.errors == [] and report.warnings == []
    case = items["Case 001"]
    assert case.local_patient_id == "AAAW" and case.metadata_valid
    assert case.metadata == {
        "hpv_result": "positive",
        "adequacy": "adequate",
        "normal_findings": ["metaplastic_nabothian_cysts", "metaplastic_crypt_openings"],
        "swede_aceto_uptake": "nil_or_transparent",
        "swede_margins": "nil_or_diffuse",
        "swede_vessels": "absent",
        "swede_lesion_size": "lt_5mm",
        "swede_iodine_uptake": "faint_or_patchy_yellow",
        "swede_total": 2,
        "provisional_diagnosis": "normal",
        "provisional_diagnosis_text": "Type 1 transformation zone; normal",
        # The TZ column is empty: the type written in the provisional diagnosis fills it.
        "transformation_zone": "type_1",
        "lesion_clock_positions": [5, 6, 7, 8, 12],
        "histopathology": "not_done",
        "histopathology_text": "Not done",
    }
    steps = [(i.filename, i.step, i.step_original_wording, i.display_order) for i in case.images]
    assert steps == [
        ("AAAW1.jpg", "before_acetic_acid", "After normal saline", 1),
        ("AAAW3.jpg", "after_lugol", "", 2),  # curly apostrophe: the canonical label
    ]
    other = {i.filename: (i.step, i.step_original_wording) for i in items["Case 002"].images}
    assert other["AADE1.jpg"] == ("other", "Speculum examination")


def test_unknown_wordings_are_warned_kept_in_notes_and_left_empty(tmp_path):
    meta = [
        meta_row(1, "AAAW", **{"Adequacy": "Maybe", "HPV": "Unknown", "Iodine uptake": "Unknown"}),
        meta_row(2, "B", **{"Adequacy": "Unknown"}),
    ]
    items, report = read(bank(tmp_path, meta=meta))
    metadata = items["Case 001"].metadata
    assert "adequacy" not in metadata
    assert metadata["notes"] == "Imported values kept as written: Adequacy = 'Maybe'"
    # "Unknown" is a value: coded where the field has a code for it …
    assert (metadata["hpv_result"], metadata["swede_iodine_uptake"]) == ("unknown", "not_assessed")
    warned = {(p.file, p.row, p.field) for p in report.warnings}
    assert ("Cases Meta data.xlsx", 3, "Adequacy") in warned
    assert ("Cases Meta data.xlsx", 3, "HPV") not in warned
    assert items["Case 001"].metadata_valid
    # … and otherwise kept in the notes with a note, not a warning.
    other = items["Case 002"].metadata
    assert "adequacy" not in other
    assert other["notes"] == "Imported values kept as written: Adequacy = 'Unknown'"
    noted = {(p.row, p.field) for p in report.problems if p.level == Level.INFO}
    assert (4, "Adequacy") in noted
    assert (4, "Adequacy") not in {(p.row, p.field) for p in report.warnings}


def test_swede_sentinel_means_not_assessable_and_a_wrong_total_is_recomputed(tmp_path):
    meta = [meta_row(1, "A", SwedeFinal="99"), meta_row(2, "B", SwedeFinal="7")]
    items, report = read(bank(tmp_path, meta=meta))
    assert items["Case 001"].metadata["swede_not_assessable"] is True
    assert "swede_total" not in items["Case 001"].metadata
    assert "swede_total" not in items["Case 002"].metadata
    assert items["Case 002"].metadata["swede_vessels"] == "absent"
    messages = {(p.row, p.field): p.message for p in report.problems}
    assert "not assessable" in messages[(3, "SwedeFinal")]
    assert "add up to 2" in messages[(4, "SwedeFinal")]
    assert (4, "SwedeFinal") in {(p.row, p.field) for p in report.warnings}


def test_a_missing_required_value_rejects_the_case(tmp_path):
    meta = [meta_row(1, None), meta_row("abc", "X"), meta_row(2, "B"), meta_row(2, "C")]
    report = IngestReport()
    items = list(iarc.read(bank(tmp_path, meta=meta), report))
    assert [(i.reference, i.local_patient_id, i.metadata_valid) for i in items] == [
        ("Case 001", "", False),
        ("row 4", "X", False),
        ("Case 002", "B", True),
        ("Case 002", "C", False),  # the second row for case 2
    ]
    errors = problems(report, Level.ERROR)
    assert ("Cases Meta data.xlsx", 3, "CaseID") in [e[:3] for e in errors]
    assert ("Cases Meta data.xlsx", 4, "Case Number") in [e[:3] for e in errors]
    assert any(e[1] == 6 and "already on row 5" in e[3] for e in errors)


def test_file_problems_are_reported_per_file_and_row(tmp_path):
    images = [
        [1, "AAAW1.jpg", 1, "After normal saline"],
        [1, "aaaw3.JPG", 2, "After acetic acid"],  # differs in case only
        [1, "AAAW1.jpg", 3, "After acetic acid"],  # listed twice
        [2, "AADE0.jpg", 1, "Under a full moon"],  # unknown step
        [2, "GONE.jpg", 2, "After acetic acid"],  # missing
        [9, "X.jpg", 1, "After acetic acid"],  # no metadata row
    ]
    folders = {
        "Case 001": ["AAAW1.jpg", "AAAW3.jpg", "EXTRA.jpg"],
        "case 2": ["AADE0.jpg"],
        "Case 003": ["Z.jpg"],
    }
    items, report = read(bank(tmp_path, images=images, folders=folders))
    assert [i.filename for i in items["Case 001"].images] == ["AAAW1.jpg", "AAAW3.jpg"]
    [unknown] = items["Case 002"].images
    assert (unknown.step, unknown.step_original_wording) == ("other", "Under a full moon")
    errors = problems(report, Level.ERROR)
    assert any(
        e[:2] == ("Cases - Images.xlsx", 4) and "already listed on row 2" in e[3] for e in errors
    )
    assert any(e[:2] == ("GONE.jpg", 6) and "not in folder" in e[3] for e in errors)
    assert any(
        e[:2] == ("Cases - Images.xlsx", 7) and "no row in the metadata" in e[3] for e in errors
    )
    assert any(e[0] == "Case 003" and "no row in" in e[3] for e in errors)
    warnings = problems(report, Level.WARNING)
    assert any(w[:3] == ("Cases - Images.xlsx", 3, "File") for w in warnings)
    assert any(w[0] == "EXTRA.jpg" and "not imported" in w[3] for w in warnings)
    assert any(w[1:3] == (5, "Type") and "Under a full moon" in w[3] for w in warnings)


def test_a_bad_display_order_falls_back_on_row_order(tmp_path):
    images = [
        [1, "AAAW1.jpg", "first", "After normal saline"],
        [1, "AAAW3.jpg", 1, "After acetic acid"],
        [2, "AADE0.jpg", 1, "After acetic acid"],
        [2, "AADE1.jpg", 2, "After acetic acid"],
    ]
    items, report = read(bank(tmp_path, images=images))
    assert [i.display_order for i in items["Case 001"].images] == [1, 1]
    [warning] = report.warnings
    assert (warning.file, warning.row, warning.field) == ("Cases - Images.xlsx", 2, "Sort")


def test_a_case_without_folder_or_images_is_reported(tmp_path):
    images = [[1, "AAAW1.jpg", 1, "After normal saline"]]
    folders = {"Case 001": ["AAAW1.jpg"]}
    meta = [meta_row(1, "A"), meta_row(2, "B"), meta_row(3, "C")]
    folders["Case 003"] = []
    items, report = read(bank(tmp_path, meta=meta, images=images, folders=folders))
    assert items["Case 002"].images == [] and items["Case 003"].images == []
    errors = {p.case: p.message for p in report.errors}
    assert "No folder" in errors["Case 002"] and "lists no image" in errors["Case 003"]


def test_the_via_layout_reads_row_order_and_misspelt_headers(tmp_path):
    folder = tmp_path / "via"
    folder.mkdir()
    save(
        folder / "meta_data.xlsx",
        [
            ["CaseNumber", "CaseID", "SCJ", "Acitowhite area", "Acitowhite area color", "VIA"],
            [10, "AJG", "Fully visible", "Present", "Thin", "Negative"],
            [11, "AGW", "Not visible", "Absent", "Dense", "Negative"],
        ],
    )
    save(
        folder / "Cases - Images.xlsx",
        [
            ["CaseNumber", "File", "Type"],
            [10, "AJG1.jpg", "After application of acetic acid"],
            [10, "AJG0.jpg", "Before application of acetic acid"],
            [11, "AGW0.jpg", "Before application of acetic acid"],
        ],
    )
    for name, files in {"case 010": ["AJG0.jpg", "AJG1.jpg"], "Case 011": ["AGW0.jpg"]}.items():
        (folder / name).mkdir()
        for file in files:
            (folder / name / file).write_bytes(render_jpeg("after_acetic_acid", size=(160, 120)))
    items, report = read(folder)
    assert report.errors == []
    case = items["Case 010"]
    assert case.metadata == {
        "scj_visibility": "completely_visible",
        "acetowhite_area": "present",
        "acetowhite_colour": "thin",
        "via_result": "negative",
    }
    assert [(i.filename, i.display_order) for i in case.images] == [
        ("AJG1.jpg", 1),
        ("AJG0.jpg", 2),
    ]
    # An absent area with a colour would be refused by the bank: kept in the notes instead.
    assert "acetowhite_colour" not in items["Case 011"].metadata
    assert "acetowhite_colour" in items["Case 011"].metadata["notes"]
    assert any("case 010" in p.message for p in report.problems if p.level == Level.INFO)


def test_a_formula_in_a_workbook_is_an_error_and_nothing_is_read(tmp_path):
    folder = bank(tmp_path, meta=[meta_row(1, "AAAW"), meta_row(2, "=1+1")])
    items, report = read(folder)
    assert items == {}
    assert "Cases Meta data.xlsx, cell B4: formulas are not accepted" in report.errors[0].message


@pytest.mark.parametrize(
    ("wording", "hours"),
    [
        ("12 o'clock", [12]),
        ("05-08 o'clock", [5, 6, 7, 8]),
        ("11-01 o’clock", [11, 12, 1]),
        ("All around", list(range(1, 13))),
        ("13 o'clock", None),
        ("soon", None),
    ],
)
def test_clock_positions(wording, hours):
    assert clock_hours(wording) == hours


def test_findings_split_on_and_and_say_nothing_for_no():
    assert finding_codes("normal_findings", "Not applicable") == []
    assert finding_codes("normal_findings", "Nabothian cysts and Crypt (gland) openings") == [
        "metaplastic_nabothian_cysts",
        "metaplastic_crypt_openings",
    ]
    # The part that names nothing is reported by the row's reader (see below), not dropped.
    assert finding_codes("normal_findings", "Nabothian cysts and unicorns") == [
        "metaplastic_nabothian_cysts"
    ]
    assert finding_codes("normal_findings", "Unicorns") is None
    assert finding_codes("normal_findings", "Yes", header="Deciduosis in pregnancy") == [
        "deciduosis_pregnancy"
    ]


def test_a_part_of_a_findings_cell_that_names_nothing_is_kept_in_the_notes():
    report = IngestReport()
    fields = RowFields(where={"file": "m.xlsx", "row": 3, "case": "Case 001"}, report=report)
    fields.add("normal_findings", "Metaplastic squamous epithelium", "Nabothian cysts and unicorns")
    metadata = fields.finish()
    assert metadata["normal_findings"] == ["metaplastic_nabothian_cysts"]
    assert "unicorns" in metadata["notes"]
    assert [p.field for p in report.warnings] == ["Metaplastic squamous epithelium"]


FIELDS = sorted(set(METADATA_COLUMNS.values()) - {"case_number", "case_id"})


@given(
    st.lists(
        st.tuples(
            st.sampled_from(FIELDS),
            st.one_of(
                st.text(max_size=30).map(str.strip).filter(bool),
                st.sampled_from(["99", "11", "0", "4", "All around", "12-03 o'clock", "Absent"]),
            ),
        ),
        max_size=12,
    )
)
def test_no_cell_value_breaks_a_row_and_what_comes_out_is_valid(cells):
    report = IngestReport()
    fields = RowFields(where={"file": "m.xlsx", "row": 3, "case": "Case 001"}, report=report)
    for name, wording in cells:
        fields.add(name, name, wording)
    metadata = fields.finish()
    clean_clinical_fields(metadata)  # raises if a reader output would be refused by the bank
    assert report.errors == []


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_an_import_stores_cases_and_a_second_run_creates_nothing(tmp_path):
    site = make_site()
    actor = make_contributor(site)
    meta = [
        meta_row(1, "AAAW", **{"Iodine uptake": "Unknown"}),
        meta_row(2, "AADE"),
        meta_row(3, None),
    ]
    folder = bank(tmp_path, meta=meta)
    report = ingest_paths([folder], site=site, actor=actor)
    assert report.format == "iarc"
    outcomes = {c.reference: c.outcome for c in report.cases}
    assert outcomes == {
        "Case 001": Outcome.CREATED,
        "Case 002": Outcome.CREATED,
        "Case 003": Outcome.REJECTED,
    }
    assert Image.objects.count() == 4
    case = Case.objects.get(pk=report.cases[0].case_id)
    assert case.swede_iodine_uptake == "not_assessed" and case.notes == ""
    # IARC names files after the CaseID, which identifies the patient: the names are withheld.
    assert list(case.images.order_by("display_order").values_list("original_filename", "step")) == [
        (withheld_name("AAAW1.jpg"), "before_acetic_acid"),
        (withheld_name("AAAW3.jpg"), "after_lugol"),
    ]

    again = ingest_paths([folder], site=site, actor=actor)
    assert (Case.objects.count(), Image.objects.count()) == (2, 4)
    assert again.summary()["cases_unchanged"] == 2 and again.summary()["images_added"] == 0
