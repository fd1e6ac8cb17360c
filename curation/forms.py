"""The forms of curation's pages: a curator's threshold override, and the period of the quality
flags (dates as the read-audit export takes them: YYYY-MM-DD, both days included, UTC)."""

from datetime import date, datetime, timedelta

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation.checks import defaults, registry
from curation.models import CheckThreshold
from curation.services import thresholds
from imagebank.days import iso_date, start_of
from imagebank.models import Site


def known_checks() -> list[str]:
    """Every check with thresholds (curation.checks.defaults) or registered, by name."""
    return sorted(set(defaults.DEFAULTS) | {check.name for check in registry.checks()})


def check_label(name: str) -> str:
    """A check's name for people: its registered label, else its name."""
    try:
        label = registry.get(name).label
    except KeyError:
        label = ""
    return str(label or name.replace("_", " ").capitalize())


def _threshold_choices() -> list:
    groups = []
    for name in known_checks():
        parameters = sorted(defaults.DEFAULTS.get(name, {}))
        if parameters:
            groups.append(
                (
                    check_label(name),
                    [(f"{name}:{parameter}", parameter) for parameter in parameters],
                )
            )
    return [("", gettext_lazy("Choose a threshold")), *groups]


class ThresholdForm(forms.Form):
    """Add or change a curator's value for one threshold, for every site, one site, one capture
    device, or one device at one site (the same scope again changes its value)."""

    threshold = forms.ChoiceField(label=gettext_lazy("Check and threshold"), choices=())
    site = forms.ModelChoiceField(
        label=gettext_lazy("Site"),
        queryset=Site.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("Every site"),
    )
    capture_device = forms.CharField(
        label=gettext_lazy("Capture device"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Leave empty for every device."),
    )
    value = forms.FloatField(
        label=gettext_lazy("Value"), widget=forms.NumberInput(attrs={"step": "any"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read at each use: the defaults are data, and change with the calibration.
        self.fields["threshold"].choices = _threshold_choices()
        self.fields["capture_device"].widget.attrs["list"] = "capture-devices"

    def clean_threshold(self) -> tuple[str, str]:
        check_name, _sep, parameter = self.cleaned_data["threshold"].partition(":")
        if parameter not in defaults.DEFAULTS.get(check_name, {}):
            raise forms.ValidationError(_("This check has no such threshold."))
        return check_name, parameter

    def clean_capture_device(self) -> str:
        return " ".join(self.cleaned_data["capture_device"].split())

    def save(self, actor) -> tuple[CheckThreshold, bool]:
        """Store the value under its scope (curation.services.thresholds)."""
        check_name, parameter = self.cleaned_data["threshold"]
        return thresholds.set_threshold(
            actor=actor,
            check_name=check_name,
            parameter=parameter,
            site=self.cleaned_data["site"],
            capture_device=self.cleaned_data["capture_device"],
            value=self.cleaned_data["value"],
        )


class PeriodForm(forms.Form):
    """`since` and `until`, both optional, inclusive days (UTC), as the read-audit export
    validates them (imagebank.views.reads)."""

    since = forms.CharField(label=gettext_lazy("From"), required=False)
    until = forms.CharField(label=gettext_lazy("Until"), required=False)

    def _day(self, name: str) -> date | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None
        day = iso_date(text)
        if day is None:
            raise forms.ValidationError(
                _("“%(value)s” is not a date; give it as YYYY-MM-DD.") % {"value": text[:40]}
            )
        return day

    def clean_since(self) -> date | None:
        return self._day("since")

    def clean_until(self) -> date | None:
        return self._day("until")

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end of the period is before its start."))
        return cleaned

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) as times: the start of `since`, the end of `until`."""
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        return (
            start_of(since) if since else None,
            start_of(until + timedelta(days=1)) if until else None,
        )
