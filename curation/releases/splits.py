"""Train / validation / test assignment of a release's cases, without leakage.

Leakage is the failure that matters: if one subject's cases, or two copies of one image (exact
or near duplicates, possibly filed under different subjects or sites), sit in two splits, a model
is tested on what it was trained on and its scores lie. So cases are first joined into groups
(group_cases: same subject, or linked by a duplicate pair from clusters), and a group is the unit
that gets a split (assign_splits): a group is never divided.

Within that constraint the assignment is stratified: each split's share of every stratum (the
case's stratification label values, plus its site) is kept close to the split's fraction, so that
the test set looks like the training set. And it is reproducible: the same cases, groups and
policy give the same splits in whatever order they are passed, which lets a release be rebuilt
and checked.

Pure functions (no models, no database).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "validation", "test")
FRACTION_TOLERANCE = 1e-6
NEED_TIE = 1.0  # needs closer than one case are a tie (see assign_splits)

Stratum = tuple[str | None, ...]


@dataclass(frozen=True)
class CaseUnit:
    key: int  # the case's id in the bank (used only inside the build)
    subject: int  # the subject's id: all cases of one subject go to one split
    site: str  # the site's slug
    strata: Stratum  # the values of the stratification labels (None = missing)
    images: int  # how many images of the case are in the release


@dataclass(frozen=True)
class SplitPolicy:
    fractions: tuple[float, float, float]  # train, validation, test; each >= 0, sum to 1 (1e-6)
    seed: int
    stratify_by_site: bool = True


def validate_fractions(values: Sequence[float]) -> tuple[float, float, float]:
    """The (train, validation, test) fractions as floats, or ValueError saying what is wrong:
    not three numbers, one outside [0, 1], a sum other than 1 (within 1e-6), or no training
    share (a release without a training split has nothing to train on)."""
    values = list(values)
    if len(values) != len(SPLITS):
        raise ValueError(
            f"expected {len(SPLITS)} fractions (train, validation, test), got {len(values)}"
        )
    fractions = []
    for name, value in zip(SPLITS, values, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"the {name} fraction must be a number, got {value!r}")
        value = float(value)
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"the {name} fraction must be between 0 and 1, got {value}")
        fractions.append(value)
    total = sum(fractions)
    if abs(total - 1.0) > FRACTION_TOLERANCE:
        raise ValueError(f"the fractions must add up to 1, they add up to {total:g}")
    if fractions[0] <= 0.0:
        raise ValueError("the train fraction must be greater than 0")
    return fractions[0], fractions[1], fractions[2]


def group_cases(
    cases: Sequence[CaseUnit], linked: Iterable[tuple[int, int]]
) -> list[tuple[int, ...]]:
    """The connected components over "same subject" and the linked pairs of case keys (cases
    whose images are exact or near duplicates of each other, across subjects and sites).

    Every case is in exactly one group (a case linked to nothing is a group of one). Each group
    is a sorted tuple of case keys, and the list is sorted by each group's first key, so the
    result does not depend on the order of the input. A linked key that is not one of the cases
    is a ValueError: it means the pairs were computed on another selection, and silently dropping
    them could leave duplicates in two splits.
    """
    parent: dict[int, int] = {}
    for case in cases:
        if case.key in parent:
            raise ValueError(f"case {case.key} is listed twice")
        parent[case.key] = case.key

    def root(key: int) -> int:
        top = key
        while parent[top] != top:
            top = parent[top]
        while parent[key] != top:  # path compression: later look-ups are one step
            parent[key], key = top, parent[key]
        return top

    def join(a: int, b: int) -> None:
        root_a, root_b = root(a), root(b)
        if root_a != root_b:
            # The smaller key becomes the root: deterministic, and trees stay shallow enough
            # with path compression.
            parent[max(root_a, root_b)] = min(root_a, root_b)

    first_case_of_subject: dict[int, int] = {}
    for case in cases:
        first = first_case_of_subject.setdefault(case.subject, case.key)
        if first != case.key:
            join(first, case.key)
    for a, b in linked:
        for key in (a, b):
            if key not in parent:
                raise ValueError(f"linked case {key} is not one of the cases")
        join(a, b)

    members: dict[int, list[int]] = {}
    for key in parent:
        members.setdefault(root(key), []).append(key)
    groups = [tuple(sorted(keys)) for keys in members.values()]
    groups.sort(key=lambda group: group[0])
    return groups


def assign_splits(
    cases: Sequence[CaseUnit], groups: Sequence[tuple[int, ...]], policy: SplitPolicy
) -> dict[int, str]:
    """Case key -> split name, for every case.

    Guarantees:
    - a group is never divided (no subject and no duplicate cluster in two splits);
    - deterministic: the cases and groups are put in a canonical order first (by key), and the
      only randomness is one permutation of the groups from numpy.random.default_rng(seed), so
      the same cases, groups and policy give the same result whatever order they come in;
    - a split with fraction 0 gets no case;
    - stratified, counting cases (not images): groups are placed in the seeded order, each in
      the split whose need for the group's strata is largest, the need
      of a split being the sum over the group's cases of (fraction × the stratum's case count
      − the split's cases of that stratum so far). Needs less than one case below the largest
      count as tied; ties go to the split furthest below its overall share, then in the order
      train, validation, test. Subjects with several cases and duplicate clusters are thus
      spread over the splits in proportion, like single cases.

    The groups must partition the cases and keep each subject in one group (what group_cases
    returns); anything else is a ValueError rather than a silent leak.
    """
    fractions = validate_fractions(policy.fractions)
    by_key = _cases_by_key(cases)
    canonical = _canonical_groups(groups, by_key)

    # Each stratum gets a small integer id, in the order of first appearance among the cases
    # sorted by key (deterministic); counters are then plain lists indexed by id.
    stratum_ids: dict[Stratum, int] = {}
    stratum_of: dict[int, int] = {}
    for key in sorted(by_key):
        case = by_key[key]
        stratum = case.strata + (case.site,) if policy.stratify_by_site else case.strata
        stratum_of[key] = stratum_ids.setdefault(stratum, len(stratum_ids))
    stratum_totals = [0] * len(stratum_ids)
    for stratum in stratum_of.values():
        stratum_totals[stratum] += 1

    open_splits = [index for index, fraction in enumerate(fractions) if fraction > 0.0]
    targets = [[fraction * total for total in stratum_totals] for fraction in fractions]
    assigned = [[0] * len(stratum_ids) for _ in SPLITS]
    overall_targets = [fraction * len(by_key) for fraction in fractions]
    overall_assigned = [0] * len(SPLITS)

    # The groups are placed in the seeded order, whatever their size. Placing the largest first
    # (the bin-packing habit) sent every subject seen several times and every duplicate cluster
    # to train, whose need is largest at the start: validation and test then held single-visit
    # subjects only (bench/releases.py showed it), a bias no stratum shows.
    placing_order = np.random.default_rng(policy.seed).permutation(len(canonical)).tolist()

    result: dict[int, str] = {}
    for index in placing_order:
        group = canonical[index]
        group_strata: dict[int, int] = {}
        for key in group:
            stratum = stratum_of[key]
            group_strata[stratum] = group_strata.get(stratum, 0) + 1

        needs = {
            split: sum(
                count * (targets[split][stratum] - assigned[split][stratum])
                for stratum, count in group_strata.items()
            )
            for split in open_splits
        }
        # Needs less than one case apart are a tie: either choice leaves the strata within a
        # case of their targets, and the overall shares decide (without this, every stratum
        # of one or two cases would go to the largest split, skewing the overall shares).
        largest = max(needs.values())
        tied = [split for split in open_splits if needs[split] > largest - NEED_TIE]
        chosen = max(
            tied,
            key=lambda split: (overall_targets[split] - overall_assigned[split], -split),
        )
        for stratum, count in group_strata.items():
            assigned[chosen][stratum] += count
        overall_assigned[chosen] += len(group)
        for key in group:
            result[key] = SPLITS[chosen]
    return result


def split_summary(
    cases: Sequence[CaseUnit], assignment: Mapping[int, str]
) -> dict[str, dict[str, int]]:
    """{split: {"cases": n, "subjects": n, "images": n}} for every split (zeros included), over
    the cases that have a split in `assignment`. Subjects are distinct subjects."""
    counts = {split: {"cases": 0, "subjects": 0, "images": 0} for split in SPLITS}
    subjects: dict[str, set[int]] = {split: set() for split in SPLITS}
    for case in cases:
        split = assignment.get(case.key)
        if split is None:
            continue
        if split not in counts:
            raise ValueError(f"case {case.key} has an unknown split {split!r}")
        counts[split]["cases"] += 1
        counts[split]["images"] += case.images
        subjects[split].add(case.subject)
    for split in SPLITS:
        counts[split]["subjects"] = len(subjects[split])
    return counts


def _cases_by_key(cases: Sequence[CaseUnit]) -> dict[int, CaseUnit]:
    by_key: dict[int, CaseUnit] = {}
    for case in cases:
        if case.key in by_key:
            raise ValueError(f"case {case.key} is listed twice")
        by_key[case.key] = case
    return by_key


def _canonical_groups(
    groups: Sequence[tuple[int, ...]], by_key: Mapping[int, CaseUnit]
) -> list[tuple[int, ...]]:
    """The groups as sorted tuples, sorted by first key, after checking that they partition the
    cases and that no subject spans two groups (either would let a leak through)."""
    canonical = sorted((tuple(sorted(group)) for group in groups if group), key=lambda g: g[0])
    group_of: dict[int, int] = {}
    subject_group: dict[int, int] = {}
    for index, group in enumerate(canonical):
        for key in group:
            if key not in by_key:
                raise ValueError(f"group member {key} is not one of the cases")
            if key in group_of:
                raise ValueError(f"case {key} is in two groups")
            group_of[key] = index
            subject = by_key[key].subject
            if subject_group.setdefault(subject, index) != index:
                raise ValueError(f"subject {subject} has cases in two groups")
    missing = [key for key in by_key if key not in group_of]
    if missing:
        raise ValueError(f"case {min(missing)} is in no group")
    return canonical
