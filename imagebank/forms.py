"""Forms of the case pages. They only parse and check input; the services do every write.

Field labels, choices and validators come from the Case model and the vocabularies, so the form
cannot drift from what the database and the API accept.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from imagebank import vocabularies as vocab
from imagebank.ingest.accepted import ACCEPT_ATTRIBUTE, check_import_file
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image, Site
from imagebank.models.cases import ACETOWHITE_FEATURES, CONSENT_ATTESTED
from imagebank.services.cases import SOURCE_REFERENCE_MAX_LENGTH
from imagebank.services.images import Placement

# Groups of clinical fields as a colposcopist fills them in, in IFCPC 2011 order.
FIELDSETS: list[tuple[str, str, list[str]]] = [
    (
        "visit",
        _("The visit"),
        ["age_at_exam", "exam_year", "screening_context", "hpv_result", "cytology"],
    ),
    (
        "general",
        _("General assessment (IFCPC 2011)"),
        [
            "adequacy",
            "inadequacy_reason",
            "scj_visibility",
            "scj_location",
            "transformation_zone",
        ],
    ),
    ("findings", _("Colposcopic findings"), list(vocab.FINDING_LISTS)),
    (
        "lesion",
        _("Lesion position and size"),
        ["lesion_location", "lesion_clock_positions", "lesion_quadrants", "lesion_extent"],
    ),
    (
        "swede",
        _("Swede score"),
        [*vocab.SWEDE_COMPONENTS, "swede_total", "swede_not_assessable"],
    ),
    (
        "via",
        _("VIA: the acetowhite area"),
        [
            "acetowhite_area",
            *ACETOWHITE_FEATURES,
        ],
    ),
    (
        "outcome",
        _("Result and management"),
        [
            "via_result",
            "ablation_eligibility",
            "provisional_diagnosis",
            "management",
            "histopathology",
            "notes",
        ],
    ),
]
FORM_CLINICAL_FIELDS = [name for _key, _legend, names in FIELDSETS for name in names]


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form fields it names, the rest on the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, errors in error.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


ACCEPTED_IMAGE_TYPES = "image/jpeg,image/png,image/tiff,.dcm,application/dicom"
CLOCK_HOURS = [(hour, str(hour)) for hour in range(1, 13)]


class _NeededBoundField(forms.BoundField):
    """Marks the label of a field the case's site needs before the case is submitted."""

    def label_tag(self, contents=None, attrs=None, label_suffix=None, tag=None):
        if self.name in getattr(self.form, "needed_to_submit", ()):
            attrs = {**(attrs or {})}
            attrs["class"] = f"{attrs.get('class', '')} needed".strip()
        return super().label_tag(contents, attrs, label_suffix, tag)


