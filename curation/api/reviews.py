"""The review API, for reviewers (docs/review.md, "The API"):

- `POST /api/reviews/next/` claims the next case: 201 `{"review", "case", "claim_expires"}`, 200
  with the claim already held (one case at a time), 204 when nothing waits for this reviewer;
- `GET /api/reviews/{id}/` one's own review, with what it is judged from;
- `POST /api/reviews/{id}/decision/` accept, reject or return; `POST /api/reviews/{id}/release/`;
- `GET`/`POST /api/reviews/{id}/flags/`, `DELETE /api/reviews/{id}/flags/{flag}/`, and the same
  for `outlines/`.

Only reviewers (403 for everyone else); a review that is not one's own is a 404, whoever's it
is. The views are thin: curation.services.reviews writes, curation.review_selectors reads.
"""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from curation import review_selectors as selectors
from curation.api.review_serializers import (
    ClaimSerializer,
    DecisionSerializer,
    FlagCreateSerializer,
    FlagSerializer,
    NextRequestSerializer,
    OutlineCreateSerializer,
    OutlineSerializer,
    ReleasedSerializer,
    ReviewDetailSerializer,
)
from curation.models import Review
from curation.services import reviews as review_services
from imagebank.api.base import BankAPIMixin

TAGS = ["reviews"]


class IsReviewer(BasePermission):
    message = _("Only reviewers use the review API.")

    def has_permission(self, request, view) -> bool:
        return selectors.can_review(request.user)


# Every view names its permission classes itself (tests/imagebank/test_api.py checks it), so a
# change of the base class never silently opens one.
REVIEWERS_ONLY = [IsAuthenticated, IsReviewer]


class ReviewAPIView(BankAPIMixin, APIView):
    permission_classes = REVIEWERS_ONLY

    def own_review(self, pk: Any) -> Review:
        review = selectors.own_review(self.request.user, pk)
        if review is None:
            raise NotFound()
        return review


def claim_data(review: Review) -> dict[str, Any]:
    return {"review": review.pk, "case": review.case_id, "claim_expires": review.claim_expires}


def detail_data(request: Request, review: Review) -> dict[str, Any]:
    detail = selectors.review_detail(request.user, review)
    checks = [
        {
            "image": result.image_id,
            "check": result.check_name,
            "version": result.version,
            "verdict": result.verdict,
            "value": result.value,
            "threshold": result.threshold,
            "detail": result.detail,
            "overlay_url": (
                request.build_absolute_uri(reverse("curation:check-overlay", args=[result.pk]))
                if result.overlay
                else None
            ),
        }
        for result in detail["checks"]
    ]
    entry = detail["entry"]
    data = {
        "review": review.pk,
        "case": review.case_id,
        "round": entry.round,
        "urgent": entry.urgent,
        "status": review.status,
        "claimed_at": review.claimed_at,
        "claim_expires": review.claim_expires,
        "submitted_at": review.submitted_at,
        "decision": review.decision,
        "reasons": review.reasons,
        "message": review.message,
        "eligibility": review.eligibility,
        "label_opinions": review.label_opinions,
        "excluded_images": review.excluded_images,
        "case_details": detail["case"],
        "images": detail["images"],
        "checks": checks,
        "checklist": detail["checklist"],
        "flags": detail["flags"],
        "outlines": detail["outlines"],
    }
    return ReviewDetailSerializer(data, context={"request": request}).data


class ReviewNextView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="reviews_next",
        # No body, or an empty object (a key is a 400 naming it); drf-spectacular leaves a
        # serializer without fields out, so the schema says it itself.
        request={
            "application/json": {
                "type": "object",
                "additionalProperties": False,
                "maxProperties": 0,
            }
        },
        responses={
            201: ClaimSerializer,
            200: OpenApiResponse(
                ClaimSerializer, description=_("The claim you already hold (one case at a time).")
            ),
            204: OpenApiResponse(description=_("Nothing is waiting for you.")),
        },
        description=_(
            "Claim the next case: urgent cases first, then (for a resubmitted case) the ones "
            "you reviewed before, then the oldest; never a case of a site you belong to, never "
            "one you reviewed, never one another reviewer holds."
        ),
    )
    def post(self, request: Request) -> Response:
        NextRequestSerializer(data=request.data).is_valid(raise_exception=True)
        review = review_services.claim_next(request.user)
        if review is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        code = status.HTTP_201_CREATED if review.newly_claimed else status.HTTP_200_OK
        return Response(ClaimSerializer(claim_data(review)).data, status=code)


