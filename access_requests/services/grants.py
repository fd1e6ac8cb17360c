"""Grants: what an approved request gives, and the ends of that access (expiry, revocation,
closing), renewal and the reminders before expiry.

A grant holds its right through guardian: its own django auth group (`grant-<request pk>`) whose
users are exactly the request's named accessors, holding curation.download_releaseversion on each
covered release version. `can_download` asks guardian (through the direct-FK tables) and also
asks that a live grant naming the user covers the version, so access stops at the expiry instant
even before `expire_grants` has run, and a permission row left behind by a failure gives nothing.
A grant's end removes the group's permission rows and its users at once, in the same transaction
that ends the grant and its request.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from access_requests import request_selectors as selectors
from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import (
    AccessRequest,
    Grant,
    ReleaseVersionGroupPermission,
    RequestMessage,
)
from access_requests.services.transitions import transition_request
from curation.models import ReleaseState, ReleaseVersion
from imagebank.object_permissions import objects_with_permission

PERMISSION = "curation.download_releaseversion"
TEXT_MAX_LENGTH = 5000
MONTH_BEFORE = timedelta(days=30)
WEEK_BEFORE = timedelta(days=7)


def grant_group_name(request: AccessRequest) -> str:
    return f"grant-{request.pk}"


def _clean_text(value, field: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(
            {field: _("Keep it under %(n)d characters.") % {"n": TEXT_MAX_LENGTH}}
        )
    return text


# --- which versions a grant covers --------------------------------------------------------------


def _earlier_granted(version: ReleaseVersion) -> Q:
    """Grants holding an earlier version of `version`'s release (one join on `releases`)."""
    return Q(releases__release_id=version.release_id) & (
        Q(releases__major__lt=version.major)
        | Q(releases__major=version.major, releases__minor__lt=version.minor)
        | Q(
            releases__major=version.major,
            releases__minor=version.minor,
            releases__patch__lt=version.patch,
        )
    )


def covering(version: ReleaseVersion) -> Q:
    """Grants covering `version`: granted by name, or a later version under "and later"."""
    return Q(releases=version) | (Q(and_later_versions=True) & _earlier_granted(version))


def covered_versions(grant: Grant) -> QuerySet[ReleaseVersion]:
    """The published versions a grant gives: those granted and, with "and later versions",
    every later published version of the same releases."""
    granted = list(grant.releases.all())
    covers = Q(pk__in=[version.pk for version in granted])
    if grant.and_later_versions:
        for version in granted:
            covers |= Q(release_id=version.release_id) & (
                Q(major__gt=version.major)
                | Q(major=version.major, minor__gt=version.minor)
                | Q(major=version.major, minor=version.minor, patch__gt=version.patch)
            )
    return ReleaseVersion.objects.filter(covers, state=ReleaseState.PUBLISHED)


def _give_access(grant: Grant) -> None:
    for version in covered_versions(grant):
        assign_perm(PERMISSION, grant.auth_group, version)


def _withdraw_access(grant: Grant) -> None:
    """Every permission row of the grant's group goes (later versions' too) and so do its
    users: nothing of the grant is left for guardian to find."""
    ReleaseVersionGroupPermission.objects.filter(group=grant.auth_group).delete()
    grant.auth_group.user_set.clear()


def drop_accessor(grant: Grant, user) -> None:
    """The user is no longer a named accessor of the grant, and its guardian group lets them go:
    their download right ends at once (a member who leaves the group stops being one of the
    people the committee approved)."""
    grant.accessors.remove(user)
    grant.auth_group.user_set.remove(user)


# --- creating and checking ----------------------------------------------------------------------


def create_grant(request: AccessRequest, *, now: datetime | None = None) -> Grant:
    """The grant of an approved request: its versions, its accessors, GRANT_DAYS long.
    Idempotent: the request's grant, if it exists, is returned as it is."""
    now = now or timezone.now()
    with transaction.atomic():
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if request.state != RequestState.APPROVED:
            raise ValidationError({"request": _("Only an approved request gives a grant.")})
        existing = Grant.objects.filter(request=request).first()
        if existing is not None:
            return existing
        accessors = list(request.accessors.all())
        auth_group = Group.objects.create(name=grant_group_name(request))
        auth_group.user_set.set(accessors)
        grant = Grant.objects.create(
            request=request,
            group_id=request.group_id,
            and_later_versions=request.and_later_versions,
            auth_group=auth_group,
            starts_at=now,
            expires_at=now + timedelta(days=settings.GRANT_DAYS),
        )
        grant.releases.set(request.releases.all())
        grant.accessors.set(accessors)
        _give_access(grant)
    return grant


