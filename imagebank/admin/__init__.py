"""The Django admin of the bank's core models.

The admin is a window on the data, not a side door: every change of state still goes through the
services (sites are created with their contributors group, memberships keep that group in step,
metadata edits are audited, images are removed through the service), and the lifecycle fields,
file keys, hashes and the audit trail are read-only here.
"""

from . import audit, cases, sites, users  # noqa: F401  (registers the admin classes)
from . import tokens as _tokens  # noqa: F401  (API tokens and their audit, read-only)
