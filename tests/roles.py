"""Every bank-wide role, by the name tests use, wherever the app that declares it lives."""

from access_requests.roles import ACCESS_COMMITTEE, RESEARCHER
from curation.roles import REVIEWER
from imagebank.roles import CURATOR


class Role:
    REVIEWER = REVIEWER
    CURATOR = CURATOR
    ACCESS_COMMITTEE = ACCESS_COMMITTEE
    RESEARCHER = RESEARCHER
    values = [REVIEWER.value, CURATOR.value, ACCESS_COMMITTEE.value, RESEARCHER.value]
