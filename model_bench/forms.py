"""The forms of the benchmark pages: a new task (curators; model_bench.services.benchmark_tasks.
create_task's arguments) and the jobs to queue on a task (model_bench.services.jobs.queue_job's).

The forms check what a browser sends (types, choices, bounds); the services check the rest (the
label against the version, the classes against the label's rule, the metric against the kind)
and their errors are put back on the fields they name (`apply_service_errors`).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation.models import OutlineKind, ReleaseState, ReleaseVersion
from imagebank import vocabularies as vocab
from model_bench.models import BenchmarkTask, TaskKind
from model_bench.models.tasks import METRIC_CHOICES
from model_bench.reference_models import DEFAULT_MODELS, MODELS, model_kind
from model_bench.services.benchmark_tasks import parse_classes
from model_bench.services.jobs import CONFIG_BOUNDS
from model_bench.services.submissions import MODEL_CARD_FIELDS

# A service error's key -> the form field that shows it (other keys are the fields' own names).
FIELD_OF_SERVICE_ERROR = {"release": "version", "config": "epochs"}


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the fields it names (the rest above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        field = FIELD_OF_SERVICE_ERROR.get(key, key)
        form.add_error(field if field in form.fields else None, messages)


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ReleaseVersion) -> str:
        return obj.label


class TaskForm(forms.Form):
    slug = forms.SlugField(
        label=gettext_lazy("Slug"),
        max_length=60,
        help_text=gettext_lazy("Lower-case letters, digits and hyphens: part of the address."),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Public description"),
        max_length=10000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    version = VersionChoiceField(
        label=gettext_lazy("Release version"),
        queryset=ReleaseVersion.objects.none(),
        help_text=gettext_lazy("A published version: its splits are the task's."),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TaskKind.choices)
    label = forms.CharField(label=gettext_lazy("Label"), max_length=40)
    classes = forms.CharField(
        label=gettext_lazy("Classes"),
        max_length=1000,
        required=False,
        help_text=gettext_lazy(
            "Classification only. Empty: every value of the label is a class. "
            "“negative,positive”: each class is the value of that name; "
            "“negative=normal+cin1,positive=cin2+cin3”: a class gathers the values after its “=”. "
            "The last class of two is the positive one."
        ),
    )
    steps = forms.MultipleChoiceField(
        label=gettext_lazy("Examination steps"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: images of every step."),
    )
    metric = forms.ChoiceField(
        label=gettext_lazy("Primary metric"),
        required=False,
        help_text=gettext_lazy("Empty: AUC for classification, Dice for segmentation."),
    )
    image_size = forms.IntegerField(
        label=gettext_lazy("Input size in pixels"), min_value=32, max_value=2048, initial=224
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        versions = (
            ReleaseVersion.objects.filter(state=ReleaseState.PUBLISHED)
            .select_related("release")
            .order_by("release__slug", "-major", "-minor", "-patch")
        )
        self.fields["version"].queryset = versions
        self.fields["steps"].choices = vocab.EXAMINATION_STEP.choices
        self.fields["metric"].choices = [("", "—"), *METRIC_CHOICES]
        self.label_help = [
            {"version": version.label, "labels": list(version.label_names or [])}
            for version in versions
        ]
        self.fields["label"].help_text = _(
            "Classification: one of the version's labels (listed below). "
            "Segmentation: a mask kind, one of %(kinds)s."
        ) % {"kinds": ", ".join(OutlineKind.values)}

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if BenchmarkTask.objects.filter(slug=slug).exists():
            raise ValidationError(_("A task “%(slug)s” exists already.") % {"slug": slug})
        return slug

    def task_arguments(self) -> dict:
        """create_task's keyword arguments (without actor)."""
        data = self.cleaned_data
        classes, class_map = parse_classes(data.get("classes") or "")
        return {
            "slug": data["slug"],
            "title": data["title"],
            "description": data["description"],
            "version": data["version"],
            "kind": data["kind"],
            "label": data["label"].strip(),
            "classes": classes,
            "class_map": class_map,
            "steps": list(data["steps"]),
            "metric": data["metric"],
            "image_size": data["image_size"],
        }


class QueueJobsForm(forms.Form):
    """The models to run on a task, with one seed and, optionally, the number of epochs."""

    models = forms.MultipleChoiceField(
        label=gettext_lazy("Models"), widget=forms.CheckboxSelectMultiple
    )
    seed = forms.IntegerField(
        label=gettext_lazy("Seed"),
        min_value=0,
        max_value=2**31 - 1,
        initial=0,
        help_text=gettext_lazy("The same seed gives the same figures."),
    )
    epochs = forms.IntegerField(
        label=gettext_lazy("Epochs"),
        required=False,
        min_value=CONFIG_BOUNDS["epochs"][0],
        max_value=CONFIG_BOUNDS["epochs"][1],
        help_text=gettext_lazy("Empty: each model's default."),
    )

    def __init__(self, *args, task: BenchmarkTask, **kwargs):
        super().__init__(*args, **kwargs)
        kind = model_kind(task.is_segmentation)
        self.fields["models"].choices = [
            (name, f"{name} — {model.title}")
            for name, model in MODELS.items()
            if kind in model.kinds
        ]  # fmt: skip
        if not self.is_bound:
            self.initial.setdefault("models", list(DEFAULT_MODELS[kind]))

    def config(self) -> dict:
        epochs = self.cleaned_data.get("epochs")
        return {} if epochs is None else {"epochs": epochs}


class SubmissionForm(forms.Form):
    """A submission to a task (model_bench.services.submissions.submit's arguments): the file,
    a title, the group when the user holds the version through several, and the model card."""

    file = forms.FileField(
        label=gettext_lazy("Predictions (CSV) or ONNX model"),
        help_text=gettext_lazy("See the formats below. A file ending in .onnx is run as a model."),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=120)
    group = forms.ChoiceField(label=gettext_lazy("For the group"), required=False)
    architecture = forms.CharField(
        label=gettext_lazy("Architecture"), max_length=2000, required=False
    )
    training_data = forms.CharField(
        label=gettext_lazy("Training data"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    settings = forms.CharField(
        label=gettext_lazy("Training settings"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    parameters = forms.CharField(
        label=gettext_lazy("Number of parameters"), max_length=40, required=False
    )
    training_time = forms.CharField(
        label=gettext_lazy("Training time"), max_length=200, required=False
    )
    code_url = forms.CharField(label=gettext_lazy("Code (link)"), max_length=500, required=False)
    paper_url = forms.CharField(label=gettext_lazy("Paper (link)"), max_length=500, required=False)

    def __init__(self, *args, holders=(), segmentation=False, **kwargs):
        super().__init__(*args, **kwargs)
        if segmentation:
            self.fields["file"].label = gettext_lazy("Masks (ZIP of PNGs) or ONNX model")
        self.fields["group"].choices = [(holder.key, holder.name) for holder in holders]
        if len(holders) < 2:
            self.fields["group"].widget = forms.HiddenInput()

    def model_card(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in MODEL_CARD_FIELDS}
