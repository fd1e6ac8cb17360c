"""The files of a release besides the images: the manifest (frame, CSV, Parquet), the Croissant
metadata (loaded and iterated offline by mlcroissant, the reference library) and the datasheet with
its BibTeX. Pure functions: no database."""

import hashlib
import io
import json
import logging
import re
import socket

import mlcroissant
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image as PILImage

from curation.releases.croissant import (
    CROISSANT_CONFORMS_TO,
    FileEntry,
    ReleaseMeta,
    croissant_json,
    croissant_metadata,
)
from curation.releases.datasheet import SECTION_TITLES, bibtex, datasheet_markdown
from curation.releases.manifest import (
    MANIFEST_COLUMNS,
    manifest_frame,
    read_manifest_csv,
    write_csv,
    write_parquet,
)

LABELS = ("via_result", "tz_type")


def make_meta(**changes) -> ReleaseMeta:
    values = {
        "slug": "via-screening",
        "version": "1.2.0",
        "title": "VIA screening {Rwanda} 100% & more",
        "description": "Cervical images after acetic acid, for VIA triage models.",
        "licence_name": "CC BY-NC 4.0",
        "licence_url": "https://creativecommons.org/licenses/by-nc/4.0/",
        "citation": "Cervical Image Bank (2026). VIA screening, version 1.2.0.",
        "url": "https://bank.example.org/releases/via-screening/1.2.0/",
        "published": "2026-03-14",
        "publisher": "Cervical Image Bank",
        "keywords": ("cervical cancer", "VIA", "colposcopy"),
        "label_classes": {
            "via_result": ("negative", "positive", "suspicious_cancer"),
            "tz_type": ("1", "2", "3"),
        },
        "label_titles": {"via_result": "VIA result", "tz_type": "Transformation zone type"},
        "changelog_summary": "",
    }
    values.update(changes)
    return ReleaseMeta(**values)


def make_row(number: int, split: str, **changes) -> dict:
    row = {
        "image_id": f"i-{number:016x}",
        "path": f"images/{split}/c-{number:04d}/via-1.jpg",
        "sha256": f"{number:064x}",
        "bytes": 1000 + number,
        "width": 640,
        "height": 480,
        "case": f"c-{number:04d}",
        "subject": f"s-{number:04d}",
        "site": "kigali",
        "step": "via",
        "order": 1,
        "split": split,
        "labels": {"via_result": "positive", "tz_type": "2"},
    }
    row.update(changes)
    return row


def sample_rows() -> list[dict]:
    return [
        make_row(1, "train", width=None),
        make_row(2, "validation", labels={"via_result": None, "tz_type": "NA"}),
        make_row(3, "test"),
        make_row(4, "train", labels={"via_result": "negative"}),
    ]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    write_csv(frame, buffer)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    write_parquet(frame, buffer)
    return buffer.getvalue()


# --- manifest -------------------------------------------------------------------------------


def test_frame_has_the_fixed_columns_then_the_labels_with_the_contract_dtypes():
    frame = manifest_frame(sample_rows(), LABELS)

    assert tuple(frame.columns) == (*MANIFEST_COLUMNS, *LABELS)
    assert list(frame["image_id"]) == [f"i-{n:016x}" for n in (1, 2, 3, 4)]
    dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
    assert dtypes["bytes"] == "int64"
    assert dtypes["width"] == dtypes["height"] == "Int32"
    assert dtypes["order"] == "int32"
    for column in ("image_id", "path", "sha256", "case", "subject", "site", "step", "split"):
        assert dtypes[column] == "string"
    assert dtypes["via_result"] == dtypes["tz_type"] == "string"
    assert frame.loc[0, "width"] is pd.NA
    assert frame.loc[3, "tz_type"] is pd.NA  # a label absent from the row is missing
    assert frame.loc[1, "tz_type"] == "NA"  # a value that merely looks missing stays a value


def test_test_split_labels_are_empty_in_the_frame_the_csv_and_the_parquet():
    frame = manifest_frame(sample_rows(), LABELS)
    test_row = frame.index[frame["split"] == "test"][0]

    assert frame.loc[test_row, list(LABELS)].isna().all()
    assert frame.loc[0, "via_result"] == "positive"

    csv_lines = csv_bytes(frame).decode("utf-8").split("\n")
    test_line = next(line for line in csv_lines if ",test," in line)
    assert test_line.endswith(",test,,")
    assert "positive" not in test_line

    table = pq.read_table(io.BytesIO(parquet_bytes(frame)))
    splits = table.column("split").to_pylist()
    for label in LABELS:
        values = table.column(label).to_pylist()
        assert values[splits.index("test")] is None
    assert table.column("via_result").to_pylist()[0] == "positive"


