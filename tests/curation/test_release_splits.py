"""Near-duplicate pairs, case groups and split assignment of a release (curation.releases)."""

import collections
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.releases.clusters import exact_duplicate_pairs, near_duplicate_pairs
from curation.releases.splits import (
    SPLITS,
    CaseUnit,
    SplitPolicy,
    assign_splits,
    group_cases,
    split_summary,
    validate_fractions,
)


def brute_force_pairs(hashes, radius):
    values = np.array(hashes, dtype=np.uint64)
    pairs = []
    for i in range(len(values)):
        distances = np.bitwise_count(values[i] ^ values[i + 1 :])
        pairs += [(i, i + 1 + j) for j in np.flatnonzero(distances <= radius).tolist()]
    return pairs


def with_planted_copies(rng, count, copies, radius):
    hashes = [rng.getrandbits(64) for _ in range(count)]
    for _ in range(copies):
        copy = rng.choice(hashes)
        for bit in rng.sample(range(64), rng.randint(0, radius)):
            copy ^= 1 << bit
        hashes.insert(rng.randrange(len(hashes) + 1), copy)
    return hashes


@pytest.mark.parametrize("radius", [0, 1, 6, 10])
def test_near_pairs_are_exactly_the_brute_force_pairs(radius):
    rng = random.Random(radius)
    hashes = with_planted_copies(rng, 600, 300, radius)
    expected = brute_force_pairs(hashes, radius)
    assert len(expected) >= 300
    assert near_duplicate_pairs(hashes, radius) == expected


def test_near_pairs_at_the_radius_boundary():
    base = 0xFFFF_0000_1234_5678
    six_bits_off = base ^ 0b111111
    seven_bits_off = base ^ (0b1111111 << 20)
    assert near_duplicate_pairs([base, six_bits_off, seven_bits_off], 6) == [(0, 1)]
    assert near_duplicate_pairs([base, six_bits_off, seven_bits_off], 5) == []


def test_near_pairs_of_many_identical_hashes_are_all_pairs():
    rng = random.Random(7)
    hashes = [2**64 - 1] * 300 + [rng.getrandbits(64) for _ in range(300)]
    rng.shuffle(hashes)
    expected = brute_force_pairs(hashes, 6)
    assert len(expected) >= 300 * 299 // 2
    assert near_duplicate_pairs(hashes, 6) == expected


def test_near_pairs_edge_inputs():
    assert near_duplicate_pairs([], 6) == []
    assert near_duplicate_pairs([5], 6) == []
    assert near_duplicate_pairs([0, 2**64 - 1], 16) == []
    for bad_radius in (-1, 17, 2.5):
        with pytest.raises(ValueError, match="radius"):
            near_duplicate_pairs([1, 2], bad_radius)
    for bad_hash in (-1, 2**64):
        with pytest.raises(ValueError, match="hashes"):
            near_duplicate_pairs([1, bad_hash], 3)


@settings(max_examples=150, deadline=None)
@given(
    hashes=st.lists(
        st.one_of(
            st.integers(0, 2**64 - 1),
            # Few distinct bits: many hashes close to each other, and exact repeats.
            st.integers(0, 255).map(lambda low: 0xA5A5_A5A5_A5A5_A500 | low),
        ),
        max_size=60,
    ),
    radius=st.integers(0, 16),
)
def test_near_pairs_match_brute_force_property(hashes, radius):
    assert near_duplicate_pairs(hashes, radius) == brute_force_pairs(hashes, radius)


def test_exact_pairs_ignore_empty_keys():
    keys = ["b", "", "a", "b", "", "c", "b", "a"]
    assert exact_duplicate_pairs(keys) == [(0, 3), (0, 6), (2, 7), (3, 6)]
    assert exact_duplicate_pairs([]) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["", "x", "y", "z"]), max_size=30))
def test_exact_pairs_match_brute_force_property(keys):
    expected = [
        (i, j)
        for i in range(len(keys))
        for j in range(i + 1, len(keys))
        if keys[i] and keys[i] == keys[j]
    ]
    assert exact_duplicate_pairs(keys) == expected


