"""Decisions: a reviewer's decision on their claim, the round's consensus when the required
reviews are in (or its adjudication list), and a curator's adjudication (curation.services.reviews
re-exports these)."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import consensus
from curation import eligibility as checklist
from curation import review_selectors as selectors
from curation.models import (
    Adjudication,
    Decision,
    EntryStatus,
    ImageExclusion,
    ImageFlag,
    QueueEntry,
    RejectReason,
    Review,
    ReviewStatus,
)
from curation.services.notices import notify_adjudication_waiting, notify_case_decided
from curation.services.review_common import (
    _OUTCOME_OF,
    MAX_EXCLUDED_IMAGES,
    MAX_REASONS,
    MESSAGE_MAX_LENGTH,
    _clean_text,
    _event,
    _is_id,
    _live_claim,
    agreement_rules,
    opinion_fields,
)
from imagebank import vocabularies as vocab
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image
from imagebank.services.cases import transition_case

# --- decisions ----------------------------------------------------------------------------------


def _clean_decision(
    case: Case,
    *,
    decision: Any,
    reasons: Any,
    message: Any,
    excluded_images: Any,
    errors: dict[str, Any],
) -> tuple[list[str], str, list[int]]:
    """The checks a reviewer's and a curator's decisions share; problems go into `errors`."""
    if decision not in Decision.values:
        errors["decision"] = _("Give accept, reject or return.")
    cleaned_reasons: list[str] = []
    if reasons is None:
        reasons = []
    if not isinstance(reasons, list | tuple) or not all(isinstance(r, str) for r in reasons):
        errors["reasons"] = _("Give a list of reason codes.")
    elif len(reasons) > MAX_REASONS:
        errors["reasons"] = _("Give at most %(limit)s reasons.") % {"limit": MAX_REASONS}
    else:
        unknown = [code for code in reasons if code not in RejectReason.values]
        if unknown:
            errors["reasons"] = _("Not reason codes: %(codes)s.") % {"codes": ", ".join(unknown)}
        cleaned_reasons = list(dict.fromkeys(reasons))
    if "reasons" not in errors:
        if decision in (Decision.REJECT, Decision.RETURN) and not cleaned_reasons:
            errors["reasons"] = _("Give at least one reason to reject or return a case.")
        elif decision == Decision.ACCEPT and cleaned_reasons:
            errors["reasons"] = _("Reasons are given only to reject or return a case.")
    try:
        message = _clean_text(message, "message", MESSAGE_MAX_LENGTH)
    except ValidationError as error:
        errors.update(error.message_dict)
        message = ""
    else:
        if decision == Decision.RETURN and not message:
            errors["message"] = _("Tell the contributor what to change before resubmitting.")
    excluded: list[int] = []
    if excluded_images is None:
        excluded_images = []
    if not isinstance(excluded_images, list | tuple) or not all(
        _is_id(pk) for pk in excluded_images
    ):
        errors["excluded_images"] = _("Give a list of image ids.")
    elif len(excluded_images) > MAX_EXCLUDED_IMAGES:
        errors["excluded_images"] = _("Too many images.")
    else:
        wanted = set(excluded_images)
        found = set(Image.objects.filter(case=case, pk__in=wanted).values_list("pk", flat=True))
        strangers = sorted(wanted - found)
        if strangers:
            errors["excluded_images"] = _("Not images of this case: %(ids)s.") % {
                "ids": ", ".join(str(pk) for pk in strangers)
            }
        excluded = sorted(found)
    return cleaned_reasons, message, excluded


def clean_label_opinions(case: Case, opinions: Any, field: str = "label_opinions") -> dict:
    """A reviewer's (or curator's) values of the clinical labels, checked: {label: code}, the
    Swede total a whole number (worked out from the components when they are all known and the
    total is not given)."""
    from imagebank.models import CODED_FIELDS

    if opinions is None:
        return {}
    if not isinstance(opinions, Mapping):
        raise ValidationError({field: _("Give an object of labels and values.")})
    allowed = opinion_fields()
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for label, value in opinions.items():
        if label not in allowed:
            problems.append(_("%(label)s: not a label reviewers give.") % {"label": label})
        elif value is None or value == "":
            continue  # no opinion: the contributor's value stands
        elif label == "swede_total":
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= vocab.SWEDE_MAX
            ):
                problems.append(
                    _("swede_total: give a whole number from 0 to %(max)s.")
                    % {"max": vocab.SWEDE_MAX}
                )
            else:
                cleaned[label] = value
        elif not isinstance(value, str) or value not in CODED_FIELDS[label]:
            problems.append(
                _("%(label)s: “%(value)s” is not a code of %(vocabulary)s.")
                % {"label": label, "value": value, "vocabulary": CODED_FIELDS[label].name}
            )
        else:
            cleaned[label] = value
    if problems:
        raise ValidationError({field: problems})
    if any(component in cleaned for component in vocab.SWEDE_COMPONENTS):
        points = [
            vocabulary.score(cleaned.get(component, getattr(case, component)))
            for component, vocabulary in vocab.SWEDE_COMPONENTS.items()
        ]
        if None not in points:
            total = sum(points)
            if "swede_total" not in cleaned:
                cleaned["swede_total"] = total
            elif cleaned["swede_total"] != total:
                raise ValidationError(
                    {
                        field: _("swede_total: %(total)s, but the components add up to %(sum)s.")
                        % {"total": cleaned["swede_total"], "sum": total}
                    }
                )
    return cleaned


def decide(
    review: Review,
    *,
    decision: str,
    reasons: Iterable[str] = (),
    message: str = "",
    eligibility: Mapping[str, bool] | None = None,
    label_opinions: Mapping[str, Any] | None = None,
    excluded_images: Iterable[int] = (),
    actor=None,
) -> Review:
    """The claim holder's review: accept (every required checklist item answered true), reject
    (with reason codes) or return (reason codes and a message to the contributor). The review
    that completes the round settles it (consensus, or the curators' adjudication list)."""
    with transaction.atomic():
        review = _live_claim(review, actor)
        entry = QueueEntry.objects.select_for_update().get(pk=review.entry_id)
        case = review.case
        errors: dict[str, Any] = {}
        reasons, message, excluded = _clean_decision(
            case,
            decision=decision,
            reasons=list(reasons) if isinstance(reasons, set | frozenset) else reasons,
            message=message,
            excluded_images=excluded_images,
            errors=errors,
        )
        items = checklist.active_items()
        answers: dict[str, bool] = {}
        try:
            answers = checklist.clean_answers(eligibility, items)
        except ValueError as error:
            errors["eligibility"] = str(error)
        else:
            unmet = checklist.unmet_required(answers, items)
            if decision == Decision.ACCEPT and unmet:
                errors["eligibility"] = _(
                    "A case is accepted only with every required item met; not met: %(items)s."
                ) % {"items": "; ".join(unmet)}
        opinions: dict = {}
        try:
            opinions = clean_label_opinions(case, label_opinions)
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)

        now = timezone.now()
        review.status = ReviewStatus.SUBMITTED
        review.submitted_at = now
        review.decision = decision
        review.reasons = reasons
        review.message = message
        review.eligibility = answers
        review.label_opinions = opinions
        review.excluded_images = excluded
        review.save(
            update_fields=[
                "status",
                "submitted_at",
                "decision",
                "reasons",
                "message",
                "eligibility",
                "label_opinions",
                "excluded_images",
            ]
        )
        # Compare and set: the count moves only from the value read under the lock.
        counted = QueueEntry.objects.filter(
            pk=entry.pk, status=EntryStatus.WAITING, reviews_done=entry.reviews_done
        ).update(reviews_done=F("reviews_done") + 1)
        if not counted:
            raise PermissionDenied(_("This case changed meanwhile: ask for the next case."))
        entry.reviews_done += 1
        _event(
            case,
            review.reviewer,
            "decided",
            review=review.pk,
            round=entry.round,
            decision=decision,
            reasons=reasons,
            eligibility=answers,
            **({"label_opinions": opinions} if opinions else {}),
            **({"excluded_images": excluded} if excluded else {}),
        )
        if entry.reviews_done >= entry.reviews_required:
            _finish_round(entry, case)
    return review