def test_writers_empty_test_labels_even_in_a_frame_edited_after_manifest_frame():
    frame = manifest_frame(sample_rows(), LABELS)
    frame.loc[frame["split"] == "test", "via_result"] = "positive"

    assert b",test,," in csv_bytes(frame)
    table = pq.read_table(io.BytesIO(parquet_bytes(frame)))
    assert table.column("via_result").to_pylist()[2] is None


def test_csv_is_utf8_with_lf_line_ends_and_empty_cells_for_missing_values():
    frame = manifest_frame([make_row(1, "train", width=None, site="bogotá")], LABELS)

    assert csv_bytes(frame).decode("utf-8") == (
        ",".join((*MANIFEST_COLUMNS, *LABELS)) + "\n"
        f"i-{1:016x},images/train/c-0001/via-1.jpg,{1:064x},1001,,480,c-0001,s-0001,bogotá,via,1,"
        "train,positive,2\n"
    )


def test_the_same_rows_give_the_same_csv_and_parquet_bytes():
    first = manifest_frame(sample_rows(), LABELS)
    second = manifest_frame(iter(sample_rows()), LABELS)

    assert csv_bytes(first) == csv_bytes(second)
    assert parquet_bytes(first) == parquet_bytes(second)
    assert parquet_bytes(first) != parquet_bytes(manifest_frame(sample_rows()[:3], LABELS))


def test_parquet_schema_has_the_manifest_types_and_no_index():
    schema = pq.read_schema(io.BytesIO(parquet_bytes(manifest_frame(sample_rows(), LABELS))))

    assert schema.names == [*MANIFEST_COLUMNS, *LABELS]
    assert schema.field("bytes").type == pa.int64()
    assert schema.field("width").type == schema.field("order").type == pa.int32()
    assert schema.field("image_id").type == schema.field("tz_type").type == pa.string()


def test_csv_and_parquet_read_back_as_the_frame():
    frame = manifest_frame(sample_rows(), LABELS)

    from_csv = read_manifest_csv(io.BytesIO(csv_bytes(frame)))
    from_parquet = pd.read_parquet(io.BytesIO(parquet_bytes(frame)))

    pd.testing.assert_frame_equal(from_csv, frame)
    pd.testing.assert_frame_equal(from_parquet, frame, check_dtype=False)
    assert str(from_parquet["width"].dtype) == "Int32"


def test_no_labels_gives_the_fixed_columns_only():
    frame = manifest_frame([make_row(1, "test", labels={})], ())

    assert tuple(frame.columns) == MANIFEST_COLUMNS
    assert read_manifest_csv(io.BytesIO(csv_bytes(frame))).shape == (1, len(MANIFEST_COLUMNS))


def test_a_row_without_a_key_is_refused_naming_the_row_and_the_key():
    rows = sample_rows()
    del rows[1]["sha256"]

    with pytest.raises(ValueError, match=r"row 1 has no 'sha256'"):
        manifest_frame(rows, LABELS)

    rows = sample_rows()
    del rows[2]["labels"]
    with pytest.raises(ValueError, match=r"row 2 has no 'labels'"):
        manifest_frame(rows, LABELS)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"split": "dev"}, r"row 0: split 'dev' is not one of train, validation, test"),
        ({"bytes": "12"}, r"row 0: 'bytes' must be a non-negative integer"),
        ({"order": True}, r"row 0: 'order' must be a non-negative integer"),
        ({"case": ""}, r"row 0: 'case' must be a non-empty string"),
        ({"labels": {"via_result": 1}}, r"row 0: label 'via_result' must be a string or None"),
    ],
)
def test_bad_values_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        manifest_frame([{**make_row(0, "train"), **changes}], LABELS)


def test_a_csv_that_is_not_a_manifest_is_refused():
    with pytest.raises(ValueError, match="Manifest columns must start with image_id, path"):
        read_manifest_csv(io.BytesIO(b"path,image_id\nx,y\n"))


def test_label_names_that_clash_are_refused():
    with pytest.raises(ValueError, match="clashes"):
        manifest_frame([], ["site"])
    with pytest.raises(ValueError, match="twice"):
        manifest_frame([], ["tz_type", "tz_type"])


# --- Croissant ------------------------------------------------------------------------------


def file_entry(path, data: bytes, encoding: str) -> FileEntry:
    return FileEntry(path, hashlib.sha256(data).hexdigest(), len(data), encoding)


