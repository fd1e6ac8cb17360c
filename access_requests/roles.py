"""The roles access_requests owns: the access committee (two-factor) and researchers."""

from django.utils.translation import gettext_lazy as _

from imagebank.roles import BankRole, register_role

ACCESS_COMMITTEE = register_role(
    BankRole("access_committee", _("Access committee member"), requires_mfa=True)
)
RESEARCHER = register_role(BankRole("researchers", _("Researcher")))
