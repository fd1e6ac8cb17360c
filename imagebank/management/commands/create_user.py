"""`manage.py create_user EMAIL --role contributor|reviewer|curator|committee|researcher
[--site SLUG …] [--password-file F]`: an account for administrators and scripts.

The role names on the command line are the bank-wide roles of the registry (imagebank.roles),
which each app declares in its own roles.py; this command knows only their codes (the core never
imports the apps above it). "contributor" is no bank-wide role: it is a membership of a site.
Each --site makes the account a contributor of that site whatever the role (a reviewer who also
contributes at a clinic is common, and the queue then never hands them that clinic's cases),
through the same service as an invitation (imagebank.services.sites.add_site_member, which keeps
the site's contributors group in step).

Without --password-file the account has no usable password: its owner sets one through the
password-reset page. The address counts as verified (the administrator vouches for it), as for
an invitation. Everything is written in one transaction: on any error nothing is created.
"""

from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

from imagebank.models import Site, User
from imagebank.roles import CURATOR, BankRole, get_role
from imagebank.services import sites as site_services

CONTRIBUTOR = "contributor"

# The command line's role names and the code each app registers its role under (None: no
# bank-wide role). The codes are looked up in the registry when the command runs, so a role whose
# app is not installed is refused rather than handed out as a bare group.
ROLE_NAMES: dict[str, str | None] = {
    CONTRIBUTOR: None,
    "reviewer": "reviewers",  # curation.roles.REVIEWER
    "curator": CURATOR.value,  # imagebank.roles.CURATOR
    "committee": "access_committee",  # access_requests.roles.ACCESS_COMMITTEE
    "researcher": "researchers",  # access_requests.roles.RESEARCHER
}

# A file longer than this holds something else (a wrong file), not a password.
MAX_PASSWORD_LENGTH = 4096


def _messages(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def resolve_role(name: str) -> BankRole | None:
    """The registered role of a command-line role name (None for contributor)."""
    if name not in ROLE_NAMES:
        raise CommandError(f"Unknown role '{name}'. Valid roles: {', '.join(ROLE_NAMES)}.")
    code = ROLE_NAMES[name]
    if code is None:
        return None
    role = get_role(code)
    if role is None:
        raise CommandError(
            f"The role '{name}' ({code}) is not registered: the app that declares it is not "
            "installed."
        )
    return role


def clean_email(value: str) -> str:
    email = str(value or "").strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise CommandError(f"email: '{value}' is not a valid email address.") from error
    return User.objects.normalize_email(email).lower()


def find_sites(slugs: list[str]) -> list[Site]:
    """The sites named, in the order given (once each); every unknown slug is named."""
    wanted = list(dict.fromkeys(slug.strip() for slug in slugs))
    found = {site.slug: site for site in Site.objects.filter(slug__in=wanted)}
    unknown = [slug for slug in wanted if slug not in found]
    if unknown:
        raise CommandError(
            f"--site: no site with the slug {', '.join(repr(slug) for slug in unknown)}. "
            "Create it with `manage.py create_site` first."
        )
    return [found[slug] for slug in wanted]


def read_password(path: str) -> str:
    """The password in the file, less one trailing newline."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CommandError(
            f"--password-file: cannot read '{path}': {error.strerror or error}."
        ) from error
    try:
        password = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CommandError(f"--password-file: '{path}' is not UTF-8 text.") from error
    if password.endswith("\r\n"):
        password = password[:-2]
    elif password.endswith("\n"):
        password = password[:-1]
    if not password:
        raise CommandError(f"--password-file: '{path}' is empty.")
    if len(password) > MAX_PASSWORD_LENGTH or "\n" in password:
        raise CommandError(
            f"--password-file: '{path}' must hold the password alone, on one line "
            f"(at most {MAX_PASSWORD_LENGTH} characters)."
        )
    return password


class Command(BaseCommand):
    help = (
        "Create an account with a bank-wide role and the sites it contributes to. Without "
        "--password-file the account has no usable password: its owner sets one through "
        "password reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--role",
            required=True,
            metavar="ROLE",
            help=f"one of: {', '.join(ROLE_NAMES)}",
        )
        parser.add_argument(
            "--site",
            action="append",
            default=[],
            metavar="SLUG",
            help="make the user a contributor of this site as well, whatever the role; repeat "
            "for several (a contributor needs at least one)",
        )
        parser.add_argument(
            "--password-file",
            metavar="F",
            help="read the password from this file (one trailing newline is dropped); checked "
            "by the password validators",
        )
        parser.add_argument("--full-name", default="", help="the person's name (optional)")
        parser.add_argument(
            "--add-to-existing",
            action="store_true",
            help="if an account has this address, give it the role and sites instead of "
            "refusing (its password is left as it is)",
        )

    def handle(self, *args, **options):
        email = clean_email(options["email"])
        role = resolve_role(options["role"])
        if options["role"] == CONTRIBUTOR and not options["site"]:
            raise CommandError("--site: a contributor needs at least one site.")
        sites = find_sites(options["site"])
        full_name = " ".join(str(options["full_name"]).split())
        if len(full_name) > User._meta.get_field("full_name").max_length:
            raise CommandError("--full-name: too long.")

        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None and not options["add_to_existing"]:
            raise CommandError(
                f"An account with the address {email} exists already. Give "
                "--add-to-existing to add the role and sites to it."
            )
        if existing is not None and options["password_file"]:
            raise CommandError(
                "--password-file: the account exists already; its owner changes its password "
                "through password reset."
            )

        password = None
        if options["password_file"]:
            password = read_password(options["password_file"])
            try:
                validate_password(password, user=User(email=email, full_name=full_name))
            except ValidationError as error:
                raise CommandError(f"--password-file: {_messages(error)}") from error

        try:
            with transaction.atomic():
                user = self._write(existing, email, full_name, password, role, sites)
        except ValidationError as error:
            raise CommandError(_messages(error)) from error
        self._report(user, existing is None, password is not None, role, sites)

    def _write(self, existing, email, full_name, password, role, sites) -> User:
        if existing is None:
            user = User.objects.create_user(email, password=password, full_name=full_name)
            # The administrator vouches for the address, as a curator's invitation does; the
            # password-reset mail goes to it.
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        else:
            user = existing
            if full_name and not user.full_name:
                user.full_name = full_name
                user.save(update_fields=["full_name"])
        if role is not None:
            site_services.grant_role(user=user, role=role)
        for site in sites:
            site_services.add_site_member(site=site, user=user)
        return user

    def _report(self, user, created: bool, has_password: bool, role, sites) -> None:
        what = "Created" if created else "Updated"
        role_text = f"role {role.value} ({role.label})" if role is not None else "no bank-wide role"
        self.stdout.write(self.style.SUCCESS(f"{what} user {user.email}: {role_text}."))
        if sites:
            names = ", ".join(f"{site.slug} ({site.name})" for site in sites)
            self.stdout.write(f"Contributor of: {names}.")
        if created and not has_password:
            self.stdout.write(
                "No usable password: the person sets one through password reset at "
                f"{reverse('account_reset_password')} (the mail goes to {user.email})."
            )
        if role is not None and role.requires_mfa:
            self.stdout.write(
                self.style.WARNING(
                    f"The {role.value} role requires a second factor: the user must set up "
                    "two-factor authentication on first sign-in."
                )
            )