def _contributor_values(case: Case) -> dict[str, Any]:
    return {label: getattr(case, label, None) for label in agreement_rules()}


def _reason_labels(codes: Iterable[str]) -> str:
    return "; ".join(str(RejectReason(code).label) for code in codes if code in RejectReason.values)


def _finish_round(entry: QueueEntry, case: Case) -> None:
    """The required reviews are in: consensus, or the curators' adjudication list."""
    reviews = list(
        Review.objects.filter(entry=entry, status=ReviewStatus.SUBMITTED).order_by(
            "submitted_at", "pk"
        )
    )
    result = consensus.evaluate(
        reviews, contributor=_contributor_values(case), agreement=agreement_rules()
    )
    if result.outcome == consensus.ADJUDICATION:
        entry.status = EntryStatus.ADJUDICATION
        entry.disagreement = result.disagreement
        entry.save(update_fields=["status", "disagreement"])
        _event(
            case, None, "adjudication_needed", round=entry.round, disagreement=result.disagreement
        )
        notify_adjudication_waiting(entry)
        return
    if result.outcome == consensus.RETURNED:
        returning = [review for review in reviews if review.decision == Decision.RETURN]
        message = "\n\n".join(review.message for review in returning if review.message)
        _conclude(
            entry,
            case,
            CaseState.RETURNED,
            reason=message,
            message=message,
            reasons=consensus.reasons(returning),
            excluded=[],
            actor=None,
        )
    elif result.outcome == consensus.REJECTED:
        codes = consensus.reasons(reviews)
        _conclude(
            entry,
            case,
            CaseState.REJECTED,
            reason=_reason_labels(codes),
            message=_reason_labels(codes),
            reasons=codes,
            excluded=[],
            actor=None,
        )
    else:
        _conclude(
            entry,
            case,
            CaseState.ACCEPTED,
            reason="",
            message="",
            reasons=[],
            excluded=consensus.excluded_images(reviews),
            actor=None,
        )


