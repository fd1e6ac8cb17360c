"""A subject is shown by a short random display code, never by its pseudonym (issue 8, item 7)."""

import re

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from imagebank.models import Subject
from imagebank.models.sites import DISPLAY_CODE_ALPHABET, DISPLAY_CODE_PATTERN
from imagebank.pseudonyms import pseudonym_for
from tests.factories import make_case, make_site, make_user_with_role
from tests.roles import Role
from tests.tokens import token_for

pytestmark = pytest.mark.django_db


def pseudonym_fragments(pseudonym: str, length: int = 8) -> set[str]:
    """Every run of `length` characters of the pseudonym: none may reach a page or the API."""
    return {pseudonym[start : start + length] for start in range(len(pseudonym) - length + 1)}


def assert_no_pseudonym(text: str, subject: Subject) -> None:
    text = text.lower()
    leaked = [part for part in pseudonym_fragments(subject.pseudonym) if part in text]
    assert not leaked, f"a piece of the pseudonym was shown: {leaked[:3]}"


def test_a_new_subject_gets_a_random_code_of_the_unambiguous_alphabet(site, contributor):
    case = make_case(site, contributor, local_patient_id="KDH-2024-0042")
    code = case.subject.display_code
    assert re.fullmatch(DISPLAY_CODE_PATTERN, code)
    assert len(code) == 8 and set(code) <= set(DISPLAY_CODE_ALPHABET)
    assert not set(code) & set("01OIL")
    # Not derived from the pseudonym: no part of it, in any case, and the code is not the same
    # for the same local ID at another site or after the subject is made again.
    assert code.lower() not in case.subject.pseudonym
    assert case.subject.pseudonym == pseudonym_for(site.slug, "KDH-2024-0042")


def test_the_same_patient_keeps_the_same_code_and_two_patients_get_two(site, contributor):
    first = make_case(site, contributor, local_patient_id="KDH-1")
    again = make_case(site, contributor, local_patient_id="kdh-1")
    other = make_case(site, contributor, local_patient_id="KDH-2")
    assert again.subject_id == first.subject_id
    assert again.subject.display_code == first.subject.display_code
    assert other.subject.display_code != first.subject.display_code


def test_codes_are_drawn_at_random_not_from_the_id():
    # The same local ID at 30 sites: 30 unrelated pseudonyms, and 30 codes that share nothing
    # more than chance would give.
    codes = [
        make_case(make_site(), local_patient_id="SAME-ID").subject.display_code for _ in range(30)
    ]
    assert len(set(codes)) == 30


def test_a_code_is_unique_within_its_site_and_well_formed(site, contributor):
    subject = make_case(site, contributor).subject
    with pytest.raises(IntegrityError), transaction.atomic():
        Subject.objects.create(site=site, pseudonym="0" * 64, display_code=subject.display_code)
    # Another site may hold the same code.
    Subject.objects.create(site=make_site(), pseudonym="0" * 64, display_code=subject.display_code)
    for bad in ("", "abcdefgh", "0OIL1234", "ABCDEFG", "ABCDEFGHJ"):
        # PostgreSQL refuses a too-long code for its column length (DataError) before the check.
        with pytest.raises((IntegrityError, DataError)), transaction.atomic():
            Subject.objects.create(site=site, pseudonym=bad.ljust(64, "f"), display_code=bad)


def test_the_case_page_shows_the_code_and_no_part_of_the_pseudonym(client, site, contributor):
    case = make_case(site, contributor)
    client.force_login(contributor)
    response = client.get(reverse("imagebank:case-detail", args=[case.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert case.subject.display_code in html
    assert_no_pseudonym(html, case.subject)


def test_the_case_list_shows_no_part_of_the_pseudonym(client, site, contributor):
    case = make_case(site, contributor)
    client.force_login(contributor)
    response = client.get(reverse("imagebank:case-list"))
    assert response.status_code == 200
    assert_no_pseudonym(response.content.decode(), case.subject)


def test_the_api_gives_the_code_as_subject(client, site, contributor):
    case = make_case(site, contributor)
    headers = {"HTTP_AUTHORIZATION": f"Token {token_for(contributor)}"}
    detail = client.get(f"/api/cases/{case.pk}/", **headers)
    assert detail.status_code == 200
    assert detail.json()["subject"] == case.subject.display_code
    assert_no_pseudonym(detail.content.decode(), case.subject)
    listing = client.get("/api/cases/", **headers)
    assert listing.status_code == 200
    assert [row["subject"] for row in listing.json()["results"]] == [case.subject.display_code]
    assert_no_pseudonym(listing.content.decode(), case.subject)


def test_the_schema_describes_subject_as_the_code(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    subject = schema["components"]["schemas"]["Case"]["properties"]["subject"]
    assert "random" in subject["description"]
    assert "Short form" not in subject["description"]


def test_the_admin_shows_the_code_and_no_part_of_the_pseudonym(client, admin_user, site):
    case = make_case(site)
    client.force_login(admin_user)
    showing_the_subject = [
        reverse("admin:imagebank_subject_changelist"),
        reverse("admin:imagebank_subject_change", args=[case.subject_id]),
        reverse("admin:imagebank_case_change", args=[case.pk]),
    ]
    for url in [*showing_the_subject, reverse("admin:imagebank_case_changelist")]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_no_pseudonym(html, case.subject)
        if url in showing_the_subject:
            assert case.subject.display_code in html, url
    # Curators find a subject by its code.
    found = client.get(
        reverse("admin:imagebank_subject_changelist"), {"q": case.subject.display_code}
    )
    assert case.subject.display_code in found.content.decode()
    assert str(case.subject) == f"{site.slug}:{case.subject.display_code}"


def test_a_curator_sees_codes_not_pseudonyms(client, site):
    case = make_case(site)
    curator = make_user_with_role(Role.CURATOR)
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(curator, generate_totp_secret())
    client.force_login(curator)
    html = client.get(reverse("imagebank:case-detail", args=[case.pk])).content.decode()
    assert case.subject.display_code in html
    assert_no_pseudonym(html, case.subject)


BEFORE = [("imagebank", "0004_api_tokens")]
AFTER = [("imagebank", "0005_subject_display_code")]


@pytest.mark.django_db(transaction=True)
def test_subjects_already_in_the_bank_get_distinct_codes():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Group = old.get_model("auth", "Group")
    OldSite = old.get_model("imagebank", "Site")
    OldSubject = old.get_model("imagebank", "Subject")
    sites = [
        OldSite.objects.create(
            slug=f"old-{n}",
            name=f"Old {n}",
            country="KE",
            clinical_setting="district_hospital",
            contributors_group=Group.objects.create(name=f"old-{n}-contributors"),
        )
        for n in range(2)
    ]
    for site in sites:
        for index in range(40):
            OldSubject.objects.create(site=site, pseudonym=f"{index:064x}")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("imagebank", "Subject")
    rows = list(new.objects.values_list("site_id", "pseudonym", "display_code"))
    assert len(rows) == 80
    for _site, pseudonym, code in rows:
        assert re.fullmatch(DISPLAY_CODE_PATTERN, code)
        assert code.lower() not in pseudonym
    for site in sites:
        codes = [code for site_id, _p, code in rows if site_id == site.pk]
        assert len(set(codes)) == 40

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
