"""The forms of the access pages (access_requests.views): they check what a browser sends (types,
choices among what the user may pick); the services check the rest, and their errors are put back
on the fields they name (`apply_service_errors`).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from access_requests.models import CRITERIA, GroupKind, Vote
from access_requests.services.agreements import TITLE_MAX_LENGTH as AGREEMENT_TITLE_MAX_LENGTH
from access_requests.services.grants import TEXT_MAX_LENGTH
from access_requests.services.requests import REASON_MAX_LENGTH, TEXT_FIELDS
from curation.models import ReleaseVersion
from imagebank.models import User

# The criteria the committee scores (access_requests.models.CRITERIA): a label and what it asks.
CRITERION_TEXTS = {
    "scientific_merit": (
        gettext_lazy("Scientific merit"),
        gettext_lazy("Are the aims clear and worth the data, and can the project reach them?"),
    ),
    "data_security": (
        gettext_lazy("Data security"),
        gettext_lazy("Will the data be stored, used and destroyed safely, by the named people?"),
    ),
    "expertise": (
        gettext_lazy("The group's expertise"),
        gettext_lazy("Has the group the skills and the record to carry out the project?"),
    ),
    "ethics": (
        gettext_lazy("Ethics"),
        gettext_lazy("Is the ethics approval valid and does it cover this use of the images?"),
    ),
}
SCORE_CHOICES = [(str(score), str(score)) for score in range(1, 6)]


def apply_service_errors(form: forms.Form, error: ValidationError, aliases=None) -> None:
    """Show a service's ValidationError on the fields it names (the rest above the form)."""
    aliases = aliases or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        field = aliases.get(key, key)
        form.add_error(field if field in form.fields else None, messages)


