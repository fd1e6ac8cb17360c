"""The data of curation (automated quality checks, the near-duplicate index, the review queue,
reviews, annotations, adjudication, agreement statistics, dataset releases and their splits) and
its invariants.
"""

from .checks import CheckResult, CheckThreshold, Verdict
from .fingerprints import ImageFingerprint

__all__ = ["CheckResult", "CheckThreshold", "ImageFingerprint", "Verdict"]
