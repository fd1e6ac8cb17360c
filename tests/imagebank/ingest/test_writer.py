"""The writer and the ingest command: one transaction per case, valid images kept, re-runs idle."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from fixtures.synthetic_cervix import render_jpeg
from imagebank.filenames import stored_name, stored_path
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.report import IngestReport, Level, Outcome
from imagebank.ingest.runs import IMPORTER_EMAIL, importer_for
from imagebank.ingest.writer import write_case
from imagebank.models import Case, CaseEvent, Image, IngestRun, Site
from tests.factories import make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


def image(name: str, data: bytes, step: str = "after_acetic_acid", order: int | None = None):
    return ImageItem(filename=name, read=lambda: data, step=step, display_order=order)


def jpeg(seed: int) -> bytes:
    return render_jpeg("after_acetic_acid", seed=seed, size=(160, 120))


def counts() -> tuple[int, int, int]:
    return Case.objects.count(), Image.objects.count(), CaseEvent.objects.count()


@pytest.fixture
def actor(site):
    return make_contributor(site)


def test_a_case_is_stored_with_its_valid_images_and_the_rest_reported(site, actor):
    report = IngestReport()
    item = CaseItem(
        reference="Case 7",
        local_patient_id="P-7",
        metadata={"age_at_exam": 33, "hpv_result": "positive"},
        images=[
            image("image 2.jpg", jpeg(2), order=2),
            image("image 1.jpg", jpeg(1), step="before_acetic_acid", order=1),
            image("broken.jpg", b"not an image at all", order=3),
        ],
    )
    result = write_case(site=site, actor=actor, item=item, report=report)
    assert result.outcome == Outcome.CREATED
    assert (result.images_added, result.images_left_out) == (2, 1)
    case = Case.objects.get(pk=result.case_id)
    assert case.age_at_exam == 33 and case.hpv_result == "positive"
    assert list(case.images.values_list("original_filename", "display_order", "step")) == [
        ("image 1.jpg", 1, "before_acetic_acid"),
        ("image 2.jpg", 2, "after_acetic_acid"),
    ]
    [error] = report.errors
    assert error.file == "broken.jpg" and error.case == "Case 7"


def test_invalid_metadata_writes_nothing_and_names_the_field(site, actor):
    before = counts()
    report = IngestReport()
    item = CaseItem(
        reference="Case 8",
        local_patient_id="P-8",
        metadata={"cytology": "very bad"},
        images=[image("a.jpg", jpeg(1))],
    )
    result = write_case(site=site, actor=actor, item=item, report=report)
    assert result.outcome == Outcome.REJECTED
    assert counts() == before
    assert any(p.field == "cytology" for p in report.errors)


def test_a_case_without_any_valid_image_is_not_stored(site, actor):
    before = counts()
    report = IngestReport()
    item = CaseItem("Case 9", "P-9", images=[image("x.jpg", b"\xff\xd8\xff garbage")])
    assert write_case(site=site, actor=actor, item=item, report=report).outcome == Outcome.REJECTED
    assert counts() == before
    assert [p.file for p in report.errors][0] == "x.jpg"


def test_running_the_same_case_again_creates_nothing(site, actor):
    item = CaseItem("Case 1", "P-1", images=[image("a.jpg", jpeg(1)), image("b.jpg", jpeg(2))])
    first = write_case(site=site, actor=actor, item=item, report=IngestReport())
    before = counts()
    report = IngestReport()
    again = write_case(site=site, actor=actor, item=item, report=report)
    assert again.outcome == Outcome.UNCHANGED and again.case_id == first.case_id
    assert again.images_already_in_bank == 2
    assert counts() == before
    assert all(p.level == Level.INFO for p in report.problems)


def test_the_same_file_twice_in_a_case_is_kept_once(site, actor):
    data = jpeg(3)
    report = IngestReport()
    item = CaseItem("Case 2", "P-2", images=[image("a.jpg", data), image("copy.jpg", data)])
    result = write_case(site=site, actor=actor, item=item, report=report)
    assert result.images_added == 1
    assert [p.file for p in report.warnings] == ["copy.jpg"]


def test_the_ingest_command_imports_files_and_writes_a_json_report(tmp_path, site):
    (tmp_path / "one.jpg").write_bytes(jpeg(4))
    (tmp_path / "two.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    report_path = tmp_path / "report.json"
    out = io.StringIO()
    call_command(
        "ingest",
        str(tmp_path / "one.jpg"),
        str(tmp_path / "two.png"),
        str(tmp_path / "nope"),
        "--site",
        site.slug,
        "--report",
        str(report_path),
        stdout=out,
    )
    report = json.loads(report_path.read_text())
    assert report["summary"]["cases_created"] == 1
    # Named as the file-name policy allows: "two" is no neutral word, nor are the server's folders.
    assert {p["file"] for p in report["problems"] if p["level"] == "error"} >= {
        stored_name("two.png"),
        stored_path(str(tmp_path / "nope")),
    }
    run = IngestRun.objects.get()
    assert run.status == IngestRun.Status.DONE and run.report == report
    # The audit trail names the import account, which cannot sign in.
    case = Case.objects.get()
    assert case.created_by.email == IMPORTER_EMAIL
    assert not case.created_by.has_usable_password()
    assert "1 created" in out.getvalue()

    call_command("ingest", str(tmp_path / "one.jpg"), "--site", site.slug, stdout=io.StringIO())
    assert Case.objects.count() == 1
    assert IngestRun.objects.first().summary["images_already_in_bank"] == 1


def test_the_ingest_command_needs_an_existing_site(tmp_path):
    with pytest.raises(CommandError, match="create_site"):
        call_command("ingest", str(tmp_path), "--site", "nowhere")


def test_create_site_command():
    call_command("create_site", "kdh", "--name", "Kisumu", "--country", "ke", stdout=io.StringIO())
    site = Site.objects.get(slug="kdh")
    assert site.country == "KE" and site.contributors_group.name == "site:kdh:contributors"
    with pytest.raises(CommandError, match="exists"):
        call_command("create_site", "kdh", "--name", "Again", "--country", "KE")
    with pytest.raises(CommandError, match="country"):
        call_command("create_site", "bad", "--name", "Bad", "--country", "Kenya")
    assert not Site.objects.filter(slug="bad").exists()


def test_the_importer_contributes_only_where_it_imported(site):
    importer = importer_for(site)
    other = make_site()
    from imagebank.permissions import can_contribute_to

    assert can_contribute_to(importer, site) and not can_contribute_to(importer, other)


def test_new_images_of_a_case_already_in_the_bank_join_that_case(site, actor):
    first = write_case(
        site=site,
        actor=actor,
        item=CaseItem("Case 3", "P-3", images=[image("image 1.jpg", jpeg(1), order=1)]),
        report=IngestReport(),
    )
    report = IngestReport()
    again = write_case(
        site=site,
        actor=actor,
        item=CaseItem(
            "Case 3",
            "P-3",
            images=[
                image("image 1.jpg", jpeg(1), order=1),
                image("image 2.jpg", jpeg(2), order=2),
            ],
        ),
        report=report,
    )
    assert again.outcome == Outcome.UPDATED and again.case_id == first.case_id
    assert (again.images_added, again.images_already_in_bank) == (1, 1)
    assert Case.objects.count() == 1
    assert list(Case.objects.get().images.values_list("original_filename", "display_order")) == [
        ("image 1.jpg", 1),
        ("image 2.jpg", 2),
    ]
    assert report.summary()["cases_updated"] == 1


def test_a_case_under_review_gets_no_new_images_and_the_report_says_why(site, actor):
    from imagebank.lifecycle import CaseState
    from imagebank.services.cases import transition_case

    first = write_case(
        site=site,
        actor=actor,
        item=CaseItem("Case 4", "P-4", images=[image("a.jpg", jpeg(1))]),
        report=IngestReport(),
    )
    transition_case(case=Case.objects.get(pk=first.case_id), to_state=CaseState.SUBMITTED)
    before = counts()
    report = IngestReport()
    again = write_case(
        site=site,
        actor=actor,
        item=CaseItem("Case 4", "P-4", images=[image("a.jpg", jpeg(1)), image("b.jpg", jpeg(2))]),
        report=report,
    )
    assert again.outcome == Outcome.UNCHANGED and again.images_left_out == 1
    assert counts() == before
    [error] = report.errors
    assert str(first.case_id) in error.message and error.case == "Case 4"


def test_a_case_that_fails_midway_leaves_database_and_storage_as_they_were(
    site, actor, local_storage, monkeypatch
):
    from imagebank.services import images as image_services

    real = image_services.record_image_event
    calls = []

    def failing_on_second(*args):
        # The second image's row is written, then its audit event fails.
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(*args)

    monkeypatch.setattr(image_services, "record_image_event", failing_on_second)
    before = counts()
    item = CaseItem("Case 5", "P-5", images=[image("a.jpg", jpeg(1)), image("b.jpg", jpeg(2))])
    with pytest.raises(RuntimeError):
        write_case(site=site, actor=actor, item=item, report=IngestReport())
    assert counts() == before
    assert [p for p in local_storage.rglob("*") if p.is_file()] == []


def test_a_case_its_own_checks_refuse_is_reported_not_raised(site, actor, local_storage):
    before = counts()
    report = IngestReport()
    # Each component is valid alone; together they add up to 0, not the 7 given.
    item = CaseItem(
        "Case 6",
        "P-6",
        metadata={
            "swede_aceto_uptake": "nil_or_transparent",
            "swede_margins": "nil_or_diffuse",
            "swede_vessels": "fine_regular",
            "swede_lesion_size": "lt_5mm",
            "swede_iodine_uptake": "brown",
            "swede_total": 7,
        },
        images=[image("a.jpg", jpeg(1))],
    )
    result = write_case(site=site, actor=actor, item=item, report=report)
    assert result.outcome == Outcome.REJECTED and result.images_added == 0
    assert counts() == before
    assert any(p.field == "swede_total" for p in report.errors)
    assert [p for p in local_storage.rglob("*") if p.is_file()] == []


def test_imported_images_come_with_their_previews_and_need_no_worker(site, actor, monkeypatch):
    from imagebank import tasks
    from imagebank.models import ProcessingStatus

    queued = []
    monkeypatch.setattr(tasks.process_image, "delay", lambda pk: queued.append(pk))
    result = write_case(
        site=site,
        actor=actor,
        item=CaseItem("Case 10", "P-10", images=[image("a.jpg", jpeg(1))]),
        report=IngestReport(),
    )
    stored = Image.objects.get(case_id=result.case_id)
    assert stored.processing_status == ProcessingStatus.DONE
    assert stored.preview and stored.thumbnail and (stored.width, stored.height) == (160, 120)
    assert queued == []