class GroupForm(forms.Form):
    """A new research group (access_requests.services.groups.create_group's arguments)."""

    name = forms.CharField(label=gettext_lazy("Name of the group"), max_length=200)
    institution = forms.CharField(label=gettext_lazy("Institution"), max_length=300)
    country = forms.CharField(
        label=gettext_lazy("Country"),
        max_length=2,
        help_text=gettext_lazy("The ISO 3166 two-letter code, e.g. KE."),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind of group"), choices=GroupKind.choices)
    signing_official_name = forms.CharField(
        label=gettext_lazy("Signing official"),
        max_length=200,
        help_text=gettext_lazy("Who commits the institution to the data use agreement."),
    )
    signing_official_email = forms.EmailField(label=gettext_lazy("Signing official's e-mail"))


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address to invite"))


class SignForm(forms.Form):
    typed_name = forms.CharField(
        label=gettext_lazy("Your full name"),
        max_length=200,
        help_text=gettext_lazy("Typing your name signs the agreement for the group."),
    )


class RequestForm(forms.Form):
    """An access request's fields (access_requests.services.requests.create_request). The group
    is one of the user's, the releases published versions, the accessors the members of the
    groups the user belongs to (the service checks they are members of the chosen group)."""

    group = forms.ModelChoiceField(label=gettext_lazy("Research group"), queryset=None)
    releases = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Release versions"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    and_later_versions = forms.BooleanField(
        label=gettext_lazy("And later versions of these releases"), required=False
    )
    project_title = forms.CharField(
        label=gettext_lazy("Project title"), max_length=TEXT_FIELDS["project_title"]
    )
    aims = forms.CharField(
        label=gettext_lazy("Aims"),
        max_length=TEXT_FIELDS["aims"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    intended_use = forms.CharField(
        label=gettext_lazy("Intended use of the data"),
        max_length=TEXT_FIELDS["intended_use"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    commercial = forms.BooleanField(label=gettext_lazy("Commercial use"), required=False)
    ethics_committee = forms.CharField(
        label=gettext_lazy("Ethics committee"),
        max_length=TEXT_FIELDS["ethics_committee"],
        required=False,
    )
    ethics_number = forms.CharField(
        label=gettext_lazy("Approval number"),
        max_length=TEXT_FIELDS["ethics_number"],
        required=False,
    )
    ethics_expiry = forms.DateField(
        label=gettext_lazy("Approval expires"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    ethics_document = forms.FileField(
        label=gettext_lazy("Ethics approval (PDF)"),
        required=False,
        help_text=gettext_lazy("A PDF of at most 10 MB. Leave empty to keep the one uploaded."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )
    data_security = forms.CharField(
        label=gettext_lazy("Data security statement"),
        max_length=TEXT_FIELDS["data_security"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    accessors = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Accessors"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("The members of the group who will download the data."),
    )

    def __init__(
        self,
        *args,
        groups: QuerySet,
        versions: QuerySet[ReleaseVersion],
        members: QuerySet[User],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
        self.fields["releases"].queryset = versions
        self.fields["releases"].label_from_instance = lambda version: (
            f"{version.release.title} {version.version}"
        )
        self.fields["accessors"].queryset = members
        self.fields["accessors"].label_from_instance = lambda user: (
            f"{user.full_name} <{user.email}>" if user.full_name else user.email
        )

    def service_fields(self) -> dict:
        """create_request's / update_request's keyword arguments (without group and requester);
        no new document keeps the one stored."""
        data = dict(self.cleaned_data)
        data.pop("group", None)
        data["releases"] = list(data["releases"])
        data["accessors"] = list(data["accessors"])
        if not data.get("ethics_document"):
            data.pop("ethics_document", None)
        return data


class ReviewForm(forms.Form):
    """A committee member's review: a score 1..5 for each criterion, a vote, the reason the
    requester reads (required to reject or ask for changes: the service says so), and an
    internal note."""

    vote = forms.ChoiceField(
        label=gettext_lazy("Vote"), choices=Vote.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (the requester reads it)"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required to reject or to ask for changes."),
    )
    internal_note = forms.CharField(
        label=gettext_lazy("Internal note (the committee only)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for criterion in CRITERIA:
            label, description = CRITERION_TEXTS[criterion]
            self.fields[f"score_{criterion}"] = forms.TypedChoiceField(
                label=label,
                help_text=description,
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
            )

    def score_fields(self) -> list:
        return [self[f"score_{criterion}"] for criterion in CRITERIA]

    def scores(self) -> dict[str, int]:
        return {criterion: self.cleaned_data[f"score_{criterion}"] for criterion in CRITERIA}

    def apply_service_errors(self, error: ValidationError) -> None:
        aliases = {f"scores.{criterion}": f"score_{criterion}" for criterion in CRITERIA}
        apply_service_errors(self, error, aliases)


class MessageForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the revocation (the group reads it)"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RenewForm(forms.Form):
    """A renewal's report (renew_grant): the agreement asks for both, so the page requires the
    publications too ("none yet" is an answer)."""

    progress_report = forms.CharField(
        label=gettext_lazy("Progress report"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What the project did with the data so far."),
    )
    publications = forms.CharField(
        label=gettext_lazy("Publications"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("References of the papers and preprints; write “none yet” if so."),
    )


class CloseForm(forms.Form):
    destroyed_confirmed = forms.BooleanField(
        label=gettext_lazy(
            "I confirm that every copy of the data was destroyed or returned to the bank."
        ),
        error_messages={
            "required": gettext_lazy("Confirm that the data were destroyed or returned.")
        },
    )


class TransferPIForm(forms.Form):
    """Handing the group over (transfer_pi): one of the other members, and a confirmation."""

    new_pi = forms.ModelChoiceField(
        label=gettext_lazy("New principal investigator"),
        queryset=None,
        empty_label=gettext_lazy("Choose a member"),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand that I will no longer lead the group: I will not invite or remove "
            "members, nor renew or close its grants."
        ),
        error_messages={"required": gettext_lazy("Tick the confirmation to hand the group over.")},
    )

    def __init__(self, *args, candidates: QuerySet[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_pi"].queryset = candidates
        self.fields["new_pi"].label_from_instance = lambda user: (
            f"{user.full_name} <{user.email}>" if user.full_name else user.email
        )


class AgreementForm(forms.Form):
    """A new version of the data use agreement (publish_agreement)."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=AGREEMENT_TITLE_MAX_LENGTH)
    text = forms.CharField(
        label=gettext_lazy("Text of the agreement"),
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=gettext_lazy("The whole text, as members will read and sign it."),
    )
