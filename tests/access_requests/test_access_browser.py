"""Governed access end to end in a real browser (issue 13, "Done when").

A researcher creates a group, requests a published release and signs the data use agreement; a
committee member, signed in with a second factor, asks for changes, then approves the amended
request; the researcher downloads the release (a ZIP holding the release and the signed
agreement) and finds the download in the grant's log. After the committee revokes the grant, the
same download, the same API token and, on object storage, the same signed URL are refused (a
signed URL lives SIGNED_URL_SECONDS, shortened here, so one issued before the revocation dies
with its short life)."""

import io
import re
import time
import zipfile

import pytest
import requests
from django.conf import settings as django_settings

from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import AccessRequest, DownloadLog, Grant
from curation.services import releases
from tests.curation.test_release_build import bank, build, curator  # noqa: F401 (fixtures)
from tests.factories import PASSWORD, make_user_with_role
from tests.portal import test_browser
from tests.portal.test_browser import screenshot
from tests.roles import Role
from tests.totp import current_code, with_totp

browser_page = test_browser.browser_page

PDF = b"%PDF-1.4\n% approval of the Kenyatta National Hospital ERC\n%%EOF\n"


def sign_in(page, url: str, email: str, secret: str | None = None) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    if secret is not None:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.fill('input[name="code"]', current_code(secret))
        page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))


def review(page, vote: str, reason: str) -> None:
    for criterion in ("scientific_merit", "data_security", "expertise", "ethics"):
        page.check(f'fieldset[data-criterion="score_{criterion}"] input[value="4"]')
    page.check(f'input[name="vote"][value="{vote}"]')
    page.get_by_label("Reason (the requester reads it)").fill(reason)
    page.get_by_role("button", name="Record my review").click()


