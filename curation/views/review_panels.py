"""The contributor's side of the review on the case page, and how the case history reads the
review's events.

- `review_outcome_panel`: a section of the case page (imagebank.hooks.register_case_panel). Once
  a round is decided and the case was returned (or rejected), the case's contributors (and
  curators) see what the reviewers said: the messages of the reviews that returned it (or the
  curator's, where a curator decided), the reason codes, and each image's flags by reason code,
  without who flagged, each reason once per image. Never anything of a round still in review (the
  reviews are blind until the round is decided), and never to a reviewer, who reviews blind.
- `describe_review_event`: the lines the case history shows under a review event (CaseEvent kind
  "review", changes["action"]), registered with imagebank.hooks.register_event_describer; the
  core shows those events only to users who read every case and to the event's own actor.

`register()` is called once from CurationConfig.ready.
"""

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from curation.models import (
    Adjudication,
    Decision,
    EntryStatus,
    FlagReason,
    ImageFlag,
    OutlineKind,
    QueueEntry,
    RejectReason,
    Review,
    ReviewStatus,
)
from imagebank import vocabularies as vocab
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent
from imagebank.permissions import has_site_permission
from imagebank.roles import reads_all_cases

# The outcomes whose reasons the contributor is shown.
EXPLAINED_OUTCOMES = (CaseState.RETURNED, CaseState.REJECTED)


@dataclass
class FlaggedImage:
    image: object
    step_label: str
    reasons: list[dict] = field(default_factory=list)


def sees_review_outcome(user, case: Case) -> bool:
    """The case's contributors (members of its site) and those who read every case; a reviewer
    who is not one of those reviews blind and is shown nothing here."""
    if not user.is_authenticated or not user.is_active:
        return False
    return reads_all_cases(user) or has_site_permission(
        user, "imagebank.view_site_cases", case.site_id
    )


def _label(choices, code: str) -> str:
    return str(choices(code).label) if code in choices.values else code


def latest_decided_entry(case: Case) -> QueueEntry | None:
    return (
        QueueEntry.objects.filter(case=case, status=EntryStatus.DECIDED)
        .order_by("-round", "-pk")
        .first()
    )


def review_outcome(case: Case) -> dict | None:
    """What the contributor is told of the latest decided round, if it returned or rejected the
    case: messages, reason codes and each image's flags (no reviewer named). Four queries."""
    entry = latest_decided_entry(case)
    if entry is None or entry.outcome not in EXPLAINED_OUTCOMES:
        return None
    adjudication = Adjudication.objects.filter(entry=entry).first()
    reviews = list(
        Review.objects.filter(entry=entry, status=ReviewStatus.SUBMITTED).order_by(
            "submitted_at", "pk"
        )
    )
    if adjudication is not None:
        messages = [adjudication.message] if adjudication.message else []
        codes = list(adjudication.reasons or [])
    else:
        wanted = Decision.RETURN if entry.outcome == CaseState.RETURNED else Decision.REJECT
        deciding = [review for review in reviews if review.decision == wanted]
        messages = [review.message for review in deciding if review.message]
        codes = list(dict.fromkeys(code for r in deciding for code in r.reasons or []))
    images: dict[int, FlaggedImage] = {}
    seen: set[tuple[int, str, str]] = set()
    for flag in (
        ImageFlag.objects.filter(review__in=[review.pk for review in reviews])
        .select_related("image")
        .order_by("image__display_order", "image_id", "reason", "pk")
    ):
        key = (flag.image_id, flag.reason, flag.correct_step)
        if key in seen:
            continue
        seen.add(key)
        row = images.setdefault(
            flag.image_id,
            FlaggedImage(flag.image, vocab.EXAMINATION_STEP.label(flag.image.step)),
        )
        row.reasons.append(
            {
                "code": flag.reason,
                "label": _label(FlagReason, flag.reason),
                "correct_step": vocab.EXAMINATION_STEP.label(flag.correct_step)
                if flag.correct_step
                else "",
            }
        )
    return {
        "entry": entry,
        "outcome": entry.outcome,
        "outcome_label": CaseState(entry.outcome).label,
        "by_curator": adjudication is not None,
        "messages": messages,
        "reasons": [{"code": code, "label": _label(RejectReason, code)} for code in codes],
        "images": list(images.values()),
    }


def review_outcome_panel(request: HttpRequest, case: Case) -> SafeString | None:
    """The section's HTML (imagebank.hooks.register_case_panel), or None."""
    if not sees_review_outcome(request.user, case):
        return None
    outcome = review_outcome(case)
    if outcome is None:
        return None
    return render_to_string(
        "curation/_review_outcome_panel.html",
        {"case": case, "outcome": outcome, "editable": case.state == CaseState.RETURNED},
        request=request,
    )


# --- the case history ---------------------------------------------------------------------------


def _action_titles() -> dict[str, str]:
    return {
        "claimed": _("Claimed for review"),
        "released": _("Claim given back"),
        "claim_expired": _("Claim expired"),
        "marked_urgent": _("Marked urgent"),
        "unmarked_urgent": _("No longer urgent"),
        "flag_added": _("Image flagged"),
        "flag_changed": _("Image flag changed"),
        "flag_removed": _("Image flag removed"),
        "outline_added": _("Outline drawn"),
        "outline_removed": _("Outline removed"),
        "decided": _("Review submitted"),
        "adjudication_needed": _("Reviews disagree: sent to adjudication"),
        "adjudicated": _("Adjudicated by a curator"),
        "round_decided": _("Review round decided"),
    }


def describe_review_event(event: CaseEvent) -> list[str]:
    """The history's lines for one review event (no query: everything is in `changes`)."""
    changes = event.changes or {}
    action = str(changes.get("action", ""))
    lines = [_action_titles().get(action, action.replace("_", " "))]
    details = []
    if "round" in changes:
        details.append(_("round %(n)s") % {"n": changes["round"]})
    if "image" in changes:
        details.append(_("image %(id)s") % {"id": changes["image"]})
    if action.startswith("flag_") and event.reason:
        details.append(_label(FlagReason, event.reason))
    if changes.get("correct_step"):
        details.append(
            _("right step: %(step)s")
            % {"step": vocab.EXAMINATION_STEP.label(changes["correct_step"])}
        )
    if "kind" in changes and action.startswith("outline_"):
        details.append(_label(OutlineKind, str(changes["kind"])))
    if "points" in changes:
        details.append(_("%(n)s points") % {"n": changes["points"]})
    if "decision" in changes:
        details.append(_label(Decision, str(changes["decision"])))
    if "outcome" in changes and changes["outcome"] in CaseState.values:
        details.append(str(CaseState(changes["outcome"]).label))
    reasons = changes.get("reasons") or []
    if isinstance(reasons, list) and reasons:
        details.append(", ".join(_label(RejectReason, str(code)) for code in reasons))
    disagreement = changes.get("disagreement") or {}
    if isinstance(disagreement, dict):
        differing = []
        if "decision" in disagreement:
            differing.append(_("decision"))
        differing.extend(str(label) for label in disagreement.get("labels") or {})
        if differing:
            details.append(_("differ on: %(labels)s") % {"labels": ", ".join(differing)})
    if details:
        lines.append(" · ".join(str(detail) for detail in details))
    return lines


def register() -> None:
    from curation.views import adjudication_pages
    from imagebank import hooks
    from imagebank.read_audit import register_audited_read

    hooks.register_case_panel(review_outcome_panel)
    hooks.register_event_describer(CaseEvent.Kind.REVIEW, describe_review_event)
    register_audited_read("curation:adjudication", adjudication_pages.ADJUDICATION_READ)
