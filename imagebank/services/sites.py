from datetime import date

from django.contrib.auth.models import Group
from django.db import transaction
from guardian.shortcuts import assign_perm

from imagebank.models import Site, SiteMembership, SiteRole
from imagebank.roles import SITE_CONTRIBUTOR_PERMISSIONS, BankRole, site_contributors_group_name
from imagebank.submission import DEFAULT_REQUIREMENTS, validate_requirements


@transaction.atomic
def create_site(
    *,
    slug: str,
    name: str,
    country: str,
    clinical_setting: str,
    devices: list[str] | None = None,
    submission_requirements: list[str] | None = None,
    data_sharing_agreement: str = "",
    data_sharing_agreement_until: date | None = None,
) -> Site:
    """A site with its own contributors group holding its object permissions.

    `submission_requirements` (codes of imagebank.submission; None: the default) is what the
    site's cases need before they are submitted; an empty list requires nothing.
    `data_sharing_agreement` (its reference, e.g. "DSA-2024-07") and its last day (None:
    open-ended): the site's agreement covering retrospective collections, which imported cases
    are recorded as covered by while it is in force.
    """
    requirements = validate_requirements(
        list(DEFAULT_REQUIREMENTS) if submission_requirements is None else submission_requirements
    )
    group = Group.objects.create(name=site_contributors_group_name(slug))
    site = Site(
        slug=slug,
        name=name,
        country=country.upper(),
        clinical_setting=clinical_setting,
        devices=list(devices or []),
        submission_requirements=requirements,
        data_sharing_agreement=data_sharing_agreement.strip(),
        data_sharing_agreement_until=data_sharing_agreement_until,
        contributors_group=group,
    )
    site.full_clean()
    site.save()
    for permission in SITE_CONTRIBUTOR_PERMISSIONS:
        assign_perm(permission, group, site)
    return site


@transaction.atomic
def add_site_member(*, site: Site, user, role: str = SiteRole.CONTRIBUTOR) -> SiteMembership:
    membership, _ = SiteMembership.objects.update_or_create(
        site=site, user=user, defaults={"role": role}
    )
    user.groups.add(site.contributors_group)
    return membership


@transaction.atomic
def remove_site_member(*, site: Site, user) -> None:
    SiteMembership.objects.filter(site=site, user=user).delete()
    user.groups.remove(site.contributors_group)


def grant_role(*, user, role: BankRole) -> None:
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    if hasattr(user, "_bank_roles"):
        del user._bank_roles


def revoke_role(*, user, role: BankRole) -> None:
    user.groups.remove(*Group.objects.filter(name=role.value))
    if hasattr(user, "_bank_roles"):
        del user._bank_roles
