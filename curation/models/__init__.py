"""The data of curation (automated quality checks, the near-duplicate index, the review queue,
reviews, annotations, adjudication, agreement statistics, dataset releases and their splits) and
its invariants.
"""

from .checks import CheckResult, CheckThreshold, Verdict
from .fingerprints import ImageFingerprint
from .reviews import (
    Adjudication,
    Decision,
    EligibilityItem,
    EntryStatus,
    FlagReason,
    ImageExclusion,
    ImageFlag,
    Notice,
    Outline,
    OutlineKind,
    Prefill,
    QueueEntry,
    RejectReason,
    Review,
    ReviewStatus,
)

__all__ = [
    "Adjudication",
    "CheckResult",
    "CheckThreshold",
    "Decision",
    "EligibilityItem",
    "EntryStatus",
    "FlagReason",
    "ImageExclusion",
    "ImageFingerprint",
    "ImageFlag",
    "Notice",
    "Outline",
    "OutlineKind",
    "Prefill",
    "QueueEntry",
    "RejectReason",
    "Review",
    "ReviewStatus",
    "Verdict",
]