def can_download(user, version: ReleaseVersion, *, now: datetime | None = None) -> bool:
    """Whether `user` may download `version` now: the version is published, guardian gives the
    user the download permission on it, and a live grant naming the user (and still holding
    them in its group) covers it, by name or as a later version under "and later versions"."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if version.state != ReleaseState.PUBLISHED:
        return False
    held = objects_with_permission(
        user, PERMISSION, ReleaseVersion.objects.filter(pk=version.pk)
    ).exists()
    if not held:
        return False
    return (
        selectors.live_grants(now)
        .filter(accessors=user, auth_group__user=user)
        .filter(covering(version))
        .exists()
    )


def cover_later_versions(version: ReleaseVersion) -> int:
    """A version was just published (curation.hooks.release_published): the live grants of
    "and later versions" of an earlier version of its release get the permission on it.
    Returns how many grants."""
    if version.state != ReleaseState.PUBLISHED:
        return 0
    grants = list(
        selectors.live_grants()
        .filter(and_later_versions=True)
        .filter(_earlier_granted(version))
        .select_related("auth_group")
        .distinct()
    )
    with transaction.atomic():
        for grant in grants:
            assign_perm(PERMISSION, grant.auth_group, version)
    return len(grants)


# --- the ends of a grant ------------------------------------------------------------------------


def _end_grant(
    grant: Grant, *, grant_state: str, request_state: str, actor, reason: str, now: datetime
) -> Grant:
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("auth_group").get(pk=grant.pk)
        if grant.state != GrantState.ACTIVE:
            raise ValidationError({"grant": _("This grant has already ended.")})
        grant.state, grant.ended_at, grant.end_reason = grant_state, now, reason
        fields = ["state", "ended_at", "end_reason"]
        if grant_state == GrantState.CLOSED:
            grant.destruction_confirmed_at = now
            fields.append("destruction_confirmed_at")
        grant.save(update_fields=fields)
        _withdraw_access(grant)
        transition_request(grant.request, to_state=request_state, actor=actor, reason=reason)
    return grant


def expire_grants(now: datetime | None = None) -> int:
    """End every active grant past its expiry (the periodic task). Returns how many."""
    now = now or timezone.now()
    due = Grant.objects.filter(state=GrantState.ACTIVE, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    ended = 0
    for pk in list(due):
        try:
            _end_grant(
                Grant(pk=pk),
                grant_state=GrantState.EXPIRED,
                request_state=RequestState.EXPIRED,
                actor=None,
                reason="",
                now=now,
            )
        except ValidationError:
            continue  # revoked or closed meanwhile
        ended += 1
    return ended


def revoke_grant(grant: Grant, *, actor, reason: str) -> Grant:
    """The committee or a curator ends a grant at once (a breach, a withdrawn approval); the
    reason is recorded on the grant and in the request's history, which the group reads."""
    if not (selectors.is_committee_member(actor) or selectors.is_curator(actor)):
        raise PermissionDenied(_("Only the access committee or curators revoke a grant."))
    reason = _clean_text(reason, "reason", required=True)
    return _end_grant(
        grant,
        grant_state=GrantState.REVOKED,
        request_state=RequestState.REVOKED,
        actor=actor,
        reason=reason,
        now=timezone.now(),
    )


def close_grant(grant: Grant, *, actor, destroyed_confirmed: bool) -> Grant:
    """The group's principal investigator ends the grant, confirming that the data were
    destroyed or returned (the agreement's last obligation); the confirmation's time is kept."""
    if not selectors.is_principal_investigator(actor, grant.group):
        raise PermissionDenied(_("Only the group's principal investigator closes its grant."))
    if destroyed_confirmed is not True:
        raise ValidationError(
            {"destroyed_confirmed": _("Confirm that the data were destroyed or returned.")}
        )
    return _end_grant(
        grant,
        grant_state=GrantState.CLOSED,
        request_state=RequestState.CLOSED,
        actor=actor,
        reason="",
        now=timezone.now(),
    )


