"""The automated checks on the case page: each image's preview with the verdict of the latest
version of every check (word, sign and colour; value and threshold on hover, focus or tap), the
blood and glare overlays to toggle over the preview, the case-level results first, and a clear
state while the checks have not run or are running. Whoever may see the case sees them; the
results here are rows the test creates (the real checks have their own tests)."""

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from curation.models import CheckResult
from imagebank.models import Case
from tests.factories import add_core_images, make_case, make_contributor, make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def overlay_png(size=(64, 48), colour=(200, 0, 0, 200)) -> bytes:
    """A mask: transparent, with a coloured block where the check found something."""
    mask = PILImage.new("RGBA", size, (0, 0, 0, 0))
    mask.paste(colour, (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return out.getvalue()


def stored_overlay(name: str = "blood", data: bytes | None = None) -> str:
    """The key of an overlay PNG in private storage, as the runner keeps them."""
    return default_storage.save(f"checks/test/{name}.png", ContentFile(data or overlay_png()))


def case_in_review(site=None, actor=None, state: str = "in_review"):
    """A case with its three core images processed, moved to `state` without running the real
    checks (the test writes the results itself)."""
    case = make_case(site=site, actor=actor)
    images = add_core_images(case, case.created_by)
    Case.objects.filter(pk=case.pk).update(state=state, submitted_at=timezone.now())
    case.refresh_from_db()
    return case, images


def result(case, image, check_name, verdict, **values) -> CheckResult:
    values.setdefault("version", "1")
    values.setdefault("detail", f"{check_name} says {verdict}.")
    return CheckResult.objects.create(
        case=case, image=image, check_name=check_name, verdict=verdict, **values
    )


def checked_case(site=None, actor=None):
    """A case in review with results of every kind, a blood and a glare overlay on its first
    image, and an older version of one check that must not show."""
    case, images = case_in_review(site=site, actor=actor)
    first, second, _third = images
    rows = {
        "sequence": result(case, None, "sequence_complete", "pass", detail="All steps present."),
        "blood": result(
            case,
            first,
            "blood",
            "fail",
            value=0.4213,
            threshold=0.25,
            thresholds={"warn_fraction": 0.1, "fail_fraction": 0.25},
            detail="Blood covers 42% of the cervix.",
            overlay=stored_overlay("blood"),
        ),
        "glare": result(
            case,
            first,
            "glare",
            "warn",
            value=0.061,
            threshold=0.05,
            detail="Glare covers 6% of the cervix.",
            overlay=stored_overlay("glare"),
        ),
        "focus": result(case, second, "focus", "pass", value=812.5, threshold=120.0),
        "exposure": result(case, second, "exposure", "error", detail="The check crashed."),
    }
    old = result(case, second, "focus", "fail", version="0", detail="OLD VERSION")
    CheckResult.objects.filter(pk=old.pk).update(checked_at=timezone.now() - timedelta(days=3))
    return case, images, rows


def panel_of(page: str) -> str:
    start = page.index("data-check-panel")
    return page[start : page.index("</section>", start)]


def test_the_case_page_shows_each_result_with_its_verdict_value_threshold_and_detail():
    case, images, _rows = checked_case()
    page = signed_in(case.created_by).get(reverse("imagebank:case-detail", args=[case.pk]))
    assert page.status_code == 200
    panel = panel_of(page.content.decode())
    assert 'data-checks-state="done"' in panel
    blood = panel.split('data-check="blood"', 1)[1].split("</li>", 1)[0]
    assert 'data-verdict="fail"' in panel
    # The verdict in words and with a sign, not only a colour.
    assert "verdict verdict-fail" in blood and "Fail" in blood and "✕" in blood
    assert 'aria-expanded="false"' in blood and "aria-controls=" in blood
    assert "<dd data-value>0.4213</dd>" in blood
    assert "<dd data-threshold>0.25</dd>" in blood
    assert "fail_fraction" in blood and "warn_fraction" in blood
    assert "Blood covers 42% of the cervix." in blood
    glare = panel.split('data-check="glare"', 1)[1].split("</li>", 1)[0]
    assert "Warning" in glare and "verdict-warn" in glare
    exposure = panel.split('data-check="exposure"', 1)[1].split("</li>", 1)[0]
    assert "Check failed to run" in exposure and "<dd data-value>—</dd>" in exposure
    # The latest version of each check only.
    assert "OLD VERSION" not in panel
    assert panel.count('data-check="focus"') == 1
    # Each image of the case has its block, with its preview; the one without results says so.
    for image in images:
        assert f'data-check-image="{image.pk}"' in panel
        assert reverse("imagebank:image-file", args=[image.pk, "preview"]) in panel
    third = panel.split(f'data-check-image="{images[2].pk}"', 1)[1]
    assert "data-image-not-checked" in third


def test_case_level_results_come_first():
    case, _images, _rows = checked_case()
    panel = panel_of(
        signed_in(case.created_by)
        .get(reverse("imagebank:case-detail", args=[case.pk]))
        .content.decode()
    )
    assert panel.index('data-check="sequence_complete"') < panel.index("data-check-image=")
    assert "All steps present." in panel


def test_the_overlays_are_stacked_hidden_over_the_preview_with_a_pressed_toggle():
    case, images, rows = checked_case()
    panel = panel_of(
        signed_in(case.created_by)
        .get(reverse("imagebank:case-detail", args=[case.pk]))
        .content.decode()
    )
    first = panel.split(f'data-check-image="{images[0].pk}"', 1)[1].split("</li>", 1)[0]
    for name in ("blood", "glare"):
        url = reverse("curation:check-overlay", args=[rows[name].pk])
        overlay = first.split(f'src="{url}"', 1)[1].split(">", 1)[0]
        assert "hidden" in overlay and f'data-overlay="{name}"' in overlay
        toggle = first.split(f'data-overlay-toggle="{name}"', 1)[0].rsplit("<button", 1)[1]
        assert 'type="button"' in toggle and 'aria-pressed="false"' in toggle
        assert f'aria-controls="overlay-{rows[name].pk}"' in toggle
    # Images without an overlay get no toggle; no inline script or style (the CSP forbids them).
    second = panel.split(f'data-check-image="{images[1].pk}"', 1)[1].split("</li>", 1)[0]
    assert "data-overlay-toggle" not in second
    page = signed_in(case.created_by).get(reverse("imagebank:case-detail", args=[case.pk]))
    html = page.content.decode()
    assert "curation/js/check_overlays.js" in html and "<script>" not in html
    assert "style=" not in panel_of(html)


@pytest.mark.parametrize(
    ("state", "marker", "words"),
    [
        ("draft", "data-checks-not-run", "run when the case is submitted"),
        ("submitted", "data-checks-running", "are running"),
        ("quality_checks", "data-checks-running", "are running"),
        ("in_review", "data-checks-not-run", "have not run on this case yet"),
    ],
)
def test_a_case_without_results_says_whether_its_checks_are_to_come_or_running(
    state, marker, words
):
    case, _images = case_in_review(state=state)
    page = signed_in(case.created_by).get(reverse("imagebank:case-detail", args=[case.pk]))
    panel = panel_of(page.content.decode())
    assert marker in panel and words in panel
    assert "data-check-image" not in panel


def test_results_stored_while_the_checks_run_show_with_the_running_notice():
    case, images = case_in_review(state="quality_checks")
    result(case, images[0], "resolution", "pass", value=640, threshold=320)
    panel = panel_of(
        signed_in(case.created_by)
        .get(reverse("imagebank:case-detail", args=[case.pk]))
        .content.decode()
    )
    assert "data-checks-running" in panel and 'data-check="resolution"' in panel


def test_the_contributor_reviewers_and_curators_see_them_and_nobody_else_does():
    from tests.totp import with_totp

    case, _images, rows = checked_case()
    curator = make_user_with_role(Role.CURATOR)
    with_totp(curator)
    url = reverse("imagebank:case-detail", args=[case.pk])
    for user in (case.created_by, make_user_with_role(Role.REVIEWER), curator):
        page = signed_in(user).get(url)
        assert page.status_code == 200
        assert 'data-check="blood"' in page.content.decode()
    # A contributor of another site does not see the case, so nor its results.
    outsider = make_contributor()
    assert signed_in(outsider).get(url).status_code == 404


def test_a_reviewer_does_not_see_a_draft_nor_its_results():
    case, _images = case_in_review(state="draft")
    result(case, None, "sequence_complete", "fail", detail="SECRET DRAFT RESULT")
    page = signed_in(make_user_with_role(Role.REVIEWER)).get(
        reverse("imagebank:case-detail", args=[case.pk])
    )
    assert page.status_code == 404
    assert b"SECRET DRAFT RESULT" not in page.content
