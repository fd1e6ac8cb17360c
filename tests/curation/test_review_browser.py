"""The review in Chromium, end to end: a contributor submits a case and its checks run (in the
live server's process, as the tasks run eagerly); two reviewers of other sites each ask the queue
page for the next case, flag an image, draw a lesion outline with the mouse on the image (the
second zoomed in, and through the keyboard shortcuts), answer the eligibility checklist and
accept; the case is accepted and both outlines are on its page, in the image's own pixels."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from curation.models import ImageFlag, Outline, Review, ReviewStatus
from imagebank.lifecycle import CaseState
from imagebank.models import Case
from tests.curation.test_review_queue import reviewer
from tests.factories import PASSWORD, add_core_images, make_case, make_contributor, make_site
from tests.portal import test_browser
from tests.portal.test_browser import PHONE, assert_fits_phone, screenshot

browser_page = test_browser.browser_page

# Where the outlines are clicked, as fractions of the shown image (x, y).
SQUARE = [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)]


def sign_in(page, live_server, user) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', user.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))


def click_points(page, viewer, fractions, *, close_with_double_click: bool) -> None:
    viewer.scroll_into_view_if_needed()
    box = viewer.bounding_box()
    spots = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in fractions]
    *first, last = spots
    for x, y in first:
        page.mouse.click(x, y)
    if close_with_double_click:
        page.mouse.dblclick(*last)
    else:
        page.mouse.click(*last)
        page.keyboard.press("Enter")


def answer_checklist(page) -> None:
    for item in page.locator("[data-eligibility]").all():
        item.get_by_label("Yes").check()


def assert_square(outline, image, lo=0.3, hi=0.7, tolerance=0.02) -> None:
    """The outline's points are the clicked square in the image's own pixels."""
    assert len(outline.points) == 4, outline.points
    xs = sorted(x / image.width for x, _y in outline.points)
    ys = sorted(y / image.height for _x, y in outline.points)
    for low, high in ((xs[:2], xs[2:]), (ys[:2], ys[2:])):
        assert all(abs(v - lo) < tolerance for v in low), outline.points
        assert all(abs(v - hi) < tolerance for v in high), outline.points


@pytest.fixture
def default_checklist():
    """The default eligibility items, as migration 0004 installs them: a transactional test before
    this one (live_server tests are) flushes the tables, data migrations' rows included."""
    from importlib import import_module

    from django.apps import apps

    import_module("curation.migrations.0004_default_eligibility_items").add_items(apps, None)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_flag_outline_and_accept_a_case(live_server, browser_page, default_checklist):
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example")
    case = make_case(site, contributor, local_patient_id="KCH/2024/03001")
    add_core_images(case, contributor, seed=5, size=(800, 600))
    # Reviewers who contribute elsewhere: never handed their own site's cases.
    first = reviewer(make_site("eldoret"), email="first@eldoret.example")
    second = reviewer(make_site("nakuru"), email="second@nakuru.example")

    # The contributor submits; the checks run and the case reaches review.
    sign_in(page, live_server, contributor)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))
    case.refresh_from_db()
    assert case.state == CaseState.IN_REVIEW
    acetic = case.images.get(step="after_acetic_acid")

    # The first reviewer: the queue page, the next case, a flag, an outline closed with a
    # double-click, the checklist, accept.
    sign_in(page, live_server, first)
    page.goto(f"{live_server.url}/review/")
    assert page.locator("[data-available]").get_attribute("data-available") == "1"
    screenshot(page, "review-queue")
    page.get_by_role("button", name="Next case").click()
    page.wait_for_url(re.compile(r"/review/\d+/$"))
    review = Review.objects.get(reviewer=first)
    assert review.case_id == case.pk and review.status == ReviewStatus.CLAIMED
    card = page.locator(f'[data-review-image="{acetic.pk}"]')
    card.get_by_label("Flag this image").select_option("blood")
    card.get_by_role("button", name="Add the flag").click()
    page.wait_for_url(re.compile(rf"/review/{review.pk}/#image-{acetic.pk}$"))
    assert ImageFlag.objects.get(review=review).reason == "blood"
    card = page.locator(f'[data-review-image="{acetic.pk}"]')
    assert card.locator("[data-flag]").count() == 1

    card.get_by_role("button", name="Draw on the image").click()
    viewer = card.locator("[data-viewer]")
    click_points(page, viewer, SQUARE, close_with_double_click=True)
    assert card.locator("[data-draw-status]").inner_text().startswith("Outline closed with 4")
    screenshot(page, "review-outline-drawn")
    card.get_by_role("button", name="Save the outline").click()
    page.wait_for_url(re.compile(rf"/review/{review.pk}/#image-{acetic.pk}$"))
    outline = Outline.objects.get(review=review)
    assert outline.kind == "lesion" and outline.image_id == acetic.pk
    assert_square(outline, acetic)
    assert page.locator(f'[data-outline="{outline.pk}"]').count() == 1

    # The wheel zooms an image once it is clicked; "Fit" puts it back.
    viewer = page.locator(f'[data-review-image="{acetic.pk}"] [data-viewer]')
    viewer.click()
    page.mouse.wheel(0, -400)
    page.wait_for_function(
        "(pk) => document.querySelector(`[data-review-image='${pk}'] [data-viewer]`)"
        ".classList.contains('is-zoomed')",
        arg=acetic.pk,
    )
    page.locator(f'[data-review-image="{acetic.pk}"]').get_by_role("button", name="Fit").click()
    assert "is-zoomed" not in (viewer.get_attribute("class") or "")

    # The full-resolution original on demand.
    full = page.locator(f'[data-review-image="{acetic.pk}"] [data-full-resolution]')
    full.click()
    assert full.get_attribute("aria-pressed") == "true"
    page.wait_for_function(
        "(pk) => { const img = document.querySelector("
        "`[data-review-image='${pk}'] img.viewer-image`);"
        " return img.src.endsWith('/original/') && img.complete && img.naturalWidth === 800; }",
        arg=acetic.pk,
    )

    assert page.locator("[data-eligibility]").count() == 5  # the default checklist
    answer_checklist(page)
    page.get_by_label("Accept").check()
    screenshot(page, "review-screen")
    page.get_by_role("button", name="Submit my review").click()
    page.wait_for_url(re.compile(r"/review/$"))
    assert "No case is waiting for you now" in page.locator(".messages").inner_text()
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED and review.decision == "accept"

    # The second reviewer, by the keyboard: n on the queue page, j to the next image, f to flag,
    # the outline drawn zoomed in and closed with Enter, a to accept, n to submit.
    sign_in(page, live_server, second)
    page.goto(f"{live_server.url}/review/")
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/review/\d+/$"))
    review = Review.objects.get(reviewer=second)
    assert review.case_id == case.pk
    # Blinded: nothing of the first reviewer's review shows.
    assert page.locator("[data-flag]").count() == 0 and page.locator("[data-outline]").count() == 0
    page.locator("[data-review-image]").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("f")
    focused = page.evaluate("() => document.activeElement.id")
    assert focused == f"flag-reason-{acetic.pk}", focused
    page.keyboard.press("Escape")
    # An answer given before the page reloads (adding a flag) is still there after it.
    page.get_by_label("Transformation zone type").select_option("type_1")
    card = page.locator(f'[data-review-image="{acetic.pk}"]')
    card.get_by_label("Flag this image").select_option("wrong_step")
    card.get_by_label("The right step (for a wrong step label)").select_option("after_lugol")
    card.get_by_role("button", name="Add the flag").click()
    page.wait_for_url(re.compile(rf"#image-{acetic.pk}$"))
    flag = ImageFlag.objects.get(review=review)
    assert (flag.reason, flag.correct_step) == ("wrong_step", "after_lugol")
    assert page.get_by_label("Transformation zone type").input_value() == "type_1"

    card = page.locator(f'[data-review-image="{acetic.pk}"]')
    viewer = card.locator("[data-viewer]")
    # Zoomed 1.5× about the centre, the square drawn from 0.3 to 0.7 of the box is the image's
    # 0.3667 to 0.6333 (centre ± 0.2 / 1.5).
    # Backspace takes the last point back; Escape gives the drawing up.
    card.get_by_role("button", name="Draw on the image").click()
    click_points(page, viewer, SQUARE[:2], close_with_double_click=False)
    status = card.locator("[data-draw-status]")
    assert "need" in status.inner_text() or "three" in status.inner_text()
    page.keyboard.press("Backspace")
    assert "(1 so far)" in status.inner_text()
    page.keyboard.press("Escape")
    assert status.inner_text() == "Drawing cancelled."
    assert card.locator("[data-drawing]").get_attribute("points") == ""

    card.get_by_role("button", name="Zoom in").click()
    card.get_by_role("button", name="Draw on the image").click()
    click_points(page, viewer, SQUARE, close_with_double_click=False)
    card.get_by_role("button", name="Save the outline").click()
    page.wait_for_url(re.compile(rf"#image-{acetic.pk}$"))
    outline = Outline.objects.get(review=review)
    assert_square(outline, acetic, lo=0.5 - 0.2 / 1.5, hi=0.5 + 0.2 / 1.5)

    page.locator("body").click(position={"x": 2, "y": 2})
    page.keyboard.press("a")
    assert page.get_by_label("Accept").is_checked()
    answer_checklist(page)
    # With the focus on a radio button of the checklist (an answer already pre-filled is not
    # clicked by check(), so it is focused here), the shortcuts still work.
    page.locator("[data-eligibility]").last.get_by_label("Yes").focus()
    assert page.evaluate("() => document.activeElement.type") == "radio"
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/review/$"))
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED and review.decision == "accept"

    # Both agree: the case is accepted, and its page shows both outlines to the contributor.
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED
    sign_in(page, live_server, contributor)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    panel = page.locator("[data-review-outlines]")
    panel.wait_for()
    for outline in Outline.objects.filter(review__case=case):
        assert panel.locator(f'[data-outline="{outline.pk}"]').count() == 1
    assert "first@eldoret.example" not in panel.inner_text()
    screenshot(page, "review-outlines-on-case-page")
    mask = page.request.get(
        f"{live_server.url}/files/outlines/{Outline.objects.filter(review__case=case).first().pk}/mask.png"
    )
    assert mask.status == 200 and mask.headers["content-type"] == "image/png"
    assert Case.objects.get(pk=case.pk).state == CaseState.ACCEPTED
    assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_review_screen_fits_a_phone(live_server, browser_page):
    page = browser_page
    site = make_site("kisumu")
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    add_core_images(case, contributor, seed=6, size=(800, 600))
    from tests.curation.test_review_queue import to_review

    to_review(case)
    expert = reviewer(email="expert@example.org")
    sign_in(page, live_server, expert)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/review/")
    assert_fits_phone(page)
    page.get_by_role("button", name="Next case").click()
    page.wait_for_url(re.compile(r"/review/\d+/$"))
    assert_fits_phone(page)
    screenshot(page, "review-screen-390")
    # Every field has a label; every button a name.
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter((el) => el.type !== 'hidden')
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map((el) => el.outerHTML.slice(0, 80))"""
    )
    nameless = page.evaluate(
        """() => Array.from(document.querySelectorAll('button'))
            .filter((el) => !(el.getAttribute('aria-label') || el.textContent.trim()))
            .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert unlabelled == [] and nameless == [], (unlabelled, nameless)

    # A claim about to end says so, and says when it has ended.
    Review.objects.filter(reviewer=expert).update(
        claim_expires=timezone.now() + timedelta(seconds=3)
    )
    page.reload()
    notice = page.locator("[data-claim-ending]")
    notice.wait_for()
    assert "ends in 1 min" in notice.inner_text()
    page.wait_for_function(
        "() => document.querySelector('[data-claim-ending]').textContent.includes('expired')"
    )
    page.reload()
    assert page.locator("[data-claim-expired]").is_visible()
    assert page.locator("#decision-form").count() == 0
