import io
import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from guardian.shortcuts import get_perms

from imagebank.admin.common import ADMIN_EDIT_REASON
from imagebank.lifecycle import CaseState
from imagebank.models import (
    ApiToken,
    ApiTokenEvent,
    Case,
    CaseEvent,
    Image,
    ReadEvent,
    Site,
    SiteGroupObjectPermission,
    SiteMembership,
    SiteUserObjectPermission,
    Subject,
    User,
)
from imagebank.permissions import can_contribute_to
from imagebank.roles import site_contributors_group_name
from tests.factories import UserFactory, add_image, make_case, make_contributor, make_site
from tests.tokens import token_for

pytestmark = pytest.mark.django_db

CORE_MODELS = [
    User,
    Site,
    SiteMembership,
    Subject,
    Case,
    CaseEvent,
    Image,
    SiteGroupObjectPermission,
    SiteUserObjectPermission,
    ApiToken,
    ApiTokenEvent,
    ReadEvent,
]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def change_form_data(response) -> dict:
    """What the browser would post back from a change page, inline management forms included."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


@pytest.fixture
def demo_data():
    call_command("load_demo", "--core-only", stdout=io.StringIO())


def test_every_model_is_registered():
    for model in CORE_MODELS:
        assert model in admin.site._registry, model


def test_every_changelist_and_change_page_renders(admin_client, demo_data):
    SiteUserObjectPermission.objects.create(
        user=User.objects.get(email__startswith="curator@"),
        permission=SiteGroupObjectPermission.objects.first().permission,
        content_object=Site.objects.first(),
    )
    token_for(User.objects.get(email__startswith="curator@"))  # a token and its 'issued' event
    # A read of a case page, recorded like every read.
    assert admin_client.get(reverse("imagebank:case-detail", args=[Case.objects.first().pk]))
    models = [model for model in admin.site._registry if model._meta.app_label == "imagebank"]
    assert set(models) == set(CORE_MODELS)
    for model in [*models, Group]:
        assert admin_client.get(url(model, "changelist")).status_code == 200, model
        # A word and a number: every search field must take both (a number is how a case, an
        # object id or a pk is searched for).
        for query in ("demo", "1"):
            assert admin_client.get(url(model, "changelist"), {"q": query}).status_code == 200
        assert model.objects.exists(), model
        for obj in [model.objects.first(), model.objects.last()]:
            response = admin_client.get(url(model, "change", obj.pk))
            assert response.status_code == 200, (model, obj.pk)
    site = Site.objects.first()
    assert admin_client.get(url(Site, "permissions", site.pk)).status_code == 200
    for state in CaseState.values:
        response = admin_client.get(url(Case, "changelist"), {"state__exact": state})
        assert response.status_code == 200


def test_case_change_page_shows_images_and_audit_trail_read_only(
    local_storage, admin_client, demo_data
):
    case = Case.objects.filter(state=CaseState.ACCEPTED).first()

    response = admin_client.get(url(Case, "change", case.pk))

    content = response.content.decode()
    assert response.context["has_change_permission"] is False
    for image in case.images.all():
        assert image.sha256 in content
    assert 'name="images-0-step"' not in content
    inlines = {
        inline.formset.prefix: inline for inline in response.context["inline_admin_formsets"]
    }
    assert set(inlines) == {"images", "events"}
    assert len(inlines["images"].formset.forms) == 4
    assert len(inlines["events"].formset.forms) == case.events.count()
    assert not inlines["events"].has_add_permission
    thumbnail = reverse("imagebank:image-file", args=[case.images.first().pk, "thumbnail"])
    assert thumbnail in content
    assert admin_client.get(thumbnail).status_code == 200


def test_case_event_admin_refuses_add_change_and_delete(admin_client):
    case = make_case()
    event = case.events.get()

    assert admin_client.get(url(CaseEvent, "add")).status_code == 403
    assert admin_client.post(url(CaseEvent, "add"), {"case": case.pk}).status_code == 403
    response = admin_client.post(url(CaseEvent, "change", event.pk), {"reason": "rewritten"})
    assert response.status_code == 403
    assert admin_client.post(url(CaseEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(
        url(CaseEvent, "changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    event.refresh_from_db()
    assert event.reason == ""
    assert CaseEvent.objects.filter(pk=event.pk).exists()


def test_cases_and_images_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get(url(Case, "add")).status_code == 403
    assert admin_client.get(url(Image, "add")).status_code == 403
    assert admin_client.get(url(Subject, "add")).status_code == 403


def test_site_added_in_the_admin_gets_its_contributors_group(admin_client):
    response = admin_client.post(
        url(Site, "add"),
        {
            "slug": "blantyre-hc",
            "name": "Blantyre Health Centre",
            "country": "MW",
            "clinical_setting": "primary_care",
            "devices": json.dumps(["Smartphone camera"]),
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    site = Site.objects.get(slug="blantyre-hc")
    assert site.devices == ["Smartphone camera"]
    assert site.contributors_group.name == site_contributors_group_name("blantyre-hc")
    assert set(get_perms(site.contributors_group, site)) == {
        "contribute_to_site",
        "view_site_cases",
    }
    assert SiteGroupObjectPermission.objects.filter(content_object=site).count() == 2


def test_site_slug_is_read_only_once_created(admin_client):
    site = make_site("kisumu")
    response = admin_client.get(url(Site, "change", site.pk))
    assert "slug" not in response.context["adminform"].form.fields
    assert "name" in response.context["adminform"].form.fields


def test_membership_added_and_removed_in_the_admin_goes_through_the_services(admin_client):
    site = make_site()
    user = UserFactory()

    response = admin_client.post(
        url(SiteMembership, "add"), {"user": user.pk, "site": site.pk, "role": "contributor"}
    )

    assert response.status_code == 302
    membership = SiteMembership.objects.get(user=user, site=site)
    assert user.groups.filter(pk=site.contributors_group.pk).exists()
    assert can_contribute_to(user, site)

    response = admin_client.post(url(SiteMembership, "delete", membership.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not SiteMembership.objects.filter(pk=membership.pk).exists()
    assert not user.groups.filter(pk=site.contributors_group.pk).exists()
    assert not can_contribute_to(user, site)


def test_editing_a_draft_case_in_the_admin_is_audited(admin_client, admin_user):
    site = make_site()
    case = make_case(site, age_at_exam=30, adequacy="adequate")
    change_url = url(Case, "change", case.pk)
    data = change_form_data(admin_client.get(change_url))
    assert "state" not in data and "site" not in data and "subject" not in data
    data.update(age_at_exam="31", via_result="positive", state="accepted")

    response = admin_client.post(change_url, data)

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.age_at_exam, case.via_result, case.state) == (31, "positive", CaseState.DRAFT)
    event = case.events.get(kind=CaseEvent.Kind.EDITED)
    assert event.actor == admin_user and event.reason == ADMIN_EDIT_REASON
    assert event.changes["age_at_exam"] == {"from": 30, "to": 31}


def test_an_edit_the_service_refuses_changes_nothing(admin_client):
    case = make_case(
        swede_aceto_uptake="shady_milky",
        swede_margins="sharp_irregular",
        swede_vessels="fine_regular",
        swede_lesion_size="5_15mm",
        swede_iodine_uptake="brown",
    )
    assert case.swede_total == 3
    change_url = url(Case, "change", case.pk)
    data = change_form_data(admin_client.get(change_url))
    data.update(swede_total="9", age_at_exam="40")

    response = admin_client.post(change_url, data, follow=True)

    assert response.redirect_chain[-1][0] == change_url
    assert "was not changed" in response.content.decode()
    case.refresh_from_db()
    assert (case.swede_total, case.age_at_exam) == (3, None)
    assert not case.events.filter(kind=CaseEvent.Kind.EDITED).exists()


def test_cases_out_of_the_contributors_hands_are_read_only(admin_client, demo_data):
    case = Case.objects.filter(state=CaseState.ACCEPTED).first()
    image = case.images.first()
    age = case.age_at_exam

    assert admin_client.post(url(Case, "change", case.pk), {"age_at_exam": 50}).status_code == 403
    assert admin_client.post(url(Image, "change", image.pk), {"step": "other"}).status_code == 403
    assert admin_client.post(url(Image, "delete", image.pk), {"post": "yes"}).status_code == 403
    case.refresh_from_db()
    assert case.age_at_exam == age
    assert Image.objects.filter(pk=image.pk, step=image.step).exists()


def test_image_file_fields_are_read_only_and_removal_is_audited(admin_client):
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    image = add_image(case, contributor)

    response = admin_client.get(url(Image, "change", image.pk))

    form_fields = response.context["adminform"].form.fields
    for name in ["file", "sha256", "original_sha256", "width", "height", "processing_status"]:
        assert name not in form_fields
    assert "step" in form_fields

    response = admin_client.post(url(Image, "delete", image.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Image.objects.filter(pk=image.pk).exists()
    removal = case.events.get(kind=CaseEvent.Kind.IMAGE_REMOVED)
    assert removal.changes["sha256"] == image.sha256


def test_user_added_in_the_admin_signs_in_with_email(admin_client):
    response = admin_client.post(
        url(User, "add"),
        {
            "email": "new.reviewer@example.org",
            "full_name": "New Reviewer",
            "usable_password": "true",
            "password1": "a-long-enough-passphrase-42",
            "password2": "a-long-enough-passphrase-42",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.reviewer@example.org")
    assert user.full_name == "New Reviewer"
    assert user.check_password("a-long-enough-passphrase-42")
