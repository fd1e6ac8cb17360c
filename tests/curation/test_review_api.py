"""The review API (curation.api.reviews): claiming (201, 200, 204), one's own review with what it
is judged from, decisions with errors naming the field, release, flags and outlines; 403 for
everyone but reviewers, 404 for a review that is not one's own."""

from datetime import datetime

import pytest
from rest_framework.test import APIClient

from curation.models import ImageFlag, Outline, Review, ReviewStatus
from imagebank.lifecycle import CaseState
from tests.curation.test_review_queue import (
    accept_answers,
    curator,
    in_review_case,
    reviewer,
)
from tests.factories import make_contributor, make_site
from tests.tokens import token_for

NEXT = "/api/reviews/next/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def claim(client) -> dict:
    response = client.post(NEXT)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
def test_next_claims_a_case_answers_the_same_claim_then_nothing():
    case = in_review_case()
    alice = token_client(reviewer())
    body = claim(alice)
    assert set(body) == {"review", "case", "claim_expires"}
    assert body["case"] == case.pk
    assert Review.objects.get(pk=body["review"]).status == ReviewStatus.CLAIMED
    datetime.fromisoformat(body["claim_expires"].replace("Z", "+00:00"))
    again = alice.post(NEXT)
    assert again.status_code == 200 and again.json() == body  # one case at a time
    bob = token_client(reviewer())
    nothing = bob.post(NEXT)
    assert nothing.status_code == 204 and nothing.content == b""
    assert bob.post(NEXT, {}, format="json").status_code == 204
    refused = bob.post(NEXT, {"site": 1}, format="json")
    assert refused.status_code == 400 and "site" in refused.json()


@pytest.mark.django_db
def test_only_reviewers_use_the_review_api():
    in_review_case()
    for user in (make_contributor(), curator()):
        client = token_client(user)
        assert client.post(NEXT).status_code == 403
        assert client.get("/api/reviews/1/").status_code == 403
    assert APIClient().post(NEXT).status_code == 401


@pytest.mark.django_db
def test_a_session_works_too():
    in_review_case()
    client = APIClient()
    client.force_login(reviewer())
    assert client.post(NEXT).status_code == 201


@pytest.mark.django_db
def test_the_review_shows_the_case_the_checklist_and_only_ones_own_work():
    case = in_review_case(images=True)
    alice_user = reviewer()
    alice = token_client(alice_user)
    body = claim(alice)
    review_id = body["review"]
    image = case.images.order_by("display_order").first()
    response = alice.post(
        f"/api/reviews/{review_id}/flags/", {"image": image.pk, "reason": "glare"}, format="json"
    )
    assert response.status_code == 201, response.content
    flag = response.json()
    assert flag["reason"] == "glare" and flag["image"] == image.pk

    detail = alice.get(f"/api/reviews/{review_id}/")
    assert detail.status_code == 200
    data = detail.json()
    assert (data["review"], data["case"], data["status"], data["round"]) == (
        review_id,
        case.pk,
        "claimed",
        1,
    )
    assert data["claim_expires"] == body["claim_expires"]
    assert [(i["step"], i["display_order"]) for i in data["images"]] == [
        ("before_acetic_acid", 1),
        ("after_acetic_acid", 2),
        ("after_lugol", 3),
    ]
    assert all(i["original_filename"] is None for i in data["images"])  # reviewers see no names
    assert data["case_details"]["id"] == case.pk
    codes = [item["code"] for item in data["checklist"]]
    assert codes == list(accept_answers())
    assert {"code", "label", "required", "prefilled"} <= set(data["checklist"][0])
    assert [f["id"] for f in data["flags"]] == [flag["id"]]
    assert data["outlines"] == []

    # Another reviewer: not their review (404), and their own shows nothing of Alice's.
    bob = token_client(reviewer())
    assert bob.get(f"/api/reviews/{review_id}/").status_code == 404
    assert bob.get(f"/api/reviews/{review_id}/flags/").status_code == 404
    assert bob.post(f"/api/reviews/{review_id}/release/").status_code == 404
    assert alice.get("/api/reviews/99999999999999999999/").status_code == 404


