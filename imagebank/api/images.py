"""One image: read, change its step or position, remove it."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from imagebank import selectors
from imagebank.api.base import BankAPIMixin, is_schema_generation
from imagebank.api.serializers import ImagePlacementSerializer, ImageSerializer
from imagebank.models import Image
from imagebank.services import images as image_services


@extend_schema(tags=["images"])
@extend_schema_view(
    partial_update=extend_schema(request=ImagePlacementSerializer, responses=ImageSerializer)
)
class ImageViewSet(
    BankAPIMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """One image; changing its step or position, or removing it, is allowed while its case is in
    the contributor's hands."""

    permission_classes = [IsAuthenticated]
    serializer_class = ImageSerializer
    # Ids are numbers: other paths under images/ (an app's images/similar/) are not an image.
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Image]:
        if is_schema_generation(self):
            return Image.objects.none()
        return selectors.images_for_user(self.request.user)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Set the step (which confirms it) and/or the position of the image; the service
        checks that the case is editable by the user, as the case page does."""
        image = self.get_object()
        placement = ImagePlacementSerializer(data=request.data)
        placement.is_valid(raise_exception=True)
        values = placement.validated_data
        image_services.arrange_images(
            case=image.case,
            actor=request.user,
            placements={
                image.pk: image_services.Placement(
                    step=values.get("step"), order=values.get("display_order")
                )
            },
        )
        image.refresh_from_db()
        return Response(ImageSerializer(image, context=self.get_serializer_context()).data)

    def perform_destroy(self, instance: Image) -> None:
        image_services.remove_image(image=instance, actor=self.request.user)
