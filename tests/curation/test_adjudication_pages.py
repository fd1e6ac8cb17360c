"""The curators' adjudication list and page (curation.views.adjudication_pages): who may see them,
both reviews side by side with what disagreed, the final decision through adjudicate() (recorded
with both reviews, the case's outcome, the contributors' notices), errors that name the field,
mark urgent for waiting entries, and the page's audited read."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from curation.models import (
    Adjudication,
    EntryStatus,
    ImageFlag,
    Notice,
    Outline,
    QueueEntry,
    Review,
    ReviewStatus,
)
from imagebank.lifecycle import CaseState
from imagebank.models import Case, ReadEvent
from imagebank.services import sites as site_services
from tests.factories import add_image, make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

LIST = "/curation/adjudication/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def curator():
    user = make_user_with_role(Role.CURATOR)
    with_totp(user)
    return user


def in_review(site, contributor, image_step="", **values):
    case = make_case(site, actor=contributor, **values)
    if image_step:
        add_image(case, contributor, image_step)
    Case.objects.filter(pk=case.pk).update(state=CaseState.IN_REVIEW, submitted_at=timezone.now())
    case.refresh_from_db()
    return case


@pytest.fixture
def disagreement():
    """A case whose two reviews disagree on the decision and the TZ type."""
    site = make_site(name="Kisumu")
    contributor = make_contributor(site)
    case = in_review(site, contributor, "after_acetic_acid", transformation_zone="type_1")
    image = case.images.get()
    first, second = make_user_with_role(Role.REVIEWER), make_user_with_role(Role.REVIEWER)
    now = timezone.now()
    entry = QueueEntry.objects.create(
        case=case,
        entered_at=now - timedelta(days=1),
        status=EntryStatus.ADJUDICATION,
        reviews_done=2,
        disagreement={
            "decision": ["accept", "reject"],
            "labels": {"transformation_zone": ["type_1", "type_2"]},
        },
    )
    reviews = [
        Review.objects.create(
            entry=entry,
            case=case,
            reviewer=reviewer,
            status=ReviewStatus.SUBMITTED,
            claimed_at=now - timedelta(hours=3),
            claim_expires=now,
            submitted_at=now - timedelta(hours=2),
            **values,
        )
        for reviewer, values in (
            (
                first,
                {"decision": "accept", "eligibility": {"consent": True}, "message": "Fine."},
            ),
            (
                second,
                {
                    "decision": "reject",
                    "reasons": ["poor_quality"],
                    "message": "Too blurred to judge.",
                    "eligibility": {"consent": False},
                    "label_opinions": {"transformation_zone": "type_2"},
                },
            ),
        )
    ]
    ImageFlag.objects.create(review=reviews[1], image=image, reason="out_of_focus")
    Outline.objects.create(
        review=reviews[0], image=image, kind="lesion", points=[[1, 1], [5, 1], [5, 5]]
    )
    return {"entry": entry, "case": case, "reviews": reviews, "image": image, "site": site}


def test_the_urls():
    assert reverse("curation:adjudication-list") == LIST
    assert reverse("curation:adjudication", args=[4]) == "/curation/adjudication/4/"


def test_only_curators_see_the_pages(disagreement, client):
    url = f"{LIST}{disagreement['entry'].pk}/"
    for user in (make_contributor(disagreement["site"]), make_user_with_role(Role.REVIEWER)):
        for address in (LIST, url):
            assert signed_in(user).get(address).status_code == 403
        assert signed_in(user).post(url, {"decision": "accept"}).status_code == 403
    assert client.get(LIST).status_code == 302
    assert not Adjudication.objects.exists()


def test_the_list_shows_what_disagreed(disagreement):
    page = signed_in(curator()).get(LIST).content.decode()
    row = page.split(f'data-entry="{disagreement["entry"].pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Accept / Reject" in row
    assert "Type 1 / Type 2" in row
    assert f"/curation/adjudication/{disagreement['entry'].pk}/" in row


def test_the_page_shows_both_reviews_side_by_side(disagreement):
    response = signed_in(curator()).get(f"{LIST}{disagreement['entry'].pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    for review in disagreement["reviews"]:
        assert f'data-review="{review.pk}"' in page
    assert "Fine." in page and "Too blurred to judge." in page

    def row(key):
        return page.split(f'data-row="{key}"', 1)[1].split("</tr>", 1)[0]

    assert "data-disagree" in row("decision")
    assert "Accept" in row("decision") and "Reject" in row("decision")
    assert "data-disagree" in row("label:transformation_zone")
    assert "Type 2" in row("label:transformation_zone")
    assert "data-disagree" in row("eligibility:consent")
    assert "Out of focus" in row("flags")
    assert ">1<" in row("outlines").replace("\n", "").replace(" ", "")
    assert "data-adjudication-form" in page


def test_the_curators_decision_is_final_and_recorded(
    disagreement, django_capture_on_commit_callbacks
):
    entry, case = disagreement["entry"], disagreement["case"]
    the_curator = curator()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(the_curator).post(
            f"{LIST}{entry.pk}/",
            {
                "decision": "accept",
                "message": "The image is usable.",
                "label_transformation_zone": "type_2",
                "excluded_images": [disagreement["image"].pk],
            },
        )
    assert response.status_code == 302 and response["Location"] == LIST
    adjudication = Adjudication.objects.get(entry=entry)
    assert adjudication.curator == the_curator and adjudication.decision == "accept"
    assert adjudication.label_values == {"transformation_zone": "type_2"}
    assert adjudication.excluded_images == [disagreement["image"].pk]
    entry.refresh_from_db()
    case.refresh_from_db()
    assert entry.status == EntryStatus.DECIDED and case.state == CaseState.ACCEPTED
    assert Notice.objects.filter(case=case, kind=Notice.Kind.ACCEPTED).exists()
    # The page now shows the decision instead of the form; another POST changes nothing.
    page = signed_in(the_curator).get(f"{LIST}{entry.pk}/").content.decode()
    assert f'data-adjudication="{adjudication.pk}"' in page
    assert "data-adjudication-form" not in page
    signed_in(the_curator).post(f"{LIST}{entry.pk}/", {"decision": "reject"})
    assert Adjudication.objects.count() == 1


@pytest.mark.parametrize(
    "data,field",
    [
        ({"decision": "reject"}, "reasons"),
        ({"decision": "return", "reasons": ["metadata"]}, "message"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "accept", "label_swede_total": "11"}, "label_swede_total"),
        ({"decision": "accept", "excluded_images": ["999999"]}, "excluded_images"),
    ],
)
def test_a_bad_decision_is_refused_naming_the_field(disagreement, data, field):
    response = signed_in(curator()).post(f"{LIST}{disagreement['entry'].pk}/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors or any(field in str(e) for e in form.non_field_errors())
    assert not Adjudication.objects.exists()


def test_a_curator_of_the_cases_site_may_not_decide(disagreement):
    the_curator = curator()
    site_services.add_site_member(site=disagreement["site"], user=the_curator)
    response = signed_in(the_curator).post(
        f"{LIST}{disagreement['entry'].pk}/", {"decision": "accept"}
    )
    assert response.status_code == 403
    assert not Adjudication.objects.exists()


def test_an_unknown_entry_is_404():
    assert signed_in(curator()).get(f"{LIST}999999/").status_code == 404


def test_the_page_read_is_audited(disagreement):
    the_curator = curator()
    signed_in(the_curator).get(f"{LIST}{disagreement['entry'].pk}/")
    assert ReadEvent.objects.filter(user=the_curator, case_id=disagreement["case"].pk).exists()


# --- mark urgent --------------------------------------------------------------------------------


@pytest.fixture
def waiting_entry():
    site = make_site()
    case = in_review(site, make_contributor(site))
    return QueueEntry.objects.create(case=case, entered_at=timezone.now())


def test_a_curator_marks_a_waiting_case_urgent_and_back(waiting_entry):
    client = signed_in(curator())
    page = client.get(LIST).content.decode()
    assert f'data-entry="{waiting_entry.pk}"' in page and "Mark urgent" in page
    response = client.post(
        LIST, {"entry": waiting_entry.pk, "urgent": "1", "reason": "Needed for a release"}
    )
    assert response.status_code == 302
    waiting_entry.refresh_from_db()
    assert waiting_entry.urgent and waiting_entry.urgent_reason == "Needed for a release"
    client.post(LIST, {"entry": waiting_entry.pk, "urgent": "0"})
    waiting_entry.refresh_from_db()
    assert not waiting_entry.urgent


@pytest.mark.parametrize(
    "data", [{"entry": "x", "urgent": "1"}, {"entry": "1", "urgent": "yes"}, {"urgent": "1"}]
)
def test_mark_urgent_refuses_bad_input(waiting_entry, data):
    if data.get("entry") == "1":
        data = {**data, "entry": waiting_entry.pk}
    response = signed_in(curator()).post(LIST, data, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any(("entry" in m) or ("urgent" in m) for m in messages)
    waiting_entry.refresh_from_db()
    assert not waiting_entry.urgent


def test_a_reviewer_cannot_mark_urgent(waiting_entry):
    response = signed_in(make_user_with_role(Role.REVIEWER)).post(
        LIST, {"entry": waiting_entry.pk, "urgent": "1"}
    )
    assert response.status_code == 403
    waiting_entry.refresh_from_db()
    assert not waiting_entry.urgent
