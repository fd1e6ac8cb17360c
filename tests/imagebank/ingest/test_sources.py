"""Detecting the format of each path, and telling the paths of one import apart in its report."""

import pytest

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.sources import ingest_paths
from tests.factories import make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


def test_every_problem_and_case_names_the_path_it_came_from(tmp_path):
    site = make_site()
    first, second = tmp_path / "bank-a.jpg", tmp_path / "bank-b.jpg"
    first.write_bytes(render_jpeg("after_lugol", seed=1, size=(160, 120)))
    second.write_bytes(b"not an image")
    report = ingest_paths([first, second], site=site, actor=make_contributor(site))
    assert [(c.source, c.outcome) for c in report.cases] == [
        ("bank-a.jpg", "created"),
        ("bank-b.jpg", "rejected"),
    ]
    assert {p.source for p in report.errors} == {"bank-b.jpg"}


def test_a_path_that_is_no_known_format_is_reported(tmp_path):
    site = make_site()
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    missing = tmp_path / "absent"
    report = ingest_paths([odd, missing], site=site, actor=make_contributor(site))
    assert [(p.source, p.level) for p in report.problems] == [
        ("notes.txt", "error"),
        ("absent", "error"),
    ]
    assert "Not a format the bank reads" in report.problems[0].message


def test_a_workbook_in_an_archive_is_not_taken_for_a_nested_archive(tmp_path):
    import io
    import zipfile

    from openpyxl import Workbook

    book = io.BytesIO()
    Workbook().save(book)
    archive = tmp_path / "sent.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("folder/notes.xlsx", book.getvalue())
        handle.writestr("folder/inner.zip", _empty_zip())
    site = make_site()
    report = ingest_paths([archive], site=site, actor=make_contributor(site))
    nested = [p.file for p in report.problems if "archive inside an archive" in p.message]
    assert nested == ["sent.zip/folder/inner.zip"]


def _empty_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        handle.writestr("a.txt", "a")
    return buffer.getvalue()