def case(key, subject, site="s1", strata=("a",), images=1):
    return CaseUnit(key=key, subject=subject, site=site, strata=strata, images=images)


def test_group_cases_joins_subjects_and_links_transitively():
    cases = [case(10, 1), case(3, 1), case(7, 2), case(5, 3), case(8, 4), case(1, 5)]
    groups = group_cases(cases, [(7, 5), (5, 8)])
    assert groups == [(1,), (3, 10), (5, 7, 8)]


def test_group_cases_refuses_unknown_links_and_repeated_cases():
    with pytest.raises(ValueError, match="linked case 99"):
        group_cases([case(1, 1)], [(1, 99)])
    with pytest.raises(ValueError, match="listed twice"):
        group_cases([case(1, 1), case(1, 2)], [])


def random_cases(rng, count, subjects=None, sites=("s1", "s2", "s3")):
    subjects = subjects or count
    return [
        CaseUnit(
            key=key,
            subject=rng.randrange(subjects),
            site=rng.choice(sites),
            strata=(rng.choice(["cin2+", "<cin2", None]), rng.choice(["1", "2", "3"])),
            images=rng.randint(1, 4),
        )
        for key in range(1, count + 1)
    ]


POLICY = SplitPolicy(fractions=(0.7, 0.15, 0.15), seed=42)


def test_assignment_is_deterministic_whatever_the_input_order():
    rng = random.Random(1)
    cases = random_cases(rng, 400, subjects=300)
    groups = group_cases(cases, [(rng.randint(1, 400), rng.randint(1, 400)) for _ in range(20)])
    first = assign_splits(cases, groups, POLICY)

    shuffled_cases = cases[:]
    rng.shuffle(shuffled_cases)
    shuffled_groups = [tuple(reversed(group)) for group in groups]
    rng.shuffle(shuffled_groups)
    assert assign_splits(shuffled_cases, shuffled_groups, POLICY) == first

    reseeded = SplitPolicy(fractions=POLICY.fractions, seed=43)
    assert assign_splits(cases, groups, reseeded) != first


@settings(max_examples=60, deadline=None)
@given(
    subjects=st.lists(st.integers(0, 15), min_size=1, max_size=40),
    links=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=10),
    seed=st.integers(0, 2**32),
)
def test_groups_are_never_split_property(subjects, links, seed):
    cases = [case(key, subject, strata=(str(key % 3),)) for key, subject in enumerate(subjects)]
    linked = [(a, b) for a, b in links if a < len(cases) and b < len(cases)]
    groups = group_cases(cases, linked)
    assignment = assign_splits(cases, groups, SplitPolicy((0.6, 0.2, 0.2), seed=seed))
    assert set(assignment) == {c.key for c in cases}
    for group in groups:
        assert len({assignment[key] for key in group}) == 1
    split_of_subject = collections.defaultdict(set)
    for c in cases:
        split_of_subject[c.subject].add(assignment[c.key])
    assert all(len(splits) == 1 for splits in split_of_subject.values())
    for a, b in linked:
        assert assignment[a] == assignment[b]


def test_fractions_are_met_overall_and_per_stratum():
    rng = random.Random(5)
    cases = random_cases(rng, 1000, subjects=800)
    groups = group_cases(cases, [])
    assignment = assign_splits(cases, groups, POLICY)
    summary = split_summary(cases, assignment)
    for split, fraction in zip(SPLITS, POLICY.fractions, strict=True):
        assert abs(summary[split]["cases"] / 1000 - fraction) <= 0.02

    by_stratum = collections.defaultdict(collections.Counter)
    for c in cases:
        by_stratum[c.strata][assignment[c.key]] += 1
    large = {stratum: counts for stratum, counts in by_stratum.items() if counts.total() >= 100}
    assert large
    for counts in large.values():
        for split, fraction in zip(SPLITS, POLICY.fractions, strict=True):
            assert abs(counts[split] / counts.total() - fraction) <= 0.05