def _exclude_images(entry: QueueEntry, image_ids: list[int]) -> None:
    """Keep these images out of the bank (and of every release), with the flag reasons their
    reviewers gave."""
    flags: dict[int, list[str]] = {}
    for image_id, reason in ImageFlag.objects.filter(
        review__entry=entry, review__status=ReviewStatus.SUBMITTED, image_id__in=image_ids
    ).values_list("image_id", "reason"):
        flags.setdefault(image_id, [])
        if reason not in flags[image_id]:
            flags[image_id].append(reason)
    for image_id in image_ids:
        ImageExclusion.objects.update_or_create(
            image_id=image_id,
            defaults={"entry": entry, "reasons": sorted(flags.get(image_id, []))},
        )


def _conclude(
    entry: QueueEntry,
    case: Case,
    outcome: str,
    *,
    reason: str,
    message: str,
    reasons: list[str],
    excluded: list[int],
    actor,
) -> None:
    # The entry is decided before the transition, so the transition hook (which withdraws the
    # entries of a case leaving review another way) finds nothing left to withdraw.
    entry.status = EntryStatus.DECIDED
    entry.outcome = outcome
    entry.decided_at = timezone.now()
    entry.save(update_fields=["status", "outcome", "decided_at"])
    if outcome == CaseState.ACCEPTED and excluded:
        _exclude_images(entry, excluded)
    transition_case(case=case, to_state=outcome, actor=actor, reason=reason)
    _event(
        case,
        actor,
        "round_decided",
        round=entry.round,
        outcome=outcome,
        reasons=reasons,
        **({"excluded_images": excluded} if excluded else {}),
    )
    notify_case_decided(case, outcome, message)


def adjudicate(
    entry: QueueEntry,
    *,
    curator,
    decision: str,
    reasons: Iterable[str] = (),
    message: str = "",
    label_values: Mapping[str, Any] | None = None,
    excluded_images: Iterable[int] = (),
) -> Adjudication:
    """A curator's final decision on an entry whose reviews disagree, recorded with both
    reviews. A curator who reviewed the case, or belongs to its site, does not adjudicate it."""
    if not selectors.can_adjudicate(curator):
        raise PermissionDenied(_("Only curators adjudicate."))
    with transaction.atomic():
        entry = QueueEntry.objects.select_for_update().select_related("case").get(pk=entry.pk)
        case = entry.case
        if entry.status != EntryStatus.ADJUDICATION:
            raise ValidationError({"entry": _("This case is not waiting for adjudication.")})
        if (
            Review.objects.filter(entry=entry, reviewer=curator)
            .exclude(status__in=[ReviewStatus.RELEASED, ReviewStatus.EXPIRED])
            .exists()
        ):
            raise PermissionDenied(_("You reviewed this case: another curator decides."))
        if selectors.member_site_ids(curator).filter(site_id=case.site_id).exists():
            raise PermissionDenied(_("This case is from your own site: another curator decides."))
        errors: dict[str, Any] = {}
        reasons, message, excluded = _clean_decision(
            case,
            decision=decision,
            reasons=list(reasons) if isinstance(reasons, set | frozenset) else reasons,
            message=message,
            excluded_images=excluded_images,
            errors=errors,
        )
        labels: dict = {}
        try:
            labels = clean_label_opinions(case, label_values, field="label_values")
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)
        adjudication = Adjudication.objects.create(
            entry=entry,
            curator=curator,
            decision=decision,
            reasons=reasons,
            message=message,
            label_values=labels,
            excluded_images=excluded if decision == Decision.ACCEPT else [],
        )
        reviews = list(
            Review.objects.filter(entry=entry, status=ReviewStatus.SUBMITTED).values_list(
                "pk", flat=True
            )
        )
        _event(
            case,
            curator,
            "adjudicated",
            round=entry.round,
            adjudication=adjudication.pk,
            decision=decision,
            reasons=reasons,
            reviews=reviews,
            reason=message,
        )
        outcome = _OUTCOME_OF[decision]
        if outcome == CaseState.REJECTED:
            reason = "; ".join(part for part in (_reason_labels(reasons), message) if part)
        else:
            reason = message
        _conclude(
            entry,
            case,
            outcome,
            reason=reason,
            message=reason,
            reasons=reasons,
            excluded=excluded if decision == Decision.ACCEPT else [],
            actor=curator,
        )
    return adjudication
