"""Serializers of model_bench's API: shapes and validation only, no writes (those go through
services).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class MetricFigureSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class BenchmarkSummarySerializer(serializers.Serializer):
    """One public benchmark task in the list."""

    slug = serializers.SlugField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    kind = serializers.CharField(
        help_text=_("image-classification, case-classification or segmentation")
    )
    release = serializers.CharField(help_text=_("The release version, as SLUG@VERSION."))
    label = serializers.CharField(
        help_text=_("The label (classification) or mask kind (segmentation).")
    )
    classes = serializers.ListField(child=serializers.CharField())
    positive_class = serializers.CharField(allow_null=True)
    steps = serializers.ListField(child=serializers.CharField())
    image_size = serializers.IntegerField()
    primary_metric = serializers.CharField()
    level = serializers.CharField(help_text=_("The level the board ranks: image or case."))
    entries = serializers.IntegerField(min_value=0)
    leader = serializers.DictField(allow_null=True)
    url = serializers.URLField()
    leaderboard_url = serializers.URLField()


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text=_("Equal values share a rank."))
    name = serializers.CharField()
    group = serializers.CharField(
        allow_null=True, help_text=_("The submitting group; null for a reference model.")
    )
    reference = serializers.BooleanField(help_text=_("A reference model trained by the bank."))
    model = serializers.CharField(allow_null=True)
    level = serializers.CharField()
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    n_test = serializers.IntegerField(min_value=0)
    result_at = serializers.DateTimeField()
    overlaps_leader = serializers.BooleanField(
        allow_null=True,
        help_text=_(
            "Whether its 95% bootstrap interval overlaps the leader's (null for the leader)."
        ),
    )
    model_card = serializers.DictField()
    pictures = serializers.DictField(
        child=serializers.CharField(),
        help_text=_("Paths of its pictures: roc (binary tasks) and confusion."),
    )
    card_url = serializers.CharField(
        help_text=_("The path of its model card's page (a reference model's: its job's page).")
    )


class LeaderboardSerializer(serializers.Serializer):
    task = serializers.SlugField()
    release = serializers.CharField()
    primary_metric = serializers.CharField()
    level = serializers.CharField()
    policy = serializers.CharField(
        help_text=_("best or latest: which entry of each group is shown.")
    )
    entries = LeaderboardEntrySerializer(many=True)


class SubmissionCreateSerializer(serializers.Serializer):
    """A submission as a script sends it (multipart): the file, a title, the group when the
    user holds the version through several, and the model card's fields."""

    file = serializers.FileField(
        help_text=_("The predictions CSV, the ZIP of mask PNGs, or the ONNX model.")
    )
    kind = serializers.ChoiceField(
        choices=["predictions", "masks", "onnx"], required=False, allow_blank=True,
        help_text=_("What the file is; by default .onnx files are models and others the "
                    "task's own kind of results."),
    )  # fmt: skip
    title = serializers.CharField(max_length=120)
    group = serializers.CharField(required=False, allow_blank=True, max_length=64)
    architecture = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    training_data = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    settings = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    parameters = serializers.CharField(required=False, allow_blank=True, max_length=40)
    training_time = serializers.CharField(required=False, allow_blank=True, max_length=200)
    code_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    paper_url = serializers.CharField(required=False, allow_blank=True, max_length=500)


class SubmissionErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    file = serializers.CharField(
        required=False, help_text=_("The member of a ZIP of masks the error is about.")
    )


class SubmissionLevelSerializer(serializers.Serializer):
    level = serializers.CharField()
    n_test = serializers.IntegerField()
    n_cases = serializers.IntegerField(allow_null=True)
    metrics = serializers.DictField(child=MetricFigureSerializer())
    confusion_matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()), allow_null=True
    )


class SubmissionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.SlugField()
    title = serializers.CharField()
    group = serializers.CharField()
    kind = serializers.CharField()
    state = serializers.CharField(help_text=_("received, scoring, scored, invalid or failed"))
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    errors = SubmissionErrorSerializer(many=True)
    failure = serializers.CharField(allow_blank=True)
    results = SubmissionLevelSerializer(many=True)
    pictures = serializers.DictField(child=serializers.CharField())
    model_card = serializers.DictField()
    url = serializers.URLField()
    page = serializers.URLField()
