"""On the shared IARC banks imported with --submit: the quality report lists every image with
every check; copies of bank images (re-encoded, resized, marked) imported at another site are
flagged `duplicate` naming the originals, and `similar` finds them too."""

import hashlib
import io
import json
import shutil

import pytest
from django.core.management import call_command
from PIL import Image as PILImage
from PIL import ImageDraw

from curation.checks import registry
from imagebank.models import Image
from tests.conftest import SHARED_DATA, require_service
from tests.factories import make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

IARC = SHARED_DATA / "iarc"


def copies_of(original, folder):
    """A re-encoded, a resized and a marked copy of a bank image."""
    picture = PILImage.open(original).convert("RGB")
    reencoded = folder / "copy-reencoded.jpg"
    picture.save(reencoded, quality=60)
    resized = folder / "copy-resized.jpg"
    picture.resize((picture.width // 2, picture.height // 2)).save(resized, quality=90)
    marked = folder / "copy-marked.jpg"
    drawn = picture.copy()
    ImageDraw.Draw(drawn).line([(20, 20), (120, 60)], fill=(255, 255, 0), width=4)
    drawn.save(marked, quality=92)
    return [reencoded, resized, marked]


def test_the_iarc_banks_go_through_every_check_and_copies_are_found(
    tmp_path, django_capture_on_commit_callbacks
):
    require_service(IARC.exists(), f"{IARC} is not there (a fresh clone)")
    bank_site, other_site = make_site("kisumu"), make_site("elsewhere")
    for site in (bank_site, other_site):
        site.submission_requirements = []  # every imported case is submitted and checked
        site.save()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "ingest",
            str(IARC / "colposcopy"),
            str(IARC / "via"),
            "--site",
            bank_site.slug,
            "--submit",
            stdout=io.StringIO(),
        )
    out = io.StringIO()
    call_command("quality_report", "--site", bank_site.slug, stdout=out)
    report = json.loads(out.getvalue())
    per_image = [record for record in report if record["image"] is not None]
    assert len(per_image) == Image.objects.filter(case__site=bank_site).count() > 300
    names = {check.name for check in registry.checks("image")}
    missing = [r["image"] for r in per_image if set(r["checks"]) != names]
    assert not missing, f"images without every check: {missing[:10]}"
    verdicts = {entry["verdict"] for r in per_image for entry in r["checks"].values()}
    assert verdicts <= {"pass", "warn", "fail", "error"}

    original = next((IARC / "colposcopy").glob("Case */*.jpg"))
    copies_folder = tmp_path / "copies"
    copies_folder.mkdir()
    copies = copies_of(original, copies_folder)
    received = hashlib.sha256(original.read_bytes()).hexdigest()
    originals = Image.objects.filter(case__site=bank_site, original_sha256=received)
    assert originals.exists()
    for copy in copies:
        with django_capture_on_commit_callbacks(execute=True):
            call_command(
                "ingest", str(copy), "--site", other_site.slug, "--submit", stdout=io.StringIO()
            )
    out = io.StringIO()
    call_command("quality_report", "--site", other_site.slug, stdout=out)
    flagged = [r for r in json.loads(out.getvalue()) if r["image"] is not None]
    assert len(flagged) == 3
    original_ids = set(originals.values_list("pk", flat=True))
    for record in flagged:
        assert record["checks"]["duplicate"]["verdict"] in ("warn", "fail"), record
        assert original_ids & {match["image"] for match in record["duplicates"]}, record

    out = io.StringIO()
    call_command("similar", *map(str, copies), "--json", stdout=out)
    answers = json.loads(out.getvalue())
    assert [answer["file"] for answer in answers] == list(map(str, copies))
    for answer in answers:
        assert original_ids & {match["image"] for match in answer["matches"]}, answer
    shutil.rmtree(copies_folder)
