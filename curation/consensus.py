"""Whether a round's independent reviews agree, and what follows: pure functions over the submitted
reviews (anything with `pk`, `decision` and `label_opinions`), the contributor's values and the
agreement rules (settings.REVIEW_AGREEMENT). No database, no settings read here: the services
(curation.services.reviews) pass them in.

- Any review returns the case: it goes back to the contributor (no adjudication: a case that one
  expert finds unfit to judge as it is gets fixed first).
- Otherwise the reviews must give the same decision and agree on every label the rules name.
  A reviewer's label opinion replaces the contributor's value in their review; a label a reviewer
  gave no opinion on is the contributor's value as far as that review goes (a silent reviewer
  accepts the label as given). So one reviewer correcting the TZ type while the other leaves it
  is a disagreement, and two reviewers who leave a label alone agree on it.
- A rule is "exact" (the same value) or {"within": n}: numbers at most n apart (the Swede total);
  a missing value agrees only with a missing value.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

RETURNED = "returned"
ACCEPTED = "accepted"
REJECTED = "rejected"
ADJUDICATION = "adjudication"

_OUTCOME_OF_DECISION = {"accept": ACCEPTED, "reject": REJECTED, "return": RETURNED}


@dataclass(frozen=True)
class Consensus:
    """The round's outcome: RETURNED, ACCEPTED, REJECTED, or ADJUDICATION with what differed."""

    outcome: str
    disagreement: dict = field(default_factory=dict)

    @property
    def agreed(self) -> bool:
        return self.outcome != ADJUDICATION


def check_rules(agreement: Mapping[str, Any]) -> dict[str, Any]:
    """The agreement rules, checked: {label: "exact" | {"within": number >= 0}}."""
    if not isinstance(agreement, Mapping):
        raise ImproperlyConfigured("REVIEW_AGREEMENT must map labels to rules.")
    for label, rule in agreement.items():
        if rule == "exact":
            continue
        within = rule.get("within") if isinstance(rule, Mapping) else None
        if (
            not isinstance(rule, Mapping)
            or set(rule) != {"within"}
            or isinstance(within, bool)
            or not isinstance(within, int | float)
            or within < 0
        ):
            raise ImproperlyConfigured(
                f'REVIEW_AGREEMENT["{label}"] must be "exact" or {{"within": a number >= 0}}.'
            )
    return dict(agreement)


def values_agree(rule: Any, first: Any, second: Any) -> bool:
    """Whether two values of one label agree under its rule."""
    if first in (None, "") or second in (None, ""):
        return first in (None, "") and second in (None, "")
    if rule == "exact":
        return first == second
    try:
        return abs(float(first) - float(second)) <= float(rule["within"])
    except (TypeError, ValueError):
        return False


def label_rules(agreement: Mapping[str, Any]) -> dict[str, Any]:
    """The rules of the labels (everything but the decision, which must always be the same)."""
    return {label: rule for label, rule in check_rules(agreement).items() if label != "decision"}


def review_value(review: Any, label: str, contributor: Mapping[str, Any]) -> Any:
    """The value of a label as one review has it: the reviewer's opinion, else the contributor's."""
    opinions = review.label_opinions or {}
    return opinions[label] if label in opinions else contributor.get(label)


def differing_labels(
    reviews: Sequence[Any], contributor: Mapping[str, Any], agreement: Mapping[str, Any]
) -> dict[str, list]:
    """{label: [each review's value]} for every label the reviews do not agree on."""
    differing: dict[str, list] = {}
    for label, rule in label_rules(agreement).items():
        if not any(label in (review.label_opinions or {}) for review in reviews):
            continue  # nobody gave an opinion: every review has the contributor's value
        values = [review_value(review, label, contributor) for review in reviews]
        if not all(values_agree(rule, values[0], other) for other in values[1:]):
            differing[label] = values
    return differing


def evaluate(
    reviews: Sequence[Any], *, contributor: Mapping[str, Any], agreement: Mapping[str, Any]
) -> Consensus:
    """The outcome of a finished round of `reviews` (at least one, all submitted)."""
    if not reviews:
        raise ValueError("a round is evaluated on its submitted reviews")
    decisions = [review.decision for review in reviews]
    if "return" in decisions:
        return Consensus(RETURNED)
    disagreement: dict[str, Any] = {}
    if len(set(decisions)) > 1:
        disagreement["decision"] = decisions
    labels = differing_labels(reviews, contributor, agreement)
    if labels:
        disagreement["labels"] = labels
    if disagreement:
        disagreement["reviews"] = [review.pk for review in reviews]
        return Consensus(ADJUDICATION, disagreement)
    return Consensus(_OUTCOME_OF_DECISION[decisions[0]])


def excluded_images(reviews: Sequence[Any]) -> list[int]:
    """The images the accepting reviewers would keep out of the bank: the union of theirs."""
    excluded: set[int] = set()
    for review in reviews:
        if review.decision == "accept":
            excluded.update(int(pk) for pk in review.excluded_images or [])
    return sorted(excluded)


def reasons(reviews: Sequence[Any]) -> list[str]:
    """The reason codes of the reviews, each once, in the order first given."""
    return list(dict.fromkeys(code for review in reviews for code in review.reasons or []))
