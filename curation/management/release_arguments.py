"""What the release commands share: SLUG@VERSION arguments and the command-line curator."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from curation.models import ReleaseVersion

COMMAND_LINE_EMAIL = "releases@command-line.invalid"


def version_of(text: str) -> ReleaseVersion:
    """The version named "SLUG@VERSION", or CommandError naming what is wrong."""
    slug, at, version = (text or "").partition("@")
    if not at or not slug or not version:
        raise CommandError(
            f"Name a release version as SLUG@VERSION (e.g. iarc@1.0.0), not {text!r}."
        )
    found = (
        ReleaseVersion.objects.select_related("release")
        .filter(release__slug=slug, version=version)
        .first()
    )
    if found is None:
        raise CommandError(f"No release version {slug}@{version}.")
    return found


def command_line_curator(email: str | None = None):
    """The curator a command acts as: the user `email` (who must be a curator), else the
    command line's own account (no usable password: it can never sign in), made a curator, so
    the release's history names who built it."""
    from curation.services.releases import can_manage_releases
    from imagebank.roles import CURATOR
    from imagebank.services.sites import grant_role

    users = get_user_model().objects
    if email:
        user = users.filter(email=email).first()
        if user is None:
            raise CommandError(f"No user {email}.")
        if not can_manage_releases(user):
            raise CommandError(f"{email} is not a curator.")
        return user
    user, created = users.get_or_create(
        email=COMMAND_LINE_EMAIL, defaults={"full_name": "Releases (command line)"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not can_manage_releases(user):
        grant_role(user=user, role=CURATOR)
    return user
