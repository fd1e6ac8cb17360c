"""The contributor attests research consent on the edit form in a real browser, and the case page
says so (the basis, who, and the history line)."""

import re

import pytest

from imagebank.models import Case
from tests.factories import PASSWORD, make_case, make_contributor, make_site
from tests.portal import test_browser
from tests.portal.test_browser import PHONE, assert_fits_phone, screenshot

browser_page = test_browser.browser_page


@pytest.mark.django_db(transaction=True)
def test_the_contributor_ticks_the_attestation_and_the_case_page_shows_it(
    live_server, browser_page
):
    page = browser_page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example", full_name="Achieng Otieno")
    case = make_case(site, contributor, source_reference="Case 002")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))

    page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert "Not recorded" in page.locator(".consent-fact").inner_text()
    page.goto(f"{live_server.url}/cases/{case.pk}/edit/")
    box = page.get_by_label(
        "I attest that the subject gave informed consent for the research use of these images"
    )
    assert not box.is_checked()
    box.check()
    screenshot(page, "case-edit-consent")
    page.set_viewport_size(PHONE)
    assert_fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))

    fact = page.locator(".consent-fact").inner_text()
    assert "Attested by the contributor" in fact and "Achieng Otieno" in fact
    assert (
        "Research consent: not recorded → Attested by the contributor"
        in page.locator(".timeline").inner_text()
    )
    case.refresh_from_db()
    assert case.consent_basis == "attested" and case.consent_attested_by == contributor
    assert Case.objects.get(pk=case.pk).consent_attested_at is not None
