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


class LeaderboardSerializer(serializers.Serializer):
    task = serializers.SlugField()
    release = serializers.CharField()
    primary_metric = serializers.CharField()
    level = serializers.CharField()
    policy = serializers.CharField(
        help_text=_("best or latest: which entry of each group is shown.")
    )
    entries = LeaderboardEntrySerializer(many=True)
