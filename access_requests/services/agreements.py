"""Data use agreements' writes and checks: curators or the access committee publish a new version;
a group's member signs the version in force, for their group; a download needs the signature of
the version in force now, so a new version must be signed again before the next download.

A signature records exactly what was signed: the version, the signer, their typed name, the time,
the address they signed from and the SHA-256 of the text, recomputed from the stored text when
they sign. A text that no longer matches the SHA-256 it was published with has been changed behind
the bank's back: nobody can sign it.

The typed name: spaces collapsed and the case ignored, it must be the signer's full name as their
account has it; an account without a full name must type at least two words (a first and a last
name), which the signature then keeps as typed.

Every function raises ValidationError({field: message}) on bad input and PermissionDenied when the
actor may not.
"""

import hashlib
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests import selectors
from access_requests.models import AgreementSignature, DataUseAgreement, ResearchGroup
from access_requests.roles import ACCESS_COMMITTEE
from imagebank.models import User
from imagebank.roles import CURATOR, has_role

logger = logging.getLogger("access_requests.agreements")

TITLE_MAX_LENGTH = DataUseAgreement._meta.get_field("title").max_length
TYPED_NAME_MAX_LENGTH = AgreementSignature._meta.get_field("typed_name").max_length


def text_sha256(text: str) -> str:
    """The SHA-256 of an agreement's text, UTF-8 (as the first version's migration computes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_agreement() -> DataUseAgreement:
    """The agreement in force now: the highest version whose start has come. Raises
    DataUseAgreement.DoesNotExist when there is none (the first migration adds version 1)."""
    agreement = (
        DataUseAgreement.objects.filter(in_force_from__lte=timezone.now())
        .order_by("-version")
        .first()
    )
    if agreement is None:
        raise DataUseAgreement.DoesNotExist("No data use agreement is in force.")
    return agreement


@transaction.atomic
def publish_agreement(*, actor: User, title: str, text: str) -> DataUseAgreement:
    """A new version of the agreement, in force from now: the next version number, the
    SHA-256 of its text. Curators and access committee members publish."""
    if not (has_role(actor, CURATOR) or has_role(actor, ACCESS_COMMITTEE)):
        raise PermissionDenied(
            _("Only curators and access committee members publish the data use agreement.")
        )
    title = (title or "").strip()
    text = (text or "").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Give the agreement a title.")
    elif len(title) > TITLE_MAX_LENGTH:
        errors["title"] = _("Keep the title within %(limit)d characters.") % {
            "limit": TITLE_MAX_LENGTH
        }
    if not text:
        errors["text"] = _("The agreement needs its text.")
    if errors:
        raise ValidationError(errors)
    last = DataUseAgreement.objects.aggregate(last=Max("version"))["last"] or 0
    try:
        with transaction.atomic():
            return DataUseAgreement.objects.create(
                version=last + 1,
                title=title,
                text=text,
                sha256=text_sha256(text),
                in_force_from=timezone.now(),
                published_by=actor,
            )
    except IntegrityError:
        # Another version took this number meanwhile (the version is unique).
        raise ValidationError(
            {"version": _("Another version was published meanwhile; reload and try again.")}
        ) from None


def clean_typed_name(typed_name: str, signer: User) -> str:
    """The typed name as kept (spaces collapsed), or ValidationError on "typed_name" (the rule is
    in the module's docstring)."""
    typed = " ".join((typed_name or "").split())
    if not typed:
        raise ValidationError({"typed_name": _("Type your full name to sign.")})
    if len(typed) > TYPED_NAME_MAX_LENGTH:
        raise ValidationError(
            {
                "typed_name": _("Keep the name within %(limit)d characters.")
                % {"limit": TYPED_NAME_MAX_LENGTH}
            }
        )
    full_name = " ".join((signer.full_name or "").split())
    if full_name:
        if typed.casefold() != full_name.casefold():
            raise ValidationError(
                {
                    "typed_name": _("Type your full name as your account has it: %(name)s.")
                    % {"name": full_name}
                }
            )
    elif len(typed.split(" ")) < 2:
        raise ValidationError({"typed_name": _("Type your first and last names.")})
    return typed


def _clean_ip(ip_address: str | None) -> str | None:
    if not ip_address:
        return None
    try:
        validate_ipv46_address(ip_address)
    except ValidationError:
        raise ValidationError({"ip_address": _("Not an IP address.")}) from None
    return ip_address


@transaction.atomic
def sign_agreement(
    *,
    agreement: DataUseAgreement,
    group: ResearchGroup,
    signer: User,
    typed_name: str,
    ip_address: str | None = None,
) -> AgreementSignature:
    """The signer signs the agreement in force for their group. Signing again the same version
    for the same group returns the first signature unchanged (idempotent)."""
    if not selectors.is_member(group, signer):
        raise PermissionDenied(_("Only a member of the group signs the agreement for it."))
    typed = clean_typed_name(typed_name, signer)
    ip_address = _clean_ip(ip_address)
    stored = DataUseAgreement.objects.get(pk=agreement.pk)
    signed_sha256 = text_sha256(stored.text)
    if signed_sha256 != stored.sha256 or stored.sha256 != agreement.sha256:
        logger.error(
            "Data use agreement v%s: its text does not match its SHA-256; signing refused.",
            stored.version,
        )
        raise ValidationError(
            {
                "agreement": _(
                    "The agreement's text does not match the version published, so it cannot be "
                    "signed. Please tell the curators."
                )
            }
        )
    existing = AgreementSignature.objects.filter(
        agreement=stored, group=group, signer=signer
    ).first()
    if existing is not None:
        return existing
    if stored.pk != current_agreement().pk:
        raise ValidationError(
            {"agreement": _("A newer version of the agreement is in force; sign that one.")}
        )
    try:
        with transaction.atomic():
            return AgreementSignature.objects.create(
                agreement=stored,
                group=group,
                signer=signer,
                typed_name=typed,
                text_sha256=signed_sha256,
                ip_address=ip_address,
            )
    except IntegrityError:
        # The same signature made meanwhile (a double click): that one stands.
        return AgreementSignature.objects.get(agreement=stored, group=group, signer=signer)


def signature_for_download(group: ResearchGroup, user: User) -> AgreementSignature | None:
    """The user's signature, for the group, of the version in force now; None when they have
    not signed it (a new version must be signed before the next download). Whether the user may
    download at all (a grant naming them) is the grant's business, not this."""
    if not getattr(user, "is_authenticated", False):
        return None
    return AgreementSignature.objects.filter(
        agreement=current_agreement(), group=group, signer=user
    ).first()


def has_signed_current(group: ResearchGroup, user: User) -> bool:
    """Whether the user signed, for the group, the version of the agreement in force now."""
    return signature_for_download(group, user) is not None
