"""Which images of a release are copies of each other: exact duplicates (same SHA-256) and near
duplicates (perceptual hashes within a Hamming radius).

A release's splits must not share an image in disguise: a re-encoded, resized or slightly
cropped copy of a test image in the training split leaks the test set into training. The build
links the cases of every pair found here (splits.group_cases), so each cluster of copies lands in
one split whole. Both functions are exact: they return every qualifying pair and nothing else,
because a missed pair is a leak, not an approximation error.

Pure functions over positions in the given sequences (no models, no database).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

HASH_BITS = 64
MAX_RADIUS = 16


def near_duplicate_pairs(hashes: Sequence[int], radius: int) -> list[tuple[int, int]]:
    """Every (i, j), i < j, whose 64-bit hashes differ in at most `radius` bits, sorted.

    Multi-index hashing: the 64 bits are cut into radius + 1 chunks; two hashes within `radius`
    bits differ in at most `radius` chunks, so they agree exactly on at least one (pigeonhole).
    For each chunk the hashes are sorted by that chunk's value, and only hashes in one bucket
    (same chunk value) are compared, with a vectorised popcount of their XOR. A pair is kept
    only by the first chunk on which it agrees, so it comes out once without a set of seen
    pairs. Work and memory follow the number of candidate pairs (pairs sharing a chunk), never
    n², except where the answer itself is that large (many identical hashes).
    """
    if isinstance(radius, bool) or not isinstance(radius, int):
        raise ValueError(f"radius must be an integer, got {radius!r}")
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"radius must be between 0 and {MAX_RADIUS} bits, got {radius}")
    values = _as_uint64(hashes)
    if len(values) < 2:
        return []
    # Identical hashes are searched once: the search runs over the distinct values, and each
    # distinct pair found stands for every pair of images carrying those two values.
    distinct, copies_of = np.unique(values, return_inverse=True)
    copies_of = copies_of.ravel()
    found_left: list[np.ndarray] = []
    found_right: list[np.ndarray] = []
    for left, right in _bucket_pairs(copies_of):
        found_left.append(left)
        found_right.append(right)
    images = _ImagesOfValues(copies_of)
    chunks = _chunks(radius + 1)
    for index, (shift, mask) in enumerate(chunks):
        earlier = chunks[:index]
        keys = (distinct >> np.uint64(shift)) & np.uint64(mask)
        order, sorted_values = _sorted_by(keys, distinct)
        for positions, offset in _run_pairs(keys[order]):
            differing = sorted_values[positions] ^ sorted_values[positions + offset]
            close = np.flatnonzero(np.bitwise_count(differing) <= radius)
            if not close.size:
                continue
            differing = differing[close]
            first_agreement = np.ones(close.size, dtype=bool)
            for earlier_shift, earlier_mask in earlier:
                # Pairs that also agree on an earlier chunk were already kept there.
                earlier_bits = (differing >> np.uint64(earlier_shift)) & np.uint64(earlier_mask)
                first_agreement &= earlier_bits != 0
            kept = positions[close[first_agreement]]
            if kept.size:
                left, right = images.pairs_of(order[kept], order[kept + offset])
                found_left.append(left)
                found_right.append(right)
    return _sorted_pairs(found_left, found_right)


def exact_duplicate_pairs(keys: Sequence[str]) -> list[tuple[int, int]]:
    """Every (i, j), i < j, with keys[i] == keys[j] and the key not empty, sorted.

    Empty keys mean "unknown" (no checksum recorded), never "equal to each other". One pass to
    group positions by key, then the pairs of each group; the output is all pairs of each group
    by definition, so the cost is linear in the input plus the output.
    """
    positions: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        if key:
            positions.setdefault(key, []).append(index)
    pairs = [
        (group[a], group[b])
        for group in positions.values()
        if len(group) > 1
        for a in range(len(group))
        for b in range(a + 1, len(group))
    ]
    pairs.sort()
    return pairs


def _as_uint64(hashes: Sequence[int]) -> np.ndarray:
    """The hashes as a uint64 array; anything outside 0 <= h < 2**64 is refused (a negative or
    too-large value would otherwise wrap around and match the wrong images)."""
    try:
        return np.array(list(hashes), dtype=np.uint64)
    except (OverflowError, TypeError, ValueError) as error:
        raise ValueError(f"hashes must be integers with 0 <= h < 2**{HASH_BITS}: {error}") from None


def _chunks(count: int) -> list[tuple[int, int]]:
    """(shift, mask) of `count` contiguous chunks covering the 64 bits, widths as even as can be."""
    base, extra = divmod(HASH_BITS, count)
    chunks = []
    shift = 0
    for index in range(count):
        width = base + (1 if index < extra else 0)
        chunks.append((shift, (1 << width) - 1))
        shift += width
    return chunks


def _sorted_by(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    return order, values[order]


def _run_pairs(sorted_keys: np.ndarray) -> Iterator[tuple[np.ndarray, int]]:
    """Every pair of positions (p, p + offset) inside one run of equal sorted keys, in batches
    of one offset each: (the p's, offset).

    The batch for offset d pairs each position p with p + d wherever p + d is still inside p's
    run. Positions whose run is exhausted drop out for good, so the batches shrink and their
    total size is the number of candidate pairs (plus n), whatever the mix of run lengths: many
    short runs cost a few batches, one long run as many batches as it is long, each no longer.
    """
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    run_lengths = np.diff(np.r_[starts, len(sorted_keys)])
    run_ends = np.repeat(starts + run_lengths, run_lengths)
    active = np.flatnonzero(np.repeat(run_lengths, run_lengths) > 1)
    offset = 1
    while active.size:
        active = active[active + offset < run_ends[active]]
        if active.size:
            yield active, offset
        offset += 1


def _bucket_pairs(bucket_keys: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """All (i, j), i < j, with equal bucket keys, in batches."""
    order = np.argsort(bucket_keys, kind="stable")
    for positions, offset in _run_pairs(bucket_keys[order]):
        left, right = order[positions], order[positions + offset]
        yield np.minimum(left, right), np.maximum(left, right)


class _ImagesOfValues:
    """The image positions behind each distinct hash value."""

    def __init__(self, copies_of: np.ndarray) -> None:
        self.members = np.argsort(copies_of, kind="stable")
        self.counts = np.bincount(copies_of)
        self.starts = np.r_[0, np.cumsum(self.counts)[:-1]]
        self.all_distinct = bool((self.counts == 1).all())

    def pairs_of(
        self, left_values: np.ndarray, right_values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every image with the one value against every image with the other, for each pair of
        distinct values (usually one image each: one image pair per value pair)."""
        if self.all_distinct:
            left, right = self.members[left_values], self.members[right_values]
        else:
            left_counts, right_counts = self.counts[left_values], self.counts[right_values]
            products = left_counts * right_counts
            which = np.repeat(np.arange(len(products)), products)
            within = np.arange(which.size) - np.repeat(np.cumsum(products) - products, products)
            left = self.members[self.starts[left_values[which]] + within // right_counts[which]]
            right = self.members[self.starts[right_values[which]] + within % right_counts[which]]
        return np.minimum(left, right), np.maximum(left, right)


def _sorted_pairs(left: list[np.ndarray], right: list[np.ndarray]) -> list[tuple[int, int]]:
    if not left:
        return []
    all_left = np.concatenate(left).astype(np.int64)
    all_right = np.concatenate(right).astype(np.int64)
    # One sort of a combined key (left-major) is cheaper than a lexsort of two.
    order = np.argsort(all_left * (int(all_right.max()) + 1) + all_right, kind="stable")
    return list(zip(all_left[order].tolist(), all_right[order].tolist(), strict=True))
