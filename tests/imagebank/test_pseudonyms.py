"""Keyed-hash pseudonyms: stable, scoped by site and key, and the local ID is never stored."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models

from imagebank.models import Case, CaseEvent, Subject
from imagebank.pseudonyms import normalise_local_id, pseudonym_for
from imagebank.services import cases as case_services
from tests.factories import make_contributor, make_site

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_pseudonym_is_deterministic_and_a_sha256_hex_digest():
    first = pseudonym_for("nairobi", "REG-00042")
    assert first == pseudonym_for("nairobi", "REG-00042")
    assert HEX64.match(first)


def test_pseudonym_is_scoped_by_site():
    assert pseudonym_for("nairobi", "REG-00042") != pseudonym_for("lyon", "REG-00042")


def test_different_ids_give_different_pseudonyms():
    assert pseudonym_for("nairobi", "REG-00042") != pseudonym_for("nairobi", "REG-00043")


def test_site_and_id_cannot_be_shifted_into_each_other():
    # "ab" + "C1" and "a" + "BC1" must not meet: the separator keeps the parts apart.
    assert pseudonym_for("ab", "C1") != pseudonym_for("a", "BC1")


@pytest.mark.parametrize("variant", ["reg-00042", " REG-00042 ", "REG - 00042", "Reg-\t00042\n"])
def test_spacing_and_case_do_not_change_the_pseudonym(variant):
    assert normalise_local_id(variant) == "REG-00042"
    assert pseudonym_for("nairobi", variant) == pseudonym_for("nairobi", "REG-00042")


def test_pseudonym_depends_on_the_key(settings):
    settings.PSEUDONYM_KEY = "first-key"
    under_first = pseudonym_for("nairobi", "REG-00042")
    settings.PSEUDONYM_KEY = "second-key"
    under_second = pseudonym_for("nairobi", "REG-00042")
    assert under_first != under_second
    settings.PSEUDONYM_KEY = "first-key"
    assert pseudonym_for("nairobi", "REG-00042") == under_first


def test_pseudonym_does_not_contain_the_id():
    assert "REG" not in pseudonym_for("nairobi", "REG-00042").upper()
    assert "00042" not in pseudonym_for("nairobi", "REG-00042")


@pytest.mark.parametrize("empty", ["", "   ", "\t\n"])
def test_an_empty_id_is_refused(empty):
    with pytest.raises(ValueError):
        pseudonym_for("nairobi", empty)


@pytest.mark.django_db
@pytest.mark.parametrize("empty", ["", "   ", None])
def test_create_case_refuses_an_empty_id_naming_the_field(empty):
    site = make_site()
    user = make_contributor(site)
    with pytest.raises(ValidationError) as raised:
        case_services.create_case(site=site, actor=user, local_patient_id=empty)
    assert "local_patient_id" in raised.value.message_dict
    assert not Case.objects.exists()
    assert not Subject.objects.exists()


@pytest.mark.django_db
def test_the_same_id_at_the_same_site_is_the_same_subject():
    site = make_site()
    user = make_contributor(site)
    first = case_services.create_case(site=site, actor=user, local_patient_id="REG-7")
    second = case_services.create_case(site=site, actor=user, local_patient_id=" reg-7 ")
    assert first.subject_id == second.subject_id
    other_site = make_site()
    other_user = make_contributor(other_site)
    third = case_services.create_case(site=other_site, actor=other_user, local_patient_id="REG-7")
    assert third.subject_id != first.subject_id


@pytest.mark.django_db
def test_subject_pseudonym_uses_the_configured_key(settings):
    settings.PSEUDONYM_KEY = "a-key-for-this-test"
    site = make_site()
    user = make_contributor(site)
    case = case_services.create_case(site=site, actor=user, local_patient_id="REG-8")
    assert case.subject.pseudonym == pseudonym_for(site.slug, "REG-8")
    settings.PSEUDONYM_KEY = "another-key"
    assert case.subject.pseudonym != pseudonym_for(site.slug, "REG-8")


def _text_values(instance: models.Model) -> list[str]:
    values = []
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname)
        if value is None or isinstance(value, (bool, int, float)):
            continue
        values.append(str(value))
    return values


@pytest.mark.django_db
def test_the_local_id_is_stored_nowhere():
    site = make_site()
    user = make_contributor(site)
    local_id = "KNH-QXZ-WVY"  # letters outside hex, so no digest can contain it by chance
    case = case_services.create_case(
        site=site, actor=user, local_patient_id=local_id, notes="colposcopy at the clinic"
    )
    forms = {local_id, local_id.lower(), "QXZ-WVY", "qxz-wvy"}
    rows = [*Subject.objects.all(), *Case.objects.all(), *CaseEvent.objects.filter(case=case)]
    assert len(rows) >= 3
    for row in rows:
        for text in _text_values(row):
            for form in forms:
                assert form not in text, f"{type(row).__name__} holds {form!r}: {text!r}"


@pytest.mark.django_db
def test_the_local_id_is_in_no_table_of_the_database():
    site = make_site()
    user = make_contributor(site)
    case_services.create_case(site=site, actor=user, local_patient_id="QXZ-KNH-WVY")
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                if any("QXZ" in str(value).upper() for value in row):
                    found.append((table, row))
    assert found == []
