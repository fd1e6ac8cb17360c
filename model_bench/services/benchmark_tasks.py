"""Creating a benchmark task on a published release version (curators; `manage.py create_task`
and the curators' page call this).

The task's definition is checked against the version it names: the label must be one of the
version's labels (classification) or a mask kind (segmentation), the classes must come from the
label's rule, the steps from the bank's examination steps, the metric must fit the kind. What
was checked is frozen with the task: a task never changes once jobs have run on it.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from curation.models import LabelDefinition, OutlineKind, ReleaseVersion
from curation.releases.labels import RULES
from curation.services.releases import can_manage_releases
from imagebank import vocabularies as vocab
from model_bench.models import (
    CLASSIFICATION_METRICS,
    SEGMENTATION_METRICS,
    BenchmarkTask,
    TaskKind,
)

DEFAULT_METRIC = {
    TaskKind.IMAGE_CLASSIFICATION: "auc",
    TaskKind.CASE_CLASSIFICATION: "auc",
    TaskKind.SEGMENTATION: "dice",
}


def can_manage_tasks(user) -> bool:
    return can_manage_releases(user)


def parse_classes(text: str) -> tuple[list[str], dict[str, str]]:
    """`--classes` as written: "negative,positive" (each class is the label value of the same
    name), or "negative=negative,positive=positive+suspicious_for_cancer" (a class gathers the
    values after its '='). Returns (classes in order, {value: class})."""
    classes: list[str] = []
    class_map: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _sep, values = part.partition("=")
        name = name.strip()
        classes.append(name)
        for value in values.split("+") if values else [name]:
            class_map[value.strip()] = name
    return classes, class_map


def _clean_classification(version: ReleaseVersion, label: str, classes, class_map) -> tuple:
    if label not in (version.label_names or []):
        raise ValidationError(
            {
                "label": _("The release version has no label “%(label)s”; it has: %(names)s.")
                % {"label": label, "names": ", ".join(version.label_names or []) or "—"}
            }
        )
    definition = LabelDefinition.objects.filter(name=label).first()
    rule = RULES.get(definition.rule) if definition else None
    values = rule.classes if rule else ()
    if not classes:
        classes, class_map = list(values), {value: value for value in values}
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ValidationError({"classes": _("A classification task needs two or more classes.")})
    unknown = sorted(value for value in class_map if value not in values)
    if unknown:
        raise ValidationError(
            {
                "classes": _("“%(values)s” are not values of the label; its values are %(known)s.")
                % {"values": ", ".join(unknown), "known": ", ".join(values)}
            }
        )
    missing = [name for name in classes if name not in class_map.values()]
    if missing:
        raise ValidationError(
            {"classes": _("Class “%(name)s” takes no value.") % {"name": missing[0]}}
        )
    return list(classes), dict(class_map)


@transaction.atomic
def create_task(
    *,
    slug: str,
    version: ReleaseVersion,
    kind: str,
    label: str,
    actor,
    title: str = "",
    description: str = "",
    classes: list[str] | None = None,
    class_map: dict[str, str] | None = None,
    steps: list[str] | None = None,
    metric: str = "",
    image_size: int = 224,
) -> BenchmarkTask:
    if actor is not None and not can_manage_tasks(actor):
        raise PermissionError(_("Only curators create benchmark tasks."))
    if kind not in TaskKind.values:
        raise ValidationError(
            {"kind": _("Choose a kind: %(kinds)s.") % {"kinds": ", ".join(TaskKind.values)}}
        )
    if not version.is_published:
        raise ValidationError({"release": _("A benchmark task needs a published release version.")})
    if BenchmarkTask.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": _("A task “%(slug)s” exists already.") % {"slug": slug}})
    steps = [step for step in (steps or []) if step]
    bad_steps = [step for step in steps if step not in vocab.EXAMINATION_STEP]
    if bad_steps:
        raise ValidationError(
            {"steps": _("Unknown examination step “%(step)s”.") % {"step": bad_steps[0]}}
        )
    if kind == TaskKind.SEGMENTATION:
        if label not in OutlineKind.values:
            raise ValidationError(
                {
                    "label": _("A segmentation task's label is a mask kind: %(kinds)s.")
                    % {"kinds": ", ".join(OutlineKind.values)}
                }  # fmt: skip
            )
        classes, class_map = ["background", label], {}
        allowed = SEGMENTATION_METRICS
    else:
        classes, class_map = _clean_classification(version, label, classes or [], class_map or {})
        allowed = CLASSIFICATION_METRICS
    metric = metric or DEFAULT_METRIC[kind]
    if metric not in allowed:
        raise ValidationError(
            {
                "metric": _("For this kind of task choose a metric among %(metrics)s.")
                % {"metrics": ", ".join(allowed)}
            }  # fmt: skip
        )
    if not (32 <= int(image_size) <= 2048):
        raise ValidationError({"image_size": _("The input size must be 32 to 2,048 pixels.")})
    task = BenchmarkTask(
        slug=slug,
        title=title or slug,
        description=description,
        version=version,
        kind=kind,
        label=label,
        classes=classes,
        class_map=class_map,
        steps=steps,
        primary_metric=metric,
        image_size=int(image_size),
        created_by=actor,
    )
    task.full_clean()
    task.save()
    return task
