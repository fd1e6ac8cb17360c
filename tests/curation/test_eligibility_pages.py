"""The curators' "Eligibility checklist" page and its service (issue 11, item 2): who may see it,
the default items, adding, changing, deactivating and reordering items, codes that are slugs,
unique and fixed once a review answered them, every bad input refused naming its field; and the
review's records in the admin (the checklist editable, the rest read-only, curators only)."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from curation.models import (
    Adjudication,
    EligibilityItem,
    ImageExclusion,
    ImageFlag,
    Notice,
    Outline,
    QueueEntry,
    Review,
)
from curation.services import eligibility_items as service
from tests.factories import make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

PAGE = "/curation/eligibility/"
DEFAULT_CODES = [
    "consent",
    "core_steps_usable",
    "tz_or_scj_seen",
    "cervix_in_view",
    "histology_or_reason",
]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def curator(**fields):
    user = make_user_with_role(Role.CURATOR, **fields)
    with_totp(user)
    return user


def codes() -> list[str]:
    return list(EligibilityItem.objects.order_by("position", "code").values_list("code", flat=True))


def item(code: str) -> EligibilityItem:
    return EligibilityItem.objects.get(code=code)


def answered(**answers) -> Review:
    """A review (claimed, as while the reviewer works) holding answers under these codes."""
    case = make_case()
    now = timezone.now()
    entry = QueueEntry.objects.create(case=case, entered_at=now)
    return Review.objects.create(
        entry=entry,
        case=case,
        reviewer=make_user_with_role(Role.REVIEWER),
        claimed_at=now,
        claim_expires=now + timezone.timedelta(minutes=30),
        eligibility=answers,
    )


def post(client, **data):
    return client.post(PAGE, data)


def new_item(**overrides) -> dict:
    data = {
        "action": "save",
        "code": "no_burned_in_text",
        "label": "No identifying text burned into the images",
        "help_text": "",
        "required": "on",
        "prefill": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- who sees it --------------------------------------------------------------------------------


def test_the_url():
    assert reverse("curation:eligibility-items") == PAGE


def test_contributors_reviewers_and_researchers_are_refused():
    for user in (
        make_contributor(make_site()),
        make_user_with_role(Role.REVIEWER),
        make_user_with_role(Role.RESEARCHER),
    ):
        client = signed_in(user)
        assert client.get(PAGE).status_code == 403
        assert post(client, **new_item()).status_code == 403
        assert post(client, action="deactivate", item=item("consent").pk).status_code == 403
    assert not EligibilityItem.objects.filter(code="no_burned_in_text").exists()
    assert item("consent").active


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_curators_and_superusers_see_it(admin_user):
    for user in (curator(), admin_user):
        response = signed_in(user).get(PAGE)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_other_methods_are_refused():
    assert signed_in(curator()).put(PAGE).status_code == 405


def test_the_service_checks_the_permission_itself():
    reviewer = make_user_with_role(Role.REVIEWER)
    with pytest.raises(PermissionDenied):
        service.create_item(actor=reviewer, code="x", label="X")
    with pytest.raises(PermissionDenied):
        service.set_active(actor=reviewer, item=item("consent"), active=False)
    with pytest.raises(PermissionDenied):
        service.reorder(actor=reviewer, codes=list(reversed(DEFAULT_CODES)))


# --- the list -----------------------------------------------------------------------------------


def test_the_default_items_are_listed_in_order_with_what_pre_fills_them():
    page = signed_in(curator()).get(PAGE).content.decode()
    positions = [page.index(f'data-item="{code}"') for code in DEFAULT_CODES]
    assert positions == sorted(positions)
    row = page.split('data-item="cervix_in_view"', 1)[1].split("</tr>", 1)[0]
    assert "The cervix fully in view" in row
    assert "The framing check" in row
    assert 'data-required="yes"' in row and 'data-active="yes"' in row
    assert "5 items in the checklist." in page


def test_a_default_item_reworded_by_a_curator_shows_as_written():
    EligibilityItem.objects.filter(code="cervix_in_view").update(label="Whole cervix visible")
    page = signed_in(curator()).get(PAGE).content.decode()
    row = page.split('data-item="cervix_in_view"', 1)[1].split("</tr>", 1)[0]
    assert "Whole cervix visible" in row


def test_how_many_reviews_answered_each_item_is_counted_in_one_query():
    answered(consent=True, cervix_in_view=False)
    answered(consent=False)
    client = signed_in(curator())
    client.get(PAGE)  # the session and the user, read once
    with CaptureQueriesContext(connection) as queries:
        page = client.get(PAGE).content.decode()
    review_reads = [q["sql"] for q in queries if '"curation_review"' in q["sql"]]
    assert len(review_reads) == 1
    row = page.split('data-item="consent"', 1)[1].split("</tr>", 1)[0]
    assert "data-answers>2<" in row
    row = page.split('data-item="cervix_in_view"', 1)[1].split("</tr>", 1)[0]
    assert "data-answers>1<" in row
    assert service.answer_counts(["consent", "tz_or_scj_seen"]) == {
        "consent": 2,
        "tz_or_scj_seen": 0,
    }


# --- adding an item -----------------------------------------------------------------------------


def test_a_curator_adds_an_item_last_in_the_checklist():
    client = signed_in(curator())
    response = post(
        client, **new_item(help_text="  Dates,   names or  IDs ", prefill="image_quality")
    )
    assert response.status_code == 302 and response["Location"] == PAGE
    added = item("no_burned_in_text")
    assert codes()[-1] == "no_burned_in_text"
    assert added.position > item("histology_or_reason").position
    assert (added.required, added.active, added.prefill, added.help_text) == (
        True,
        True,
        "image_quality",
        "Dates, names or IDs",
    )
    assert "Added the item no_burned_in_text." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    # Not ticked: optional.
    post(client, **new_item(code="optional-item", required=None))
    assert item("optional-item").required is False


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"code": ""}, "code", "required"),
        ({"code": "Cervix"}, "code", "Lower-case letters"),
        ({"code": "two words"}, "code", "Lower-case letters"),
        ({"code": "1st_item"}, "code", "starting with a letter"),
        ({"code": "trailing_"}, "code", "Lower-case letters"),
        ({"code": "é_accent"}, "code", "Lower-case letters"),
        ({"code": "x" * 41}, "code", "at most 40"),
        ({"code": "consent"}, "code", "Another item has this code"),
        ({"label": ""}, "label", "required"),
        ({"label": "   "}, "label", "required"),
        ({"label": "x" * 201}, "label", "at most 200"),
        ({"help_text": "x" * 501}, "help_text", "at most 500"),
        ({"prefill": "oracle"}, "prefill", "valid choice"),
    ],
)
def test_a_bad_item_is_a_400_naming_the_field(overrides, field, words):
    before = EligibilityItem.objects.count()
    response = post(signed_in(curator()), **new_item(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert words.lower() in " ".join(errors[field]).lower()
    assert EligibilityItem.objects.count() == before
    assert "has-error" in response.content.decode()


def test_the_service_refuses_what_the_form_would():
    actor = curator()
    for values, field in (
        ({"code": "Bad Code", "label": "x"}, "code"),
        ({"code": "consent", "label": "x"}, "code"),
        ({"code": "ok", "label": ""}, "label"),
        ({"code": "ok", "label": "x", "prefill": "nope"}, "prefill"),
        ({"code": "ok", "label": "x", "required": "yes"}, "required"),
    ):
        with pytest.raises(ValidationError) as raised:
            service.create_item(actor=actor, **values)
        assert list(raised.value.message_dict) == [field]


# --- changing an item ---------------------------------------------------------------------------


def test_change_fills_the_form_and_saves_the_item():
    client = signed_in(curator())
    target = item("tz_or_scj_seen")
    response = client.get(PAGE, {"edit": target.pk})
    form = response.context["form"]
    assert form["code"].value() == "tz_or_scj_seen"
    assert form["label"].value() == target.label
    assert f'name="item" value="{target.pk}"' in response.content.decode()
    response = post(
        client,
        **new_item(
            code="tz_or_scj_visible",
            label="TZ or SCJ visible",
            required=None,
            prefill="framing",
        ),
        item=target.pk,
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.code, target.label, target.required, target.prefill) == (
        "tz_or_scj_visible",
        "TZ or SCJ visible",
        False,
        "framing",
    )
    assert EligibilityItem.objects.count() == 5


@pytest.mark.parametrize("value", ["abc", "-1", "999999", "1" * 40])
def test_a_wrong_edit_parameter_shows_the_add_form(value):
    response = signed_in(curator()).get(PAGE, {"edit": value})
    assert response.status_code == 200
    assert response.context["editing"] is None


def test_the_code_of_an_item_reviews_answered_cannot_change():
    answered(consent=True)
    client = signed_in(curator())
    target = item("consent")
    form = client.get(PAGE, {"edit": target.pk}).context["form"]
    assert form.fields["code"].disabled
    # The submitted code is ignored (the field is disabled); the wording changes.
    response = post(
        client, **new_item(code="renamed", label="Consent or agreement"), item=target.pk
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.code, target.label) == ("consent", "Consent or agreement")
    # The service refuses it too, naming the field.
    with pytest.raises(ValidationError) as raised:
        service.update_item(actor=curator(), item=target, code="renamed")
    assert list(raised.value.message_dict) == ["code"]
    assert "stays consent" in raised.value.message_dict["code"][0]


def test_an_item_cannot_take_another_items_code():
    response = post(
        signed_in(curator()), **new_item(code="consent"), item=item("cervix_in_view").pk
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["code"]
    assert item("cervix_in_view").label == "The cervix fully in view"


def test_saving_an_item_unchanged_is_allowed_even_with_an_old_style_code():
    EligibilityItem.objects.filter(code="consent").update(code="Legacy_Consent")
    target = EligibilityItem.objects.get(code="Legacy_Consent")
    response = post(
        signed_in(curator()), **new_item(code="Legacy_Consent", label="Consent"), item=target.pk
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.code, target.label) == ("Legacy_Consent", "Consent")


# --- deactivating and reordering ----------------------------------------------------------------


def test_deactivating_takes_an_item_out_and_keeps_the_answers():
    review = answered(consent=True)
    client = signed_in(curator())
    target = item("consent")
    response = post(client, action="deactivate", item=target.pk)
    assert response.status_code == 302
    assert item("consent").active is False
    review.refresh_from_db()
    assert review.eligibility == {"consent": True}
    page = client.get(PAGE).content.decode()
    row = page.split('data-item="consent"', 1)[1].split("</tr>", 1)[0]
    assert 'data-active="no"' in row and "Put back" in row
    assert "4 items in the checklist." in page
    post(client, action="activate", item=target.pk)
    assert item("consent").active is True


def test_moving_items_up_and_down():
    client = signed_in(curator())
    post(client, action="down", item=item("consent").pk)
    assert codes()[:2] == ["core_steps_usable", "consent"]
    post(client, action="up", item=item("histology_or_reason").pk)
    assert codes()[-2:] == ["histology_or_reason", "cervix_in_view"]
    # The first cannot go further up, the last further down: nothing changes.
    before = codes()
    post(client, action="up", item=item(before[0]).pk)
    post(client, action="down", item=item(before[-1]).pk)
    assert codes() == before
    positions = list(
        EligibilityItem.objects.order_by("position").values_list("position", flat=True)
    )
    assert positions == [10, 20, 30, 40, 50]


def test_reorder_puts_every_item_in_the_order_given():
    actor = curator()
    service.reorder(actor=actor, codes=list(reversed(DEFAULT_CODES)))
    assert codes() == list(reversed(DEFAULT_CODES))
    for bad in (
        DEFAULT_CODES[:-1],
        [*DEFAULT_CODES, "consent"],
        [*DEFAULT_CODES[:-1], "unknown"],
        "consent",
        [1, 2, 3, 4, 5],
    ):
        with pytest.raises(ValidationError) as raised:
            service.reorder(actor=actor, codes=bad)
        assert list(raised.value.message_dict) == ["order"]
    assert codes() == list(reversed(DEFAULT_CODES))


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"action": "explode", "item": "1"}, 400),
        ({}, 400),
        ({"action": "up"}, 400),
        ({"action": "deactivate", "item": "abc"}, 404),
        ({"action": "deactivate", "item": "999999"}, 404),
        ({"action": "save", "item": "999999", "code": "x", "label": "x"}, 404),
    ],
)
def test_a_wrong_action_or_item_is_refused(data, status):
    assert post(signed_in(curator()), **data).status_code == status
    assert EligibilityItem.objects.filter(active=True).count() == 5


# --- the admin ----------------------------------------------------------------------------------


REVIEW_MODELS = [QueueEntry, Review, ImageFlag, Outline, Adjudication, ImageExclusion, Notice]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:curation_{model._meta.model_name}_{view}", args=args)


def staff_curator():
    return curator(is_staff=True)


def test_the_review_records_are_read_only_lists_for_curators(admin_user):
    answered(consent=True)
    for user in (staff_curator(), admin_user):
        client = signed_in(user)
        for model in REVIEW_MODELS:
            assert client.get(admin_url(model, "changelist")).status_code == 200, model
            assert client.get(admin_url(model, "add")).status_code == 403, model
        review = Review.objects.get()
        response = client.get(admin_url(Review, "change", review.pk))
        assert response.status_code == 200
        assert 'name="_save"' not in response.content.decode()
        assert (
            client.post(admin_url(Review, "delete", review.pk), {"post": "yes"}).status_code == 403
        )
    assert Review.objects.count() == 1


def test_staff_who_are_not_curators_do_not_see_the_review_records():
    staff = make_user_with_role(Role.REVIEWER, is_staff=True)
    with_totp(staff)  # staff sign in with a second factor
    client = signed_in(staff)
    for model in [*REVIEW_MODELS, EligibilityItem]:
        assert client.get(admin_url(model, "changelist")).status_code == 403, model


def test_the_checklist_is_editable_in_the_admin_with_the_same_rules():
    client = signed_in(staff_curator())
    assert client.get(admin_url(EligibilityItem, "changelist")).status_code == 200
    data = {
        "code": "Bad Code",
        "label": "An item",
        "help_text": "",
        "required": "on",
        "prefill": "",
        "active": "on",
        "position": "60",
    }
    response = client.post(admin_url(EligibilityItem, "add"), data)
    assert response.status_code == 200 and "code" in response.context["adminform"].form.errors
    response = client.post(admin_url(EligibilityItem, "add"), {**data, "code": "an_item"})
    assert response.status_code == 302
    assert codes()[-1] == "an_item"
    # Unused: may be deleted; once a review answered it, its code is read-only and it stays.
    answered(consent=True)
    used = item("consent")
    response = client.get(admin_url(EligibilityItem, "change", used.pk))
    assert "code" not in response.context["adminform"].form.fields
    assert client.get(admin_url(EligibilityItem, "delete", used.pk)).status_code == 403
    unused = item("an_item")
    response = client.post(admin_url(EligibilityItem, "delete", unused.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not EligibilityItem.objects.filter(code="an_item").exists()
