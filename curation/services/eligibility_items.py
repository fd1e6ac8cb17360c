"""The eligibility checklist's configuration, written by the curators' page "Eligibility
checklist" (the admin applies the same rules: EligibilityItemAdmin).

Curators add items, change their wording, whether they are required and what pre-fills them,
take them out of the checklist (deactivate; never delete one that reviews answered) and put them
back, and set their order. An item's code is the key of the reviewers' answers
(curation.models.Review.eligibility, {code: true | false}) and of the API's "eligibility" object:
a lower-case slug, unique, and fixed once any review has answered it, so that a stored answer
always names the item it answered. Every function re-checks the permission and raises
ValidationError({field: message}) on bad input.
"""

import logging
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils.translation import gettext as _

from curation.models import EligibilityItem, Prefill, Review
from curation.permissions import can_see_curation_reports
from imagebank.permissions import require

logger = logging.getLogger("curation.eligibility")

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")
CODE_MAX_LENGTH = EligibilityItem._meta.get_field("code").max_length
LABEL_MAX_LENGTH = EligibilityItem._meta.get_field("label").max_length
HELP_MAX_LENGTH = EligibilityItem._meta.get_field("help_text").max_length
# Positions are spaced so that an item can be slotted in by hand (admin) without renumbering.
POSITION_STEP = 10


def can_configure_eligibility(user) -> bool:
    """The checklist is the bank's admission rule: curators and superusers set it."""
    return can_see_curation_reports(user)


# --- reads the writes need (and the page shows) -------------------------------------------------


def code_in_use(code: str) -> bool:
    """Whether any review (claimed or submitted) holds an answer under this code."""
    return Review.objects.filter(eligibility__has_key=code).exists()


