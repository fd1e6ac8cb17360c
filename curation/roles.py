"""The roles curation owns: reviewers, who judge submitted cases (and so may read them)."""

from django.utils.translation import gettext_lazy as _

from imagebank.roles import BankRole, register_role

REVIEWER = register_role(BankRole("reviewers", _("Reviewer"), reads_submitted_cases=True))