def test_croissant_metadata_describes_files_and_the_image_record_set():
    meta = make_meta()
    files = [
        FileEntry("manifest.csv", "a" * 64, 120, "text/csv"),
        FileEntry("manifest.parquet", "b" * 64, 340, "application/x-parquet"),
    ]
    metadata = croissant_metadata(meta, files, image_count=12, image_bytes=34567)

    assert next(iter(metadata)) == "@context"
    assert metadata["conformsTo"] == CROISSANT_CONFORMS_TO
    assert metadata["@type"] == "sc:Dataset"
    assert metadata["version"] == "1.2.0"
    assert metadata["datePublished"] == "2026-03-14"
    assert metadata["license"]["url"] == meta.licence_url
    assert metadata["keywords"] == list(meta.keywords)
    objects = [entry for entry in metadata["distribution"] if entry["@type"] == "cr:FileObject"]
    assert [(o["contentUrl"], o["sha256"], o["contentSize"]) for o in objects] == [
        ("manifest.csv", "a" * 64, "120 B"),
        ("manifest.parquet", "b" * 64, "340 B"),
    ]
    (file_set,) = [e for e in metadata["distribution"] if e["@type"] == "cr:FileSet"]
    assert file_set["name"] == "images"
    assert file_set["includes"] == "images/**/*.jpg"
    assert file_set["encodingFormat"] == "image/jpeg"
    assert "12 JPEG images (34567 bytes" in file_set["description"]
    (record_set,) = metadata["recordSet"]
    names = [field["name"] for field in record_set["field"]]
    assert names == [*MANIFEST_COLUMNS, *LABELS, "image"]
    assert record_set["key"] == {"@id": "images/image_id"}
    label_field = record_set["field"][len(MANIFEST_COLUMNS)]
    assert "negative, positive, suspicious_cancer" in label_field["description"]


def test_croissant_without_a_publication_date_or_the_csv():
    metadata = croissant_metadata(
        make_meta(published=None), [FileEntry("manifest.csv", "a" * 64, 1, "text/csv")], 0, 0
    )
    assert "datePublished" not in metadata

    with pytest.raises(ValueError, match=r"manifest\.csv"):
        croissant_metadata(make_meta(), [FileEntry("x.md", "a" * 64, 1, "text/markdown")], 0, 0)


def test_croissant_json_is_stable_utf8_with_a_final_newline():
    metadata = croissant_metadata(
        make_meta(title="Bogotá"), [FileEntry("manifest.csv", "a" * 64, 1, "text/csv")], 1, 2
    )
    first = croissant_json(metadata)

    assert first == croissant_json(json.loads(first))
    assert first.endswith(b"}\n")
    assert "Bogotá".encode() in first
    assert first.startswith(b'{\n  "@context": {\n')


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test: the release must load offline."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def write_release(root) -> tuple[list[dict], dict[str, tuple[int, int]]]:
    """A small release folder: JPEGs under images/<split>/<case>/, the manifests, the datasheet,
    the licence and croissant.json, as the release build lays them out."""
    specs = [
        (1, "train", (24, 16), {"via_result": "negative", "tz_type": "1"}),
        (2, "validation", (20, 14), {"via_result": "positive", "tz_type": None}),
        (3, "test", (18, 12), {"via_result": "positive", "tz_type": "3"}),
    ]
    rows, sizes = [], {}
    for number, split, size, labels in specs:
        path = f"images/{split}/c-{number:04d}/via-1.jpg"
        target = root / path
        target.parent.mkdir(parents=True)
        PILImage.new("RGB", size, (40 * number, 120, 90)).save(target, "JPEG", quality=90)
        data = target.read_bytes()
        rows.append(
            make_row(
                number,
                split,
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                bytes=len(data),
                width=size[0],
                height=size[1],
                labels=labels,
            )
        )
        sizes[f"i-{number:016x}"] = size
    meta = make_meta()
    frame = manifest_frame(rows, LABELS)
    contents = {
        "manifest.csv": (csv_bytes(frame), "text/csv"),
        "manifest.parquet": (parquet_bytes(frame), "application/x-parquet"),
        "datasheet.md": (datasheet_markdown(meta, empty_stats()).encode(), "text/markdown"),
        "LICENSE.txt": (b"Creative Commons Attribution-NonCommercial 4.0\n", "text/plain"),
    }
    files = []
    for name, (data, encoding) in contents.items():
        (root / name).write_bytes(data)
        files.append(file_entry(name, data, encoding))
    metadata = croissant_metadata(
        meta, files, image_count=len(rows), image_bytes=sum(row["bytes"] for row in rows)
    )
    (root / "croissant.json").write_bytes(croissant_json(metadata))
    return rows, sizes


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_mlcroissant_loads_the_release_and_iterates_one_record_per_image(
    tmp_path, no_network, caplog
):
    rows, sizes = write_release(tmp_path)

    with caplog.at_level(logging.WARNING):
        dataset = mlcroissant.Dataset(jsonld=str(tmp_path / "croissant.json"))
        records = list(dataset.records("images"))

    warnings = [record.getMessage() for record in caplog.records if record.levelno >= 30]
    assert warnings == []
    assert not dataset.metadata.ctx.issues.errors
    assert not dataset.metadata.ctx.issues.warnings
    assert dataset.metadata.version == "1.2.0"
    # mlcroissant yields records in the order of the JPEGs' paths (the join's left side).
    by_id = {record["images/image_id"].decode(): record for record in records}
    assert sorted(by_id) == sorted(row["image_id"] for row in rows)
    assert len(records) == len(rows)
    for row in rows:
        record = by_id[row["image_id"]]
        assert record["images/path"].decode() == row["path"]
        assert record["images/sha256"].decode() == row["sha256"]
        assert record["images/bytes"] == row["bytes"]
        assert record["images/split"].decode() == row["split"]
        assert record["images/image"].size == sizes[row["image_id"]]
    assert by_id["i-0000000000000001"]["images/via_result"] == b"negative"
    assert by_id["i-0000000000000002"]["images/tz_type"] is None
    # The test split's labels are not in the files, so not in the records either.
    assert by_id["i-0000000000000003"]["images/via_result"] is None
    assert by_id["i-0000000000000003"]["images/tz_type"] is None