def renew_grant(grant: Grant, *, actor, progress_report: str, publications: str) -> Grant:
    """The principal investigator renews a live grant for another GRANT_DAYS from today (never
    shortening it), reporting progress and publications (the agreement asks for both). The
    report is posted on the request as a message, so the committee reads it and may revoke;
    the reminders start over for the new expiry."""
    if not selectors.is_principal_investigator(actor, grant.group):
        raise PermissionDenied(_("Only the group's principal investigator renews its grant."))
    progress_report = _clean_text(progress_report, "progress_report", required=True)
    publications = _clean_text(publications, "publications", required=False)
    now = timezone.now()
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        if grant.state != GrantState.ACTIVE or grant.expires_at <= now:
            raise ValidationError({"grant": _("Only a grant still in force can be renewed.")})
        grant.expires_at = max(grant.expires_at, now + timedelta(days=settings.GRANT_DAYS))
        grant.reminded_month_at = grant.reminded_week_at = None
        grant.save(update_fields=["expires_at", "reminded_month_at", "reminded_week_at"])
        text = _("Renewal. Progress report:\n%(report)s\n\nPublications:\n%(publications)s") % {
            "report": progress_report,
            "publications": publications or _("none yet"),
        }
        RequestMessage.objects.create(request_id=grant.request_id, author=actor, text=text)
    return grant


# --- reminders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    grant: Grant
    kind: str  # "month" or "week"


def reminders_due(now: datetime | None = None) -> list[Reminder]:
    """Live grants within a week of expiry not yet reminded that week, and those within a month
    not yet reminded that month. A grant already within a week gets the week's reminder only."""
    now = now or timezone.now()
    live = selectors.live_grants(now).select_related("group__principal_investigator", "request")
    week = list(live.filter(expires_at__lte=now + WEEK_BEFORE, reminded_week_at__isnull=True))
    month = list(
        live.filter(
            expires_at__lte=now + MONTH_BEFORE,
            expires_at__gt=now + WEEK_BEFORE,
            reminded_month_at__isnull=True,
        )
    )
    return [Reminder(grant, "week") for grant in week] + [
        Reminder(grant, "month") for grant in month
    ]


def _recipients(grant: Grant) -> list[str]:
    emails = [grant.group.principal_investigator.email]
    emails += list(grant.accessors.values_list("email", flat=True))
    return list(dict.fromkeys(email for email in emails if email))


def _mail_reminder(grant: Grant, recipients: list[str]) -> None:
    expiry = timezone.localtime(grant.expires_at).date().isoformat()
    subject = _("Your access for “%(project)s” ends on %(date)s") % {
        "project": grant.request.project_title,
        "date": expiry,
    }
    body = _(
        "The grant of the Cervical Image Bank for the project “%(project)s” ends on %(date)s. "
        "After that day the data can no longer be downloaded. The principal investigator may "
        "renew the grant with a progress report and the project's publications, or close it "
        "and confirm that the data were destroyed."
    ) % {"project": grant.request.project_title, "date": expiry}
    for email in recipients:
        send_mail(subject, body, None, [email])


def send_reminders(now: datetime | None = None) -> int:
    """Mail each due reminder to the group's principal investigator and the grant's accessors,
    one mail each, once: the reminder's time is recorded in the same transaction, and the mail
    leaves after the commit. Returns how many grants were reminded."""
    now = now or timezone.now()
    sent = 0
    for reminder in reminders_due(now):
        field = "reminded_week_at" if reminder.kind == "week" else "reminded_month_at"
        with transaction.atomic():
            grant = Grant.objects.select_for_update().get(pk=reminder.grant.pk)
            if getattr(grant, field) is not None or grant.state != GrantState.ACTIVE:
                continue  # another run sent it meanwhile
            setattr(grant, field, now)
            fields = [field]
            if reminder.kind == "week" and grant.reminded_month_at is None:
                grant.reminded_month_at = now  # the month's reminder would come after it
                fields.append("reminded_month_at")
            grant.save(update_fields=fields)
            recipients = _recipients(reminder.grant)
            transaction.on_commit(
                lambda grant=reminder.grant, recipients=recipients: _mail_reminder(
                    grant, recipients
                )
            )
        sent += 1
    return sent