@pytest.mark.django_db
def test_a_decision_with_bad_fields_is_a_400_naming_them():
    in_review_case(images=True)
    client = token_client(reviewer())
    review_id = claim(client)["review"]
    url = f"/api/reviews/{review_id}/decision/"
    cases = [
        ({"decision": "perhaps"}, "decision"),
        ({}, "decision"),
        ({"decision": "reject", "reasons": []}, "reasons"),
        ({"decision": "reject", "reasons": ["bad_vibes"]}, "reasons"),
        ({"decision": "return", "reasons": ["metadata"], "message": ""}, "message"),
        ({"decision": "accept", "eligibility": {"unknown_item": True}}, "eligibility"),
        ({"decision": "accept", "eligibility": {"consent": "yes"}}, "eligibility"),
        ({"decision": "accept", "eligibility": []}, "eligibility"),
        ({"decision": "accept", "excluded_images": [123456789]}, "excluded_images"),
        ({"decision": "accept", "label_opinions": {"notes": "x"}}, "label_opinions"),
        ({"decision": "accept", "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    unmet = client.post(
        url, {"decision": "accept", "eligibility": {"consent": True}}, format="json"
    ).json()
    assert "The cervix fully in view" in unmet["eligibility"][0]
    assert Review.objects.get(pk=review_id).status == ReviewStatus.CLAIMED


@pytest.mark.django_db
def test_two_acceptances_through_the_api_accept_the_case():
    case = in_review_case(images=True)
    for _ in range(2):
        client = token_client(reviewer())
        review_id = claim(client)["review"]
        response = client.post(
            f"/api/reviews/{review_id}/decision/",
            {
                "decision": "accept",
                "reasons": [],
                "message": "",
                "eligibility": accept_answers(),
                "label_opinions": {"transformation_zone": "type_1"},
            },
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "submitted"
        assert response.json()["decision"] == "accept"
        # Submitted: the claim is no longer held.
        again = client.post(
            f"/api/reviews/{review_id}/decision/", {"decision": "accept"}, format="json"
        )
        assert again.status_code == 403
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED


@pytest.mark.django_db
def test_a_return_through_the_api():
    site = make_site()
    case = in_review_case(site=site, contributor=make_contributor(site))
    for message in ("Lugol image missing.", "Retake the acetic acid image."):
        client = token_client(reviewer())
        review_id = claim(client)["review"]
        response = client.post(
            f"/api/reviews/{review_id}/decision/",
            {"decision": "return", "reasons": ["incomplete_sequence"], "message": message},
            format="json",
        )
        assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.state == CaseState.RETURNED


@pytest.mark.django_db
def test_release_gives_the_case_back():
    in_review_case()
    alice = token_client(reviewer())
    review_id = claim(alice)["review"]
    response = alice.post(f"/api/reviews/{review_id}/release/")
    assert response.status_code == 200
    assert response.json() == {"review": review_id, "status": "released"}
    assert alice.post(f"/api/reviews/{review_id}/release/").status_code == 400
    assert token_client(reviewer()).post(NEXT).status_code == 201


@pytest.mark.django_db
def test_flags_and_outlines_are_added_listed_and_removed():
    case = in_review_case(images=True)
    client = token_client(reviewer())
    review_id = claim(client)["review"]
    base = f"/api/reviews/{review_id}"
    image = case.images.first()

    bad_flags = [
        ({"image": image.pk, "reason": "smudge"}, "reason"),
        ({"image": image.pk, "reason": "wrong_step"}, "correct_step"),
        ({"image": 0, "reason": "glare"}, "image"),
        ({"image": 987654, "reason": "glare"}, "image"),
        ({"image": image.pk, "reason": "glare", "colour": "red"}, "colour"),
    ]
    for body, field in bad_flags:
        response = client.post(f"{base}/flags/", body, format="json")
        assert response.status_code == 400 and field in response.json(), response.content
    flag = client.post(
        f"{base}/flags/",
        {
            "image": image.pk,
            "reason": "wrong_step",
            "correct_step": "after_lugol",
            "note": "Iodine",
        },
        format="json",
    ).json()
    assert flag["correct_step"] == "after_lugol"
    assert [f["id"] for f in client.get(f"{base}/flags/").json()] == [flag["id"]]

    points = [[10, 10], [120, 15], [60, 100]]
    bad_outlines = [
        ({"image": image.pk, "kind": "lesion", "points": [[1, 1], [2, 2]]}, "points"),
        ({"image": image.pk, "kind": "lesion", "points": [[1, 1], [2, 2], [5000, 5]]}, "points"),
        ({"image": image.pk, "kind": "lesion", "points": [[1, 1, 1], [2, 2], [3, 3]]}, "points"),
        ({"image": image.pk, "kind": "blob", "points": points}, "kind"),
    ]
    for body, field in bad_outlines:
        response = client.post(f"{base}/outlines/", body, format="json")
        assert response.status_code == 400 and field in response.json(), response.content
    outline = client.post(
        f"{base}/outlines/", {"image": image.pk, "kind": "lesion", "points": points}, format="json"
    )
    assert outline.status_code == 201, outline.content
    outline = outline.json()
    assert outline["points"] == [[10.0, 10.0], [120.0, 15.0], [60.0, 100.0]]
    assert [o["id"] for o in client.get(f"{base}/outlines/").json()] == [outline["id"]]

    assert client.delete(f"{base}/flags/{flag['id']}/").status_code == 204
    assert client.delete(f"{base}/flags/{flag['id']}/").status_code == 404
    assert client.delete(f"{base}/outlines/{outline['id']}/").status_code == 204
    assert client.delete(f"{base}/outlines/99999999999999999999/").status_code == 404
    assert not ImageFlag.objects.exists() and not Outline.objects.exists()


@pytest.mark.django_db
def test_reading_a_review_through_the_api_is_audited_as_a_read_of_its_case():
    from imagebank.models import ReadEvent

    case = in_review_case(images=True)
    alice_user = reviewer()
    alice = token_client(alice_user)
    review_id = claim(alice)["review"]
    assert alice.get(f"/api/reviews/{review_id}/").status_code == 200
    event = ReadEvent.objects.filter(route="curation_api:review-detail").latest("pk")
    assert (event.kind, event.channel, event.object_id, event.case_id, event.user) == (
        "review",
        "api",
        review_id,
        case.pk,
        alice_user,
    )