@pytest.mark.browser
@pytest.mark.usefixtures("published_releases_live")
def test_request_review_approve_download_and_revoke(
    live_server,
    browser_page,
    bank,  # noqa: F811 (the imported fixtures)
    curator,  # noqa: F811
    settings,
):
    settings.ACCESS_QUORUM = 1  # one committee member decides here
    settings.SIGNED_URL_SECONDS = 2
    version = releases.publish(build(curator), actor=curator)
    researcher = make_user_with_role(
        Role.RESEARCHER, email="wanjiru@uonbi.example", full_name="Wanjiru Kamau"
    )
    member = make_user_with_role(Role.ACCESS_COMMITTEE, email="dac@bank.example")
    secret = with_totp(member)
    url = live_server.url
    page = browser_page

    # --- the researcher: a group, a request, the agreement signed, the request submitted ---
    sign_in(page, url, researcher.email)
    page.goto(f"{url}/access/groups/")
    page.get_by_label("Name of the group").fill("Nairobi cervical AI")
    page.get_by_label("Institution").fill("University of Nairobi")
    page.get_by_label("Country").fill("KE")
    page.fill('input[name="signing_official_name"]', "Prof. Achieng Odhiambo")
    page.fill('input[name="signing_official_email"]', "dvc-research@uonbi.example")
    page.get_by_role("button", name="Create the group").click()
    page.wait_for_url(re.compile(r"/access/groups/\d+/$"))

    page.goto(f"{url}/access/requests/new/")
    # The researcher's only group is chosen already.
    assert page.get_by_label("Research group").input_value() == str(
        AccessRequest._meta.get_field("group").related_model.objects.get().pk
    )
    page.get_by_label(f"{version.release.title} {version.version}").check()
    page.get_by_label("Project title").fill("Triage of VIA images")
    page.get_by_label("Aims").fill("Detect CIN2+ on images after acetic acid.")
    page.get_by_label("Intended use of the data").fill("Train and validate a classifier.")
    page.get_by_label("Ethics committee").fill("KNH-UoN ERC")
    page.get_by_label("Approval number").fill("P123/2026")
    page.get_by_label("Approval expires").fill("2099-01-01")
    page.get_by_label("Ethics approval (PDF)").set_input_files(
        {"name": "approval.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_label("Data security statement").fill("An encrypted laptop.")
    page.get_by_label(f"Wanjiru Kamau <{researcher.email}>").check()
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r"/access/requests/\d+/$"))
    request = AccessRequest.objects.get(requester=researcher)

    page.get_by_role("link", name="Read and sign the agreement").click()
    assert "re-identif" in page.content()  # the agreement's text is shown before signing
    page.get_by_label("Your full name").fill("Wanjiru Kamau")
    page.get_by_role("button", name="Sign the agreement").click()
    page.goto(f"{url}/access/requests/{request.pk}/")
    page.get_by_role("button", name="Submit to the access committee").click()
    page.wait_for_url(re.compile(rf"/access/requests/{request.pk}/$"))
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED

    # --- the committee member, with two-factor, asks for changes ---
    committee = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    desk = committee.new_page()
    desk.set_default_timeout(20_000)
    sign_in(desk, url, member.email, secret)
    desk.goto(f"{url}/access/committee/")
    desk.get_by_role("link", name="Triage of VIA images").first.click()
    review(desk, "changes", "Say how the laptop's disk is encrypted.")
    desk.wait_for_url(re.compile(rf"/access/committee/{request.pk}/$"))
    request.refresh_from_db()
    assert request.state == RequestState.CHANGES_REQUESTED

    # --- the researcher reads the reason, amends and submits again ---
    page.goto(f"{url}/access/requests/{request.pk}/")
    assert "Say how the laptop's disk is encrypted." in page.content()
    page.get_by_role("link", name="Edit the request").click()
    page.get_by_label("Data security statement").fill(
        "A laptop with its disk encrypted by LUKS (AES-256), used by the named accessor only."
    )
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(rf"/access/requests/{request.pk}/$"))
    page.get_by_role("button", name="Submit to the access committee").click()
    page.wait_for_url(re.compile(rf"/access/requests/{request.pk}/$"))
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED

    # --- the committee approves ---
    desk.goto(f"{url}/access/committee/{request.pk}/")
    review(desk, "approve", "Sound project; the security is now described.")
    desk.wait_for_url(re.compile(rf"/access/committee/{request.pk}/$"))
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    grant = Grant.objects.get(request=request)

    # --- the researcher downloads the release and sees the download in the log ---
    page.goto(f"{url}/access/grants/{grant.pk}/")
    screenshot(page, "access-grant")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Whole release (ZIP)").click()
    download = download_info.value
    assert download.suggested_filename == f"{version.release.slug}-{version.version}.zip"
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert archive.testzip() is None
    top = f"{version.release.slug}-{version.version}"
    assert f"{top}/manifest.csv" in archive.namelist()
    agreement = archive.read(f"{top}/AGREEMENT.txt").decode()
    assert "Signed by: Wanjiru Kamau" in agreement
    assert DownloadLog.objects.filter(grant=grant, user=researcher, kind="archive").count() == 1

    page.locator("[data-download-log-link]").click()
    page.wait_for_url(re.compile(rf"/access/grants/{grant.pk}/downloads/$"))
    log = page.locator("[data-download-log]").inner_text()
    assert researcher.email in log and version.version in log
    archive_url = download.url

    # A token for scripts, made on the tokens page, works on the same URLs.
    page.goto(f"{url}/account/tokens/")
    page.fill('input[name="name"]', "laptop")
    page.get_by_role("button", name="Create the token").click()
    key = page.locator("[data-new-token]").inner_text().strip()
    by_token = {"Authorization": f"Token {key}"}
    assert requests.head(archive_url, headers=by_token, timeout=30).status_code == 200
    manifest_url = archive_url.replace("archive.zip", "manifest.csv")
    signed = None
    if django_settings.USE_S3:
        # On object storage a file is a logged redirect to a short-lived signed URL.
        answer = requests.get(manifest_url, headers=by_token, allow_redirects=False, timeout=30)
        assert answer.status_code == 302
        signed = answer.headers["Location"]
        assert requests.get(signed, timeout=30).status_code == 200
    else:
        assert requests.get(manifest_url, headers=by_token, timeout=30).status_code == 200

    # --- the committee revokes the grant ---
    desk.goto(f"{url}/access/grants/{grant.pk}/")
    desk.locator('form[action$="/revoke/"] textarea').fill("The data were shared onward.")
    desk.locator('form[action$="/revoke/"]').get_by_role("button", name="Revoke now").click()
    desk.wait_for_url(re.compile(rf"/access/grants/{grant.pk}/$"))
    grant.refresh_from_db()
    assert grant.state == GrantState.REVOKED
    committee.close()

    # --- and everything is refused at once: the page's download, the token, the signed URL ---
    page.goto(f"{url}/access/grants/{grant.pk}/")
    assert "The grant has ended." in page.content()
    refused = page.goto(archive_url)
    assert refused.status == 404
    for target in (archive_url, manifest_url):
        answer = requests.get(target, headers=by_token, allow_redirects=False, timeout=30)
        assert answer.status_code == 404, target
    listed = requests.get(f"{url}/api/access/downloads/", headers=by_token, timeout=30)
    assert listed.status_code == 200 and listed.json() == []
    if signed is not None:
        time.sleep(django_settings.SIGNED_URL_SECONDS + 1)  # its short life is over
        assert requests.get(signed, timeout=30).status_code == 403
    screenshot(page, "access-grant-revoked")