# --- datasheet and BibTeX -------------------------------------------------------------------


def empty_stats() -> dict:
    return {
        "splits": {},
        "labels": {},
        "sites": {},
        "steps": {},
        "checks": {},
        "reviews": {},
        "excluded_images": 0,
        "countries": [],
        "exam_years": [],
        "changelog": [],
    }


def full_stats() -> dict:
    return {
        "splits": {
            "train": {"cases": 140, "subjects": 131, "images": 563},
            "validation": {"cases": 30, "subjects": 29, "images": 118},
            "test": {"cases": 30, "subjects": 30, "images": 121},
        },
        "labels": {
            "via_result": {
                "train": {"negative": 100, "positive": 30, "missing": 10},
                "validation": {"negative": 21, "positive": 7, "missing": 2},
                "test": {"negative": 22, "positive": 6, "missing": 2},
            },
            "tz_type": {
                "train": {"1": 40, "2": 30, "missing": 70},
                "validation": {"1": 9, "2": 6, "missing": 15},
                "test": {"1": 8, "2": 7, "missing": 15},
            },
        },
        "sites": {
            "kigali": {"train": 130, "validation": 28, "test": 27},
            "huye": {"train": 6, "validation": 1, "test": 2},
            "musanze": {"train": 4, "validation": 1, "test": 1},
        },
        "steps": {
            "via": {"train": 281, "validation": 59, "test": 61},
            "saline": {"train": 282, "validation": 59, "test": 60},
        },
        "checks": {
            "blur": {"pass": 790, "warn": 9, "fail": 3, "error": 0},
            "glare": {"pass": 760, "warn": 30, "fail": 11, "error": 1},
        },
        "reviews": {"reviews": 433, "reviewers": 6, "adjudicated": 17},
        "excluded_images": 27,
        "countries": ["Rwanda"],
        "exam_years": [2018, 2025],
        "changelog": [
            {"kind": "added", "count": 35, "why": "new site musanze"},
            {"kind": "relabelled", "count": 4, "why": "adjudicated | histology"},
        ],
    }


def test_datasheet_has_every_section_in_order():
    text = datasheet_markdown(make_meta(), full_stats())

    positions = [text.index(f"\n## {title}\n") for title in SECTION_TITLES]
    assert positions == sorted(positions)
    assert text.startswith("# Datasheet: VIA screening {Rwanda} 100% & more (version 1.2.0)\n")
    for heading in (
        "### Counts per split",
        "### Label distribution per split",
        "#### VIA result (`via_result`)",
        "#### Transformation zone type (`tz_type`)",
        "### Cases per site and split",
        "### Images per examination step and split",
        "### Automated check verdicts",
    ):
        assert f"\n{heading}\n" in text