def answer_counts(codes) -> dict[str, int]:
    """How many reviews answered each code, in one query (one pass over the reviews)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    counts = Review.objects.aggregate(
        **{
            f"n{index}": Count("pk", filter=Q(eligibility__has_key=code))
            for index, code in enumerate(codes)
        }
    )
    return {code: counts[f"n{index}"] or 0 for index, code in enumerate(codes)}


# --- validation ---------------------------------------------------------------------------------


def clean_code(code, *, item: EligibilityItem | None = None) -> str:
    """A new code (or an item's changed one): a lower-case slug no other item has."""
    code = str(code if code is not None else "").strip()
    if not code:
        raise ValidationError({"code": _("Give the item a code.")})
    if len(code) > CODE_MAX_LENGTH:
        raise ValidationError({"code": _("At most %(max)d characters.") % {"max": CODE_MAX_LENGTH}})
    if not CODE_PATTERN.match(code):
        raise ValidationError(
            {
                "code": _(
                    "Lower-case letters, digits, hyphens and underscores, starting with a "
                    "letter (for example cervix_in_view)."
                )
            }
        )
    others = EligibilityItem.objects.filter(code__iexact=code)
    if item is not None and item.pk is not None:
        others = others.exclude(pk=item.pk)
    if others.exists():
        raise ValidationError({"code": _("Another item has this code.")})
    return code


def _clean_text(value, *, field: str, max_length: int, required: bool) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > max_length:
        raise ValidationError({field: _("At most %(max)d characters.") % {"max": max_length}})
    return text


def _clean_prefill(value) -> str:
    value = str(value if value is not None else "")
    if value not in Prefill.values:
        raise ValidationError({"prefill": _("Choose one of the pre-fills offered.")})
    return value


def _clean_required(value) -> bool:
    if not isinstance(value, bool):
        raise ValidationError({"required": _("Say whether the item is required.")})
    return value


# --- writes -------------------------------------------------------------------------------------


@transaction.atomic
def create_item(
    *, actor, code: str, label: str, help_text: str = "", required: bool = True, prefill: str = ""
) -> EligibilityItem:
    """A new active item, last in the checklist."""
    require(can_configure_eligibility(actor), _("Only curators configure the checklist."))
    item = EligibilityItem(
        code=clean_code(code),
        label=_clean_text(label, field="label", max_length=LABEL_MAX_LENGTH, required=True),
        help_text=_clean_text(
            help_text, field="help_text", max_length=HELP_MAX_LENGTH, required=False
        ),
        required=_clean_required(required),
        prefill=_clean_prefill(prefill),
        active=True,
        position=(EligibilityItem.objects.aggregate(last=Max("position"))["last"] or 0)
        + POSITION_STEP,
    )
    item.save()
    logger.info("eligibility item added user=%s code=%s", actor.pk, item.code)
    return item


@transaction.atomic
def update_item(
    *,
    actor,
    item: EligibilityItem,
    code: str | None = None,
    label: str | None = None,
    help_text: str | None = None,
    required: bool | None = None,
    prefill: str | None = None,
) -> EligibilityItem:
    """Change what is given (None: unchanged). The code cannot change once a review answered
    the item."""
    require(can_configure_eligibility(actor), _("Only curators configure the checklist."))
    item = EligibilityItem.objects.select_for_update().get(pk=item.pk)
    changed = []
    if code is not None and str(code).strip() != item.code:
        if code_in_use(item.code):
            raise ValidationError(
                {
                    "code": _(
                        "Reviews have answered this item under its code, so the code stays "
                        "%(code)s. Change its wording instead, or deactivate it and add a new "
                        "item."
                    )
                    % {"code": item.code}
                }
            )
        item.code = clean_code(code, item=item)
        changed.append("code")
    if label is not None:
        item.label = _clean_text(label, field="label", max_length=LABEL_MAX_LENGTH, required=True)
        changed.append("label")
    if help_text is not None:
        item.help_text = _clean_text(
            help_text, field="help_text", max_length=HELP_MAX_LENGTH, required=False
        )
        changed.append("help_text")
    if required is not None:
        item.required = _clean_required(required)
        changed.append("required")
    if prefill is not None:
        item.prefill = _clean_prefill(prefill)
        changed.append("prefill")
    if changed:
        item.save(update_fields=changed)
        logger.info(
            "eligibility item changed user=%s code=%s fields=%s",
            actor.pk,
            item.code,
            ",".join(changed),
        )
    return item


@transaction.atomic
def set_active(*, actor, item: EligibilityItem, active: bool) -> EligibilityItem:
    """Take the item out of the checklist (reviews already answered keep their answers) or put
    it back."""
    require(can_configure_eligibility(actor), _("Only curators configure the checklist."))
    if not isinstance(active, bool):
        raise ValidationError({"active": _("Say whether the item is in the checklist.")})
    item = EligibilityItem.objects.select_for_update().get(pk=item.pk)
    if item.active != active:
        item.active = active
        item.save(update_fields=["active"])
        logger.info(
            "eligibility item %s user=%s code=%s",
            "activated" if active else "deactivated",
            actor.pk,
            item.code,
        )
    return item


def _renumber(items: list[EligibilityItem]) -> None:
    for index, item in enumerate(items, start=1):
        position = index * POSITION_STEP
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])


@transaction.atomic
def reorder(*, actor, codes: list[str]) -> list[EligibilityItem]:
    """Put every item in the order given (all the codes, each once, active or not)."""
    require(can_configure_eligibility(actor), _("Only curators configure the checklist."))
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        raise ValidationError({"order": _("Give the items' codes in their new order.")})
    items = {item.code: item for item in EligibilityItem.objects.select_for_update()}
    if len(codes) != len(set(codes)) or set(codes) != set(items):
        raise ValidationError({"order": _("Give every item's code once, in the new order.")})
    ordered = [items[code] for code in codes]
    _renumber(ordered)
    logger.info("eligibility items reordered user=%s order=%s", actor.pk, ",".join(codes))
    return ordered


@transaction.atomic
def move(*, actor, item: EligibilityItem, direction: str) -> list[EligibilityItem]:
    """Swap the item with the one before it ("up") or after it ("down") in the checklist."""
    require(can_configure_eligibility(actor), _("Only curators configure the checklist."))
    if direction not in ("up", "down"):
        raise ValidationError({"direction": _("Move an item up or down.")})
    items = list(EligibilityItem.objects.select_for_update().order_by("position", "code"))
    index = next((i for i, other in enumerate(items) if other.pk == item.pk), None)
    if index is None:
        raise EligibilityItem.DoesNotExist
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
        logger.info("eligibility item moved %s user=%s code=%s", direction, actor.pk, item.code)
    _renumber(items)
    return items
