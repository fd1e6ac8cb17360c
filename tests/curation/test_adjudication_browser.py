"""A disagreement in Chromium: two reviewers of other sites disagree (one accepts, one rejects),
the case goes to the curators' adjudication list, and a curator opens it from the navigation,
sees both reviews side by side, and decides; the decision is final, the case accepted, and the
contributor is told on their dashboard."""

import re

import pytest

from curation.models import Adjudication, EntryStatus, Notice, QueueEntry
from curation.services import reviews
from imagebank.lifecycle import CaseState
from tests.curation.test_checks_browser import sign_in
from tests.curation.test_review_queue import accept, in_review_case, reject, reviewer
from tests.factories import make_contributor, make_site, make_user_with_role
from tests.portal import test_browser
from tests.portal.test_browser import PHONE, assert_fits_phone, screenshot
from tests.roles import Role
from tests.totp import with_totp

browser_page = test_browser.browser_page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_disagreement_goes_to_a_curator_who_decides(live_server, browser_page):
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example")
    case = in_review_case(site=site, contributor=contributor, images=True)
    accept(reviews.claim_next(reviewer(make_site("eldoret"))))
    reject(reviews.claim_next(reviewer(make_site("nakuru"))), message="Too blurred to judge.")
    case.refresh_from_db()
    entry = QueueEntry.objects.get(case=case)
    assert case.state == CaseState.IN_REVIEW and entry.status == EntryStatus.ADJUDICATION

    curator = make_user_with_role(Role.CURATOR, email="curator@bank.example")
    with_totp(curator)
    sign_in(page, live_server, curator)
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Adjudication").click()
    row = page.locator(f'[data-entry="{entry.pk}"]')
    row.wait_for()
    assert "Accept / Reject" in row.inner_text()
    screenshot(page, "adjudication-list")
    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile(rf"/curation/adjudication/{entry.pk}/$"))
    for review in entry.reviews.filter(status="submitted"):
        assert page.locator(f'[data-review="{review.pk}"]').count() >= 1
    assert "Too blurred to judge." in page.content()
    form = page.locator("[data-adjudication-form]")
    form.get_by_label("Accept").check()
    form.get_by_label("Message to the contributor").fill(
        "Usable after all: the Lugol image is sharp."
    )
    screenshot(page, "adjudication")
    page.set_viewport_size(PHONE)
    assert_fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    form.get_by_role("button", name="Record the final decision").click()
    page.wait_for_url(re.compile(r"/curation/adjudication/$"))

    adjudication = Adjudication.objects.get(entry=entry)
    assert adjudication.curator == curator and adjudication.decision == "accept"
    case.refresh_from_db()
    entry.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and entry.status == EntryStatus.DECIDED
    # The contributor hears of it on the dashboard.
    assert Notice.objects.filter(user=contributor, case=case, kind="accepted").exists()
    sign_in(page, live_server, contributor)
    page.goto(f"{live_server.url}/dashboard/")
    notice = page.locator('[data-notices] [data-kind="accepted"]')
    assert notice.count() == 1 and f"/cases/{case.pk}/" in notice.inner_html()
    assert errors == []
