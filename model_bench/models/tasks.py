"""Benchmark tasks: what is to be predicted, from which images, of which frozen release version,
and how a model is judged.

A task names a published release version and its kind: image classification (one answer per
image), case classification (one per case, from its images), or segmentation (a mask per image).
For classification, `label` is one of the version's labels (curation.releases.labels) and
`class_map` groups its values into the task's `classes` (values left out of the map are left out
of the task); the last class of a binary task is its positive class. For segmentation, `label` is
the mask kind (cervix, lesion, scj). `steps` restricts the images to some examination steps
(empty: every step). `image_size` is the square input the reference models, and the ONNX models
submitted to the task, take.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TaskKind(models.TextChoices):
    IMAGE_CLASSIFICATION = "image-classification", _("image classification")
    CASE_CLASSIFICATION = "case-classification", _("case classification")
    SEGMENTATION = "segmentation", _("segmentation")


CLASSIFICATION_METRICS = (
    "auc",
    "accuracy",
    "balanced_accuracy",
    "sensitivity",
    "specificity",
    "f1",
)
SEGMENTATION_METRICS = ("dice", "iou")
# Every metric above is better when higher; a metric added that is not goes here (rankings).
LOWER_IS_BETTER: frozenset[str] = frozenset()
METRIC_CHOICES = [
    ("auc", _("area under the ROC curve")),
    ("accuracy", _("accuracy")),
    ("balanced_accuracy", _("balanced accuracy")),
    ("sensitivity", _("sensitivity")),
    ("specificity", _("specificity")),
    ("f1", _("F1 score")),
    ("dice", _("Dice coefficient")),
    ("iou", _("intersection over union")),
]


class BenchmarkTask(models.Model):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10000, blank=True)
    version = models.ForeignKey(
        "curation.ReleaseVersion", on_delete=models.PROTECT, related_name="benchmark_tasks"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=TaskKind.choices)
    label = models.CharField(_("label"), max_length=40)
    classes = models.JSONField(_("classes"), default=list)
    class_map = models.JSONField(_("label values per class"), default=dict, blank=True)
    steps = models.JSONField(_("examination steps"), default=list, blank=True)
    primary_metric = models.CharField(_("primary metric"), max_length=24, choices=METRIC_CHOICES)
    image_size = models.PositiveSmallIntegerField(_("input size in pixels"), default=224)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TaskKind.values), name="task_kind_valid"),
            models.CheckConstraint(
                condition=Q(image_size__gte=32) & Q(image_size__lte=2048),
                name="task_image_size_range",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def class_index(self, value) -> int | None:
        """The index of the task's class a label value belongs to, or None (left out)."""
        if value is None:
            return None
        name = self.class_map.get(value) if self.class_map else value
        return self.classes.index(name) if name in self.classes else None

    @property
    def is_segmentation(self) -> bool:
        return self.kind == TaskKind.SEGMENTATION

    @property
    def case_level(self) -> bool:
        return self.kind == TaskKind.CASE_CLASSIFICATION

    @property
    def positive_class(self) -> str | None:
        """The positive class of a binary classification task (the last of its classes)."""
        if self.is_segmentation or len(self.classes) != 2:
            return None
        return self.classes[-1]