class ReviewDetailView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(tags=TAGS, operation_id="reviews_retrieve", responses=ReviewDetailSerializer)
    def get(self, request: Request, id: int) -> Response:
        return Response(detail_data(request, self.own_review(id)))


class ReviewDecisionView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="reviews_decision",
        request=DecisionSerializer,
        responses=ReviewDetailSerializer,
        description=_(
            "Submit your review while you hold the claim. 400 names each bad field: unknown "
            "reason codes or checklist items, required items not met for an acceptance, images "
            "not of the case. 403 once the claim has expired or was released."
        ),
    )
    def post(self, request: Request, id: int) -> Response:
        review = self.own_review(id)
        sent = DecisionSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        review = review_services.decide(review, actor=request.user, **sent.validated_data)
        return Response(detail_data(request, self.own_review(review.pk)))


class ReviewReleaseView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(
        tags=TAGS, operation_id="reviews_release", request=None, responses=ReleasedSerializer
    )
    def post(self, request: Request, id: int) -> Response:
        review = review_services.release(self.own_review(id), actor=request.user)
        return Response(ReleasedSerializer({"review": review.pk, "status": review.status}).data)


class ReviewFlagsView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(
        tags=TAGS, operation_id="reviews_flags_list", responses=FlagSerializer(many=True)
    )
    def get(self, request: Request, id: int) -> Response:
        flags = selectors.own_flags(self.own_review(id))
        return Response(FlagSerializer(flags, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="reviews_flags_create",
        request=FlagCreateSerializer,
        responses={201: FlagSerializer},
    )
    def post(self, request: Request, id: int) -> Response:
        review = self.own_review(id)
        sent = FlagCreateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        flag = review_services.add_flag(review, actor=request.user, **sent.validated_data)
        return Response(FlagSerializer(flag).data, status=status.HTTP_201_CREATED)


class ReviewFlagView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="reviews_flags_destroy",
        responses={204: OpenApiResponse(description=_("Removed."))},
    )
    def delete(self, request: Request, id: int, flag: int) -> Response:
        review = self.own_review(id)
        flag = selectors.row_id(flag)
        if flag is None or not selectors.own_flags(review).filter(pk=flag).exists():
            raise NotFound()
        review_services.remove_flag(review, flag_id=flag, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewOutlinesView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(
        tags=TAGS, operation_id="reviews_outlines_list", responses=OutlineSerializer(many=True)
    )
    def get(self, request: Request, id: int) -> Response:
        outlines = selectors.own_outlines(self.own_review(id))
        return Response(OutlineSerializer(outlines, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="reviews_outlines_create",
        request=OutlineCreateSerializer,
        responses={201: OutlineSerializer},
    )
    def post(self, request: Request, id: int) -> Response:
        review = self.own_review(id)
        sent = OutlineCreateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        outline = review_services.add_outline(review, actor=request.user, **sent.validated_data)
        return Response(OutlineSerializer(outline).data, status=status.HTTP_201_CREATED)


class ReviewOutlineView(ReviewAPIView):
    permission_classes = REVIEWERS_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="reviews_outlines_destroy",
        responses={204: OpenApiResponse(description=_("Removed."))},
    )
    def delete(self, request: Request, id: int, outline: int) -> Response:
        review = self.own_review(id)
        outline = selectors.row_id(outline)
        if outline is None or not selectors.own_outlines(review).filter(pk=outline).exists():
            raise NotFound()
        review_services.remove_outline(review, outline_id=outline, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
