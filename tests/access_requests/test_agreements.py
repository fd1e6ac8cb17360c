"""Data use agreements through their services (access_requests.services.agreements): the version
in force, publishing a new version, signing (membership, the typed-name rule, the tamper check,
idempotence) and the signature a download needs (the version in force now, signed again after a
new version)."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from access_requests.models import AgreementSignature, DataUseAgreement
from access_requests.services import agreements
from tests.access_requests.test_groups import add_member, errors_of, make_group, researcher
from tests.factories import UserFactory, make_user_with_role
from tests.roles import Role


def curator():
    return make_user_with_role(Role.CURATOR)


def publish(actor=None, text="Use the data only for the approved project.", title="DUA"):
    return agreements.publish_agreement(actor=actor or curator(), title=title, text=text)


def sign(group, signer, typed_name=None, agreement=None, **kwargs):
    return agreements.sign_agreement(
        agreement=agreement or agreements.current_agreement(),
        group=group,
        signer=signer,
        typed_name=typed_name if typed_name is not None else signer.full_name,
        **kwargs,
    )


# --- the version in force and publishing ---------------------------------------------------------


@pytest.mark.django_db
def test_the_default_agreement_is_version_1_and_in_force():
    agreement = agreements.current_agreement()
    assert agreement.version == 1
    assert agreement.sha256 == hashlib.sha256(agreement.text.encode("utf-8")).hexdigest()
    for commitment in ("72 hours", "No re-identification", "No onward sharing"):
        assert commitment in agreement.text


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CURATOR, Role.ACCESS_COMMITTEE])
def test_curators_and_the_committee_publish_the_next_version_in_force_now(role):
    text = "  Version two: no onward sharing, ever.  "
    agreement = publish(make_user_with_role(role), text=text, title=" DUA 2 ")
    assert (agreement.version, agreement.title) == (2, "DUA 2")
    assert agreement.text == text.strip()
    assert agreement.sha256 == hashlib.sha256(text.strip().encode("utf-8")).hexdigest()
    assert agreement.in_force_from <= timezone.now()
    assert agreements.current_agreement() == agreement
    assert publish().version == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_actor", [researcher, UserFactory, lambda: make_user_with_role(Role.REVIEWER)]
)
def test_nobody_else_publishes(make_actor):
    with pytest.raises(PermissionDenied):
        publish(make_actor())
    assert agreements.current_agreement().version == 1


@pytest.mark.django_db
def test_an_agreement_needs_a_title_and_a_text():
    with pytest.raises(ValidationError) as raised:
        publish(title=" ", text="\n")
    assert set(errors_of(raised)) == {"title", "text"}
    with pytest.raises(ValidationError) as raised:
        publish(title="x" * 201)
    assert set(errors_of(raised)) == {"title"}


@pytest.mark.django_db
def test_a_version_not_yet_in_force_is_not_current():
    text = "Future terms."
    DataUseAgreement.objects.create(
        version=2,
        title="Later",
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        in_force_from=timezone.now() + timedelta(days=1),
    )
    assert agreements.current_agreement().version == 1
    assert publish().version == 3  # numbers still follow the highest


# --- signing -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_member_signs_for_their_group_recording_what_was_signed():
    group = make_group(researcher(full_name="Amina Odhiambo"))
    pi = group.principal_investigator
    agreement = agreements.current_agreement()
    signature = sign(group, pi, "  amina   ODHIAMBO ", ip_address="203.0.113.9")
    assert (signature.agreement, signature.group, signature.signer) == (agreement, group, pi)
    assert signature.typed_name == "amina ODHIAMBO"
    assert signature.text_sha256 == agreement.sha256
    assert signature.ip_address == "203.0.113.9" and signature.signed_at is not None
    assert agreements.has_signed_current(group, pi)
    assert agreements.signature_for_download(group, pi) == signature


@pytest.mark.django_db
def test_a_plain_member_signs_too():
    group = make_group()
    member = add_member(group, UserFactory(full_name="Juan Pérez"))
    sign(group, member, "Juan Pérez")
    assert agreements.has_signed_current(group, member)
    assert not agreements.has_signed_current(group, group.principal_investigator)


@pytest.mark.django_db
def test_only_a_member_of_the_group_signs_for_it():
    group = make_group()
    for outsider in (researcher(), curator(), make_group().principal_investigator):
        with pytest.raises(PermissionDenied):
            sign(group, outsider)
    assert not AgreementSignature.objects.exists()


@pytest.mark.django_db
def test_a_signature_counts_for_its_group_only():
    pi = researcher(full_name="Amina Odhiambo")
    first, second = make_group(pi), make_group(pi)
    sign(first, pi)
    assert agreements.has_signed_current(first, pi)
    assert not agreements.has_signed_current(second, pi)


@pytest.mark.django_db
def test_signing_twice_returns_the_first_signature():
    group = make_group(researcher(full_name="Amina Odhiambo"))
    pi = group.principal_investigator
    first = sign(group, pi, "Amina Odhiambo", ip_address="203.0.113.9")
    again = sign(group, pi, "AMINA ODHIAMBO", ip_address="198.51.100.1")
    assert again == first
    again.refresh_from_db()
    assert (again.typed_name, again.ip_address) == ("Amina Odhiambo", "203.0.113.9")
    assert AgreementSignature.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["", "   ", "Amina", "Amina Otieno", "Odhiambo Amina"])
def test_the_typed_name_must_be_the_accounts_full_name(typed):
    group = make_group(researcher(full_name="Amina  Odhiambo"))
    with pytest.raises(ValidationError) as raised:
        sign(group, group.principal_investigator, typed)
    assert set(errors_of(raised)) == {"typed_name"}
    assert not AgreementSignature.objects.exists()


@pytest.mark.django_db
def test_without_a_full_name_on_the_account_two_words_are_needed():
    group = make_group(researcher(full_name=""))
    pi = group.principal_investigator
    with pytest.raises(ValidationError) as raised:
        sign(group, pi, "Amina")
    assert set(errors_of(raised)) == {"typed_name"}
    assert sign(group, pi, " Amina  Odhiambo ").typed_name == "Amina Odhiambo"


@pytest.mark.django_db
def test_a_bad_ip_address_is_refused():
    group = make_group(researcher(full_name="Amina Odhiambo"))
    with pytest.raises(ValidationError) as raised:
        sign(group, group.principal_investigator, ip_address="not-an-ip")
    assert set(errors_of(raised)) == {"ip_address"}


@pytest.mark.django_db
def test_a_tampered_text_cannot_be_signed():
    group = make_group(researcher(full_name="Amina Odhiambo"))
    agreement = agreements.current_agreement()
    DataUseAgreement.objects.filter(pk=agreement.pk).update(
        text=agreement.text + "\n9. Onward sharing is allowed after all.\n"
    )
    with pytest.raises(ValidationError) as raised:
        sign(group, group.principal_investigator, agreement=agreement)
    assert set(errors_of(raised)) == {"agreement"}
    assert not AgreementSignature.objects.exists()


@pytest.mark.django_db
def test_a_stale_copy_of_the_agreement_cannot_be_signed():
    """The signer saw a text whose hash is not the stored one (the object came from elsewhere)."""
    group = make_group(researcher(full_name="Amina Odhiambo"))
    agreement = agreements.current_agreement()
    agreement.sha256 = "0" * 64
    with pytest.raises(ValidationError) as raised:
        sign(group, group.principal_investigator, agreement=agreement)
    assert set(errors_of(raised)) == {"agreement"}


# --- a new version -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_version_must_be_signed_again_before_the_next_download():
    group = make_group(researcher(full_name="Amina Odhiambo"))
    pi = group.principal_investigator
    old = sign(group, pi)
    assert agreements.signature_for_download(group, pi) == old
    new_version = publish(text="Version 2 of the terms.")
    assert not agreements.has_signed_current(group, pi)
    assert agreements.signature_for_download(group, pi) is None
    new = sign(group, pi)
    assert new.agreement == new_version and new != old
    assert agreements.has_signed_current(group, pi)
    assert agreements.signature_for_download(group, pi) == new


@pytest.mark.django_db
def test_a_superseded_version_cannot_be_signed_any_more():
    group = make_group(researcher(full_name="Amina Odhiambo"))
    old = agreements.current_agreement()
    publish()
    with pytest.raises(ValidationError) as raised:
        sign(group, group.principal_investigator, agreement=old)
    assert set(errors_of(raised)) == {"agreement"}


@pytest.mark.django_db
def test_an_anonymous_user_has_no_signature():
    from django.contrib.auth.models import AnonymousUser

    group = make_group()
    assert agreements.signature_for_download(group, AnonymousUser()) is None
    assert not agreements.has_signed_current(group, AnonymousUser())