def test_datasheet_tables_hold_the_counts():
    text = datasheet_markdown(make_meta(), full_stats())

    assert "| train | 140 | 131 | 563 |" in text
    assert "| total | 200 | 190 | 802 |" in text
    # Class values in the release's order, an unseen class with zeros, missing last.
    via = text.split("#### VIA result")[1].split("####")[0]
    assert via.index("| negative | 100 | 21 | 22 | 143 |") < via.index("| positive |")
    assert "| suspicious_cancer | 0 | 0 | 0 | 0 |" in via
    assert via.index("| suspicious_cancer |") < via.index("| missing | 10 | 2 | 2 | 14 |")
    assert "| huye | 6 | 1 | 2 | 9 |" in text
    assert "| total | 140 | 30 | 30 | 200 |" in text
    assert "| saline | 282 | 59 | 60 | 401 |" in text
    assert "| glare | 760 | 30 | 11 | 1 |" in text
    assert "| 433 | 6 | 17 | 27 |" in text
    assert "| cases relabelled | 4 | adjudicated \\| histology |" in text
    assert "between 2018 and 2025" in text


def test_datasheet_limitations_come_from_the_data():
    text = datasheet_markdown(make_meta(), full_stats())
    limitations = text.split("## Known limitations and biases")[1].split("## Uses to avoid")[0]

    assert "huye (9 cases), musanze (6 cases)" in limitations
    assert "kigali (" not in limitations
    assert "`tz_type`) is missing for 100 of 200 cases (50.0%)" in limitations
    assert "`via_result`) is missing" not in limitations
    assert "negative (143 cases) is 3.3 times as frequent as positive (43 cases)" in limitations
    assert "no case with the value(s): suspicious_cancer" in limitations
    assert "one country (Rwanda)" in limitations
    assert "27 image(s)" in limitations
    assert "screening programmes" in limitations

    stats = full_stats()
    stats["countries"] = ["Rwanda", "Colombia"]
    other = datasheet_markdown(make_meta(), stats)
    assert "one country" not in other
    assert "2 countries: Colombia, Rwanda" in other


def test_datasheet_states_de_identification_and_uses_to_avoid():
    text = datasheet_markdown(make_meta(), full_stats())

    preprocessing = text.split("## Preprocessing and de-identification")[1].split("\n## ")[0]
    assert "stripped when an image is ingested" in preprocessing
    assert "code made for this release only" in preprocessing
    assert "Original file names are never kept" in preprocessing
    uses = text.split("## Uses to avoid")[1].split("\n## ")[0]
    assert "Clinical diagnosis" in uses
    assert "re-identify" in uses


def test_datasheet_of_an_empty_release_and_its_determinism():
    text = datasheet_markdown(make_meta(published=None, label_classes={}), empty_stats())

    for title in SECTION_TITLES:
        assert f"\n## {title}\n" in text
    assert "This release has no labels." in text
    assert "No site recorded." in text
    assert "It is not yet published." in text

    stats = full_stats()
    reordered = full_stats()
    reordered["sites"] = dict(reversed(list(reordered["sites"].items())))
    reordered["checks"] = dict(reversed(list(reordered["checks"].items())))
    assert datasheet_markdown(make_meta(), stats) == datasheet_markdown(make_meta(), reordered)


def parse_bibtex(text: str) -> tuple[str, str, dict[str, str]]:
    """(entry type, key, fields) of exactly one entry; fails on unbalanced braces."""
    match = re.fullmatch(r"@(\w+)\{([^,\s]+),\n(.*)\n\}\n", text, re.DOTALL)
    assert match, text
    depth = 0
    unescaped = re.sub(r"\\[{}]", "", match.group(3))
    for char in unescaped:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, text
    assert depth == 0, text
    fields = dict(re.findall(r"^  (\w+) = \{(.*)\},?$", match.group(3), re.MULTILINE))
    return match.group(1), match.group(2), fields


def test_bibtex_is_one_misc_entry_with_escaped_special_characters():
    entry_type, key, fields = parse_bibtex(bibtex(make_meta(citation="Smith & Jones, 50% {draft}")))

    assert entry_type == "misc"
    assert key == "via-screening_1_2_0"
    assert fields["title"] == r"{VIA screening \{Rwanda\} 100\% \& more}"
    assert fields["author"] == "{Cervical Image Bank}"
    assert fields["year"] == "2026"
    assert fields["version"] == "1.2.0"
    assert fields["url"] == "https://bank.example.org/releases/via-screening/1.2.0/"
    assert fields["note"] == r"Smith \& Jones, 50\% \{draft\}"


def test_bibtex_before_publication_has_no_year_and_appears_in_the_datasheet():
    meta = make_meta(published=None, title="Open_set #1 $5 ^ ~ \\")
    text = bibtex(meta)

    _, _, fields = parse_bibtex(text)
    assert "year" not in fields
    assert fields["title"] == r"{Open\_set \#1 \$5 \^{} \~{} \textbackslash{}}"
    assert text.rstrip("\n") in datasheet_markdown(meta, empty_stats())