def source_reference_field() -> forms.CharField:
    return forms.CharField(
        label=_("Your case reference"),
        max_length=SOURCE_REFERENCE_MAX_LENGTH,
        required=False,
        help_text=_(
            "Your own name or number for this examination (e.g. “Case 002” of your export or "
            "register), so you can find it again. Never the patient's ID or name: reviewers "
            "see it."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def consent_attested_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_(
            "I attest that the subject gave informed consent for the research use of these images"
        ),
        required=False,
        help_text=_(
            "Tick this when the subject consented, as your site records it, to the use of the "
            "examination's images for research. The bank records only that you attested it, "
            "and when, never the consent form. Leave it unticked for a retrospective collection "
            "covered by your site's data-sharing agreement, or when you do not know: the "
            "reviewers then decide. Unticking withdraws your attestation."
        ),
    )


class CaseMetadataForm(forms.Form):
    """The clinical metadata of a case, used to create it and to edit it.

    `needed_to_submit`: the fields the site requires before the case is submitted, each with
    what to say beside it (imagebank.submission.fields_needed_by); they stay optional for saving
    a draft, and are marked as needed.
    """

    required_css_class = "required"
    bound_field_class = _NeededBoundField

    def __init__(
        self, *args: Any, needed_to_submit: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.needed_to_submit = dict(needed_to_submit or {})
        self.fields["source_reference"] = source_reference_field()
        for name in FORM_CLINICAL_FIELDS:
            self.fields[name] = self._field_for(name)
        self.fields["consent_attested"] = consent_attested_field()
        self.fields["notes"].widget = forms.Textarea(attrs={"rows": 4})
        self.fields["age_at_exam"].widget.attrs.update(inputmode="numeric", min=10, max=100)
        self.fields["exam_year"].widget.attrs.update(inputmode="numeric", min=1990, max=2100)
        self.fields["swede_total"].help_text = _(
            "Filled in from the five components when all are given; leave it empty then."
        )
        for name, note in self.needed_to_submit.items():
            if name in self.fields:
                help_text = self.fields[name].help_text
                self.fields[name].help_text = f"{note} {help_text}" if help_text else note

    @staticmethod
    def _field_for(name: str) -> forms.Field:
        model_field = Case._meta.get_field(name)
        if name in vocab.FINDING_LISTS:
            return forms.MultipleChoiceField(
                label=capfirst(model_field.verbose_name),
                choices=vocab.FINDING_LISTS[name].choices,
                widget=forms.CheckboxSelectMultiple,
                required=False,
            )
        if name == "lesion_clock_positions":
            return forms.TypedMultipleChoiceField(
                label=_("Lesion clock positions"),
                choices=CLOCK_HOURS,
                coerce=int,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "clock"}),
                required=False,
                help_text=_("Tick every hour the lesion covers."),
            )
        field = model_field.formfield()
        field.required = False
        return field

    def fieldsets(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        return [(key, legend, [self[name] for name in names]) for key, legend, names in FIELDSETS]

    def clinical_values(self) -> dict[str, Any]:
        """The cleaned clinical values in the shape the case services take."""
        values = {name: self.cleaned_data.get(name) for name in FORM_CLINICAL_FIELDS}
        for name in vocab.FINDING_LISTS:
            values[name] = list(values[name] or [])
        values["lesion_clock_positions"] = list(values["lesion_clock_positions"] or [])
        values["swede_not_assessable"] = bool(values["swede_not_assessable"])
        values["notes"] = values["notes"] or ""
        return values

    def source_reference(self) -> str:
        return self.cleaned_data.get("source_reference") or ""

    def consent_attested(self) -> bool:
        return bool(self.cleaned_data.get("consent_attested"))

    @classmethod
    def initial_from(cls, case: Case) -> dict[str, Any]:
        return {
            "source_reference": case.source_reference,
            "consent_attested": case.consent_basis == CONSENT_ATTESTED,
            **{name: getattr(case, name) for name in FORM_CLINICAL_FIELDS},
        }


class NewCaseForm(CaseMetadataForm):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), empty_label=None)
    local_patient_id = forms.CharField(
        label=_("Local patient ID"),
        max_length=100,
        help_text=_(
            "The ID your clinic uses for this patient. The bank turns it into a pseudonym at "
            "once and never stores the ID itself; the same ID always gives the same pseudonym, "
            "so visits of one patient stay linked."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, sites, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        # These come first on the page; the base form added the clinical fields after them.
        self.order_fields(
            [
                "site",
                "local_patient_id",
                "source_reference",
                *FORM_CLINICAL_FIELDS,
                "consent_attested",
            ]
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files from one `<input type=file multiple>`, in the order they were chosen."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ACCEPTED_IMAGE_TYPES, "multiple": True})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ImageUploadForm(forms.Form):
    """Images with their examination steps, and whether each step is only a guess.

    Without JavaScript one step (`default_step`) applies to every file: with several files it can
    be right for one of them at most, so each counts as a guess, to be checked on the case page.
    The page's script adds, per chosen file and in the same order, a `file_step` select
    (preselected from the usual order of an examination) and a `file_step_checked` field, "1"
    once the contributor has chosen or confirmed that step.
    """

    images = MultipleImageField(
        label=_("Image files"),
        required=False,
        help_text=_(
            "JPEG, PNG, TIFF or DICOM. Choose the images in the order they were taken; you can "
            "set the step of each one below."
        ),
    )
    default_step = forms.ChoiceField(
        label=_("Examination step"),
        choices=vocab.EXAMINATION_STEP.choices,
        required=False,
        help_text=_(
            "Used for every file. With several files, set the step of each image on the case "
            "page afterwards: until you do, the steps count as guesses."
        ),
    )

    def __init__(self, *args: Any, require_images: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.require_images = require_images

    def _posted(self, name: str) -> list[str]:
        return self.data.getlist(name) if hasattr(self.data, "getlist") else []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        files = cleaned.get("images") or []
        if self.require_images and not files:
            self.add_error("images", _("Choose at least one image."))
        steps = self._posted("file_step")
        if len(steps) == len(files):
            checked = self._posted("file_step_checked")
            if len(checked) == len(files):
                guesses = [flag != "1" for flag in checked]
            else:
                guesses = [True] * len(files)  # preselected by the script, never confirmed
        else:
            default = cleaned.get("default_step") or vocab.EXAMINATION_STEP.terms[0].code
            steps = [default] * len(files)
            guesses = [len(files) > 1] * len(files)
        bad = [step for step in steps if step not in vocab.EXAMINATION_STEP]
        if bad:
            self.add_error("default_step", _("Choose an examination step for every image."))
        cleaned["uploads"] = list(zip(files, steps, guesses, strict=True))
        return cleaned

    def uploads(self) -> list[tuple[Any, str, bool]]:
        """(file, step, step is a guess) in the order the files were chosen."""
        return self.cleaned_data.get("uploads", [])


class ImageArrangementForm(forms.Form):
    """The step and the position of each image of a case, in one form that needs no script.

    Fields `step_<pk>` and `order_<pk>` per image; positions run from 1 to the number of images.
    The case page shows each pair beside its image, outside the <form> element, which the
    fields name in their `form` attribute (HTML_ID).
    """

    HTML_ID = "arrange-form"

    def __init__(self, *args: Any, images: list[Image], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.images = list(images)
        count = len(self.images)
        for position, image in enumerate(self.images, start=1):
            self.fields[f"step_{image.pk}"] = forms.ChoiceField(
                label=_("Step of image %(n)s") % {"n": position},
                choices=vocab.EXAMINATION_STEP.choices,
                initial=image.step,
                widget=forms.Select(attrs={"form": self.HTML_ID, "data-arrange-step": ""}),
            )
            self.fields[f"order_{image.pk}"] = forms.IntegerField(
                label=_("Position of image %(n)s") % {"n": position},
                min_value=1,
                max_value=max(count, 1),
                initial=position,
                widget=forms.NumberInput(
                    attrs={
                        "form": self.HTML_ID,
                        "inputmode": "numeric",
                        "class": "order-input",
                        "data-arrange-order": "",
                    }
                ),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        orders = [cleaned.get(f"order_{image.pk}") for image in self.images]
        given = [order for order in orders if order is not None]
        repeated = sorted({order for order in given if given.count(order) > 1})
        if repeated:
            raise ValidationError(
                _("Two images cannot share a position: %(orders)s. Give each image its own.")
                % {"orders": ", ".join(map(str, repeated))}
            )
        return cleaned

    def bound_fields_of(self, image: Image) -> tuple[forms.BoundField, forms.BoundField]:
        return self[f"step_{image.pk}"], self[f"order_{image.pk}"]

    def placements(self) -> dict[int, Placement]:
        return {
            image.pk: Placement(
                step=self.cleaned_data[f"step_{image.pk}"],
                order=self.cleaned_data[f"order_{image.pk}"],
            )
            for image in self.images
        }


class CaseFilterForm(forms.Form):
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), required=False, empty_label=_("All sites")
    )
    state = forms.ChoiceField(
        label=_("State"),
        choices=[("", _("All states")), *CaseState.choices],
        required=False,
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SOURCE_REFERENCE_MAX_LENGTH,
        help_text=_("A case number, or your case reference (or part of it)."),
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, sites, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites


# What the import page's file chooser offers; clean_file refuses anything else (by name and
# content), and the importer recognises the format from the content.
ACCEPTED_IMPORT_TYPES = ACCEPT_ATTRIBUTE


class ImportForm(forms.Form):
    """One file to import into one of the sites the user contributes to."""

    required_css_class = "required"

    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), empty_label=_("Choose a site")
    )
    file = forms.FileField(
        label=_("File"),
        # An empty file is refused by clean_file, with its name.
        allow_empty_file=True,
        widget=forms.FileInput(attrs={"accept": ACCEPTED_IMPORT_TYPES}),
        help_text=_(
            "A case package or an IARC image-bank folder as a ZIP, a DICOM file (.dcm), or one "
            "JPEG, PNG or TIFF image."
        ),
    )
    submit = forms.BooleanField(
        label=_("Submit the imported cases for review"),
        required=False,
        help_text=_(
            "Each case goes through the automated checks and then to the reviewers, as if its "
            "contributor had submitted it. A case that misses what the site requires stays a "
            "draft, and the report says what it misses."
        ),
    )

    def __init__(self, *args: Any, sites, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        only = list(sites[:2])
        if len(only) == 1:
            # One site: nothing to choose, so it is chosen already.
            self.fields["site"].empty_label = None
            self.fields["site"].initial = only[0].pk

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            check_import_file(upload, upload.name)
        except ValidationError as error:
            raise ValidationError(error.message_dict["file"]) from error
        return upload
