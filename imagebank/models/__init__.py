from .audit import ReadEvent
from .cases import CODED_FIELDS, Case, CaseEvent
from .images import Image, ProcessingStatus
from .ingest import IngestRun
from .sites import (
    Site,
    SiteGroupObjectPermission,
    SiteMembership,
    SiteRole,
    SiteUserObjectPermission,
    Subject,
)
from .task_failures import TaskFailure
from .tokens import ApiToken, ApiTokenEvent  # noqa: F401  (API tokens, issue 8)
from .users import User

__all__ = [
    "CODED_FIELDS",
    "Case",
    "CaseEvent",
    "Image",
    "IngestRun",
    "ProcessingStatus",
    "ReadEvent",
    "Site",
    "SiteGroupObjectPermission",
    "SiteMembership",
    "SiteRole",
    "SiteUserObjectPermission",
    "Subject",
    "TaskFailure",
    "User",
]
