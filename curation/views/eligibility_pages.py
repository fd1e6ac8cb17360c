"""The curators' "Eligibility checklist" page (/curation/eligibility/): every item of the bank's
checklist in order, with its code, wording, whether it is required, what pre-fills it, whether it
is in the checklist and how many reviews answered it (a default item still worded as shipped is
shown in the reader's language: curation.eligibility.item_label); a form to add an item or change
one (?edit=<id>); buttons to move an item up or down, and to take it out of the checklist or put
it back. One URL: a POST names its action ("save", "up", "down", "deactivate", "activate") and
the item.

Permission: curation.services.eligibility_items.can_configure_eligibility (curators and
superusers; 403 for anyone else). The writes go through curation.services.eligibility_items.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from curation.eligibility import item_label
from curation.eligibility_forms import EligibilityItemForm
from curation.models import EligibilityItem, Prefill
from curation.services import eligibility_items as items
from imagebank.permissions import require

ACTIONS = ("save", "up", "down", "deactivate", "activate")


def _item_or_none(value) -> EligibilityItem | None:
    value = str(value or "")
    if not value.isdigit() or len(value) > 12:
        return None
    return EligibilityItem.objects.filter(pk=int(value)).first()


def _rows() -> list[dict]:
    all_items = list(EligibilityItem.objects.order_by("position", "code"))
    counts = items.answer_counts(item.code for item in all_items)
    prefills = dict(Prefill.choices)
    return [
        {
            "item": item,
            "label": item_label(item),
            "prefill_label": prefills.get(item.prefill, item.prefill),
            "answers": counts.get(item.code, 0),
            "first": index == 0,
            "last": index == len(all_items) - 1,
        }
        for index, item in enumerate(all_items)
    ]


def _render(request, form, editing, status=200) -> HttpResponse:
    rows = _rows()
    return render(
        request,
        "curation/eligibility_items.html",
        {
            "form": form,
            "editing": editing,
            "rows": rows,
            "active_count": sum(1 for row in rows if row["item"].active),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def eligibility_items_page(request: HttpRequest) -> HttpResponse:
    """Permission: can_configure_eligibility (403). A POST with an unknown action is a 400; one
    naming no existing item (where it needs one) a 404."""
    require(
        items.can_configure_eligibility(request.user),
        _("Only curators configure the eligibility checklist."),
    )
    if request.method != "POST":
        editing = _item_or_none(request.GET.get("edit"))
        return _render(request, EligibilityItemForm(item=editing), editing)

    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return HttpResponseBadRequest(_("action: unknown action."))
    item = _item_or_none(request.POST.get("item"))
    if request.POST.get("item") and item is None:
        raise Http404(_("No such item."))
    if action != "save" and item is None:
        return HttpResponseBadRequest(_("item: name the item."))

    if action == "save":
        form = EligibilityItemForm(request.POST, item=item)
        saved = form.save(request.user) if form.is_valid() else None
        if saved is None:
            return _render(request, form, item, status=400)
        message = _("Saved the item %(code)s.") if item else _("Added the item %(code)s.")
        messages.success(request, message % {"code": saved.code})
        return redirect("curation:eligibility-items")

    try:
        if action in ("up", "down"):
            items.move(actor=request.user, item=item, direction=action)
            messages.success(request, _("Moved the item %(code)s.") % {"code": item.code})
        else:
            items.set_active(actor=request.user, item=item, active=action == "activate")
            message = (
                _("The item %(code)s is in the checklist again.")
                if action == "activate"
                else _(
                    "The item %(code)s is out of the checklist; the answers reviews gave it are "
                    "kept."
                )
            )
            messages.success(request, message % {"code": item.code})
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    return redirect("curation:eligibility-items")
