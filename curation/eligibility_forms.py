"""The form of the curators' "Eligibility checklist" page: one item's code, wording, whether it is
required and what pre-fills it. The form validates what was sent; curation.services
.eligibility_items validates again and writes (its errors come back on the form's fields)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from curation.models import EligibilityItem, Prefill
from curation.services import eligibility_items as items


class EligibilityItemForm(forms.Form):
    """Add an item (item=None) or change one; an item that reviews answered keeps its code."""

    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=items.CODE_MAX_LENGTH,
        help_text=gettext_lazy(
            "The key of the reviewers' answers and of the API (for example cervix_in_view): "
            "lower-case letters, digits, hyphens and underscores. Fixed once a review answers "
            "the item."
        ),
    )
    label = forms.CharField(
        label=gettext_lazy("Item"),
        max_length=items.LABEL_MAX_LENGTH,
        help_text=gettext_lazy("What the reviewer confirms, as a statement."),
    )
    help_text = forms.CharField(
        label=gettext_lazy("Explanation"),
        max_length=items.HELP_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Shown to the reviewer under the item (optional)."),
    )
    required = forms.BooleanField(
        label=gettext_lazy("Required for acceptance"),
        required=False,
        help_text=gettext_lazy("A case is accepted only with every required item met."),
    )
    prefill = forms.ChoiceField(
        label=gettext_lazy("Pre-filled from"),
        choices=Prefill.choices,
        required=False,
        help_text=gettext_lazy("The reviewer sees this answer first and answers anyway."),
    )

    def __init__(self, *args, item: EligibilityItem | None = None, **kwargs) -> None:
        self.item = item
        if item is not None and not kwargs.get("data") and not args:
            kwargs.setdefault(
                "initial",
                {
                    "code": item.code,
                    "label": item.label,
                    "help_text": item.help_text,
                    "required": item.required,
                    "prefill": item.prefill,
                },
            )
        elif item is None:
            kwargs.setdefault("initial", {"required": True})
        super().__init__(*args, **kwargs)
        self.code_locked = item is not None and items.code_in_use(item.code)
        if self.code_locked:
            # A disabled field keeps the stored code whatever the request sends.
            self.fields["code"].disabled = True
            self.fields["code"].initial = item.code
            self.fields["code"].help_text = gettext_lazy(
                "Reviews have answered this item under this code: it cannot change."
            )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if self.item is not None and code == self.item.code:
            return code
        try:
            return items.clean_code(code, item=self.item)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["code"]) from error

    def clean_label(self) -> str:
        label = " ".join(self.cleaned_data["label"].split())
        if not label:
            raise forms.ValidationError(self.fields["label"].error_messages["required"])
        return label

    def clean_help_text(self) -> str:
        return " ".join(self.cleaned_data["help_text"].split())

    def save(self, actor) -> EligibilityItem | None:
        """Create or change the item through the service; None (with the errors on the form's
        fields) if the service refused it."""
        data = self.cleaned_data
        values = {
            "label": data["label"],
            "help_text": data["help_text"],
            "required": bool(data["required"]),
            "prefill": data["prefill"] or "",
        }
        try:
            if self.item is None:
                return items.create_item(actor=actor, code=data["code"], **values)
            return items.update_item(actor=actor, item=self.item, code=data["code"], **values)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
            return None
