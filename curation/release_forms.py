"""The forms of the curators' release pages (curation.views.release_admin): a new release (slug
and title) and a version's definition (curation.services.releases.define_version's arguments).

The forms check what a browser sends (types, choices, the fractions' sum); the services check the
rest (semantic version, unique version, the selection) and their errors are put back on the
fields they name (`apply_service_errors`).
"""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation.forms import check_label, known_checks
from curation.release_selectors import label_definitions
from curation.releases import splits
from curation.services.releases import DEFAULT_FRACTIONS
from imagebank import vocabularies as vocab
from imagebank.models import Site

# A service error's key -> the form field that shows it (other keys are the fields' own names).
FIELD_OF_SERVICE_ERROR = {"fractions": "fraction_train", "labels": "label_names"}
SPLIT_TITLES = {
    "train": gettext_lazy("Training fraction"),
    "validation": gettext_lazy("Validation fraction"),
    "test": gettext_lazy("Test fraction"),
}


def _multiple(label, help_text="") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, help_text=help_text, required=False, widget=forms.CheckboxSelectMultiple
    )


def _fraction(split: str) -> forms.FloatField:
    return forms.FloatField(
        label=SPLIT_TITLES[split],
        min_value=0,
        max_value=1,
        initial=DEFAULT_FRACTIONS[splits.SPLITS.index(split)],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "1"}),
    )


class ReleaseForm(forms.Form):
    slug = forms.SlugField(
        label=gettext_lazy("Slug"),
        max_length=60,
        help_text=gettext_lazy("Lower-case letters, digits and hyphens: part of every address."),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)


class VersionDefinitionForm(forms.Form):
    """A new version of a release: what it says of itself, which images it takes, which labels it
    carries, and how it is split."""

    version = forms.CharField(
        label=gettext_lazy("Version"),
        max_length=20,
        help_text=gettext_lazy("A semantic version: three numbers, such as 1.0.0."),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    licence_name = forms.CharField(label=gettext_lazy("Licence"), max_length=200)
    licence_url = forms.URLField(
        label=gettext_lazy("Licence URL"), required=False, assume_scheme="https"
    )
    citation = forms.CharField(
        label=gettext_lazy("How to cite"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    changelog_note = forms.CharField(
        label=gettext_lazy("What changed and why"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The selection (curation.services.release_build.SELECTION_KEYS).
    sites = _multiple(gettext_lazy("Sites"), gettext_lazy("None ticked: every site."))
    submitted_from = forms.DateField(
        label=gettext_lazy("Submitted from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    submitted_to = forms.DateField(
        label=gettext_lazy("Submitted until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    steps = _multiple(
        gettext_lazy("Steps every case must have"), gettext_lazy("None ticked: any steps.")
    )
    require_labels = _multiple(
        gettext_lazy("Labels every case must have a value for"),
        gettext_lazy("None ticked: a case may miss any label."),
    )
    exclude_failed_checks = _multiple(
        gettext_lazy("Checks whose failure leaves an image out"),
        gettext_lazy("An image whose latest result of a ticked check fails is left out."),
    )
    # The labels and the split policy.
    label_names = _multiple(
        gettext_lazy("Labels carried"), gettext_lazy("None ticked: every active label.")
    )
    stratify_by = _multiple(
        gettext_lazy("Stratify by labels"),
        gettext_lazy(
            "Each split's share of every value of these labels stays close to its fraction."
        ),
    )
    stratify_by_site = forms.BooleanField(
        label=gettext_lazy("Stratify by site"), required=False, initial=True
    )
    fraction_train = _fraction("train")
    fraction_validation = _fraction("validation")
    fraction_test = _fraction("test")
    seed = forms.IntegerField(
        label=gettext_lazy("Seed"),
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text=gettext_lazy(
            "Empty: one is drawn and recorded. The same seed gives the same splits."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = [(d.name, d.title) for d in label_definitions()]
        self.fields["sites"].choices = list(
            Site.objects.order_by("slug").values_list("slug", "name")
        )
        self.fields["steps"].choices = vocab.EXAMINATION_STEP.choices
        self.fields["require_labels"].choices = labels
        self.fields["exclude_failed_checks"].choices = [
            (name, check_label(name)) for name in known_checks()
        ]
        self.fields["label_names"].choices = labels
        self.fields["stratify_by"].choices = labels
        if not self.is_bound:
            self.initial.setdefault("label_names", [name for name, _title in labels])
            self.initial.setdefault("stratify_by", [name for name, _title in labels[:1]])

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("submitted_from"), cleaned.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", _("The end of the period is before its start."))
        values = [cleaned.get(f"fraction_{split}") for split in splits.SPLITS]
        if None not in values:
            try:
                splits.validate_fractions(values)
            except ValueError:
                self.add_error(
                    "fraction_train",
                    _("The three fractions must add up to 1 (they add up to %(sum)s).")
                    % {"sum": f"{sum(values):g}"},
                )
        return cleaned

    def selection(self) -> dict:
        """The selection as ReleaseVersion.selection stores it: only the filters given."""
        data = self.cleaned_data
        out: dict = {}
        for key in ("sites", "steps", "require_labels", "exclude_failed_checks"):
            if data.get(key):
                out[key] = list(data[key])
        for key in ("submitted_from", "submitted_to"):
            day: date | None = data.get(key)
            if day:
                out[key] = day.isoformat()
        return out

    def definition(self) -> dict:
        """define_version's keyword arguments (without release and actor)."""
        data = self.cleaned_data
        return {
            "version": data["version"].strip(),
            "description": data["description"],
            "licence_name": data["licence_name"],
            "licence_url": data["licence_url"],
            "citation": data["citation"],
            "changelog_note": data["changelog_note"],
            "selection": self.selection(),
            "label_names": list(data["label_names"]),
            "stratify_by": list(data["stratify_by"]),
            "stratify_by_site": data["stratify_by_site"],
            "fractions": [data[f"fraction_{split}"] for split in splits.SPLITS],
            "seed": data["seed"],
        }

    def apply_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the fields it names (the rest above the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            field = FIELD_OF_SERVICE_ERROR.get(key, key)
            self.add_error(field if field in self.fields else None, messages)
