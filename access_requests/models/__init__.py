"""The data of access_requests (research groups, data use agreements, access requests, committee
decisions, grants, expiry, downloads and the download log) and its invariants.
"""

from .agreements import AgreementSignature, DataUseAgreement
from .downloads import DownloadKind, DownloadLog
from .grants import (
    DOWNLOAD,
    Grant,
    ReleaseVersionGroupPermission,
    ReleaseVersionUserPermission,
)
from .groups import (
    GroupInvitation,
    GroupKind,
    GroupMember,
    MemberRole,
    MembershipChange,
    MembershipEvent,
    ResearchGroup,
)
from .requests import (
    CRITERIA,
    AccessRequest,
    CommitteeReview,
    RequestMessage,
    RequestTransition,
    Vote,
)

__all__ = [
    "CRITERIA",
    "DOWNLOAD",
    "AccessRequest",
    "AgreementSignature",
    "CommitteeReview",
    "DataUseAgreement",
    "DownloadKind",
    "DownloadLog",
    "Grant",
    "GroupInvitation",
    "GroupKind",
    "GroupMember",
    "MembershipChange",
    "MembershipEvent",
    "MemberRole",
    "ReleaseVersionGroupPermission",
    "ReleaseVersionUserPermission",
    "RequestMessage",
    "RequestTransition",
    "ResearchGroup",
    "Vote",
]