def test_many_tiny_strata_still_meet_the_overall_fractions():
    rng = random.Random(9)
    cases = [
        case(key, key, site=f"site{rng.randrange(5)}", strata=(str(rng.randrange(400)),))
        for key in range(1, 2001)
    ]
    assignment = assign_splits(cases, group_cases(cases, []), POLICY)
    summary = split_summary(cases, assignment)
    for split, fraction in zip(SPLITS, POLICY.fractions, strict=True):
        assert abs(summary[split]["cases"] / 2000 - fraction) <= 0.02


def test_a_zero_fraction_split_gets_nothing():
    rng = random.Random(2)
    cases = random_cases(rng, 200)
    assignment = assign_splits(cases, group_cases(cases, []), SplitPolicy((0.8, 0.0, 0.2), 1))
    assert "validation" not in assignment.values()
    assert set(assignment.values()) == {"train", "test"}
    only_train = assign_splits(cases, group_cases(cases, []), SplitPolicy((1.0, 0.0, 0.0), 1))
    assert set(only_train.values()) == {"train"}


def test_a_group_larger_than_a_split_share_stays_whole():
    big = [case(key, 1) for key in range(1, 41)]
    small = [case(key, key) for key in range(41, 101)]
    cases = big + small
    assignment = assign_splits(cases, group_cases(cases, []), POLICY)
    assert len({assignment[c.key] for c in big}) == 1
    assert set(assignment) == {c.key for c in cases}


def test_assignment_refuses_groups_that_would_leak():
    cases = [case(1, 1), case(2, 1), case(3, 2)]
    with pytest.raises(ValueError, match="subject 1"):
        assign_splits(cases, [(1,), (2,), (3,)], POLICY)
    with pytest.raises(ValueError, match="no group"):
        assign_splits(cases, [(1, 2)], POLICY)
    with pytest.raises(ValueError, match="two groups"):
        assign_splits(cases, [(1, 2), (2, 3)], POLICY)
    with pytest.raises(ValueError, match="not one of the cases"):
        assign_splits(cases, [(1, 2), (3, 4)], POLICY)


def test_split_summary_counts_cases_subjects_and_images():
    cases = [case(1, 1, images=2), case(2, 1, images=3), case(3, 2, images=1)]
    summary = split_summary(cases, {1: "train", 2: "train", 3: "test"})
    assert summary == {
        "train": {"cases": 2, "subjects": 1, "images": 5},
        "validation": {"cases": 0, "subjects": 0, "images": 0},
        "test": {"cases": 1, "subjects": 1, "images": 1},
    }


def test_validate_fractions():
    assert validate_fractions([0.7, 0.15, 0.15]) == (0.7, 0.15, 0.15)
    assert validate_fractions((1, 0, 0)) == (1.0, 0.0, 0.0)
    for values, problem in [
        ([0.5, 0.5], "expected 3 fractions"),
        ([0.7, "0.2", 0.1], "validation fraction must be a number"),
        ([1.2, -0.1, -0.1], "train fraction must be between 0 and 1"),
        ([0.7, 0.2, float("nan")], "test fraction must be between 0 and 1"),
        ([0.7, 0.2, 0.2], "add up to 1"),
        ([0.0, 0.5, 0.5], "train fraction must be greater than 0"),
    ]:
        with pytest.raises(ValueError, match=problem):
            validate_fractions(values)


def test_subjects_with_several_cases_are_spread_over_the_splits_like_the_others():
    """Returning patients (and duplicate clusters) must reach validation and test in proportion:
    placing the largest groups first once sent every one of them to train."""
    rng = random.Random(5)
    cases, key = [], 0
    for subject in range(3000):
        for _visit in range(rng.choice((1, 1, 1, 2, 3))):
            key += 1
            cases.append(case(key, subject, site=f"site{subject % 4}", strata=(rng.choice("ab"),)))
    groups = group_cases(cases, [])
    assignment = assign_splits(cases, groups, POLICY)
    multi = [group for group in groups if len(group) > 1]
    assert len(multi) > 500
    shares = collections.Counter(assignment[group[0]] for group in multi)
    for split, fraction in zip(SPLITS, POLICY.fractions, strict=True):
        assert abs(shares[split] / len(multi) - fraction) <= 0.05, shares
