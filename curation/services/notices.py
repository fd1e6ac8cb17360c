"""Notices: what a user hears of the review (a case of their site returned, accepted or rejected;
an adjudication waiting for a curator), as a notice on their dashboard and a mail.

The notice is a row written in the caller's transaction, so it exists exactly when the decision
does. The mail is sent by a task (curation.tasks.send_notice_mail) after the commit, in the
recipient's language where the user has one (the User model has no language field today: the
bank's LANGUAGE_CODE). It is durable: the notice row stays unmailed until a mail went, the task
retries a mail server that is down, and the reconciler sends again what is still unmailed; a mail
that cannot be sent never undoes or loses the decision.

Called by curation.services.reviews through notify_case_decided and notify_adjudication_waiting.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from curation.models import Notice
from imagebank.lifecycle import CaseState
from imagebank.models import Case, SiteMembership, User
from imagebank.reconcile import Backlog, Outcome
from imagebank.roles import CURATOR

logger = logging.getLogger("curation.notices")

# The outcome of a round (the case's new state) -> the notice it gives the site's contributors.
OUTCOME_KINDS = {
    CaseState.RETURNED: Notice.Kind.RETURNED,
    CaseState.ACCEPTED: Notice.Kind.ACCEPTED,
    CaseState.REJECTED: Notice.Kind.REJECTED,
}
# Most notices the dashboard lists (the newest unread ones).
DASHBOARD_NOTICES = 20


def _language(user) -> str:
    """The user's language where the User model keeps one, else the bank's default."""
    known = {code for code, _name in settings.LANGUAGES}
    for attribute in ("language", "preferred_language"):
        language = getattr(user, attribute, "") or ""
        if language in known:
            return language
    return settings.LANGUAGE_CODE


def _subject(kind: str, case: Case) -> str:
    number = {"number": case.pk}
    if kind == Notice.Kind.RETURNED:
        return _("Case %(number)s was returned to your site") % number
    if kind == Notice.Kind.ACCEPTED:
        return _("Case %(number)s was accepted into the bank") % number
    if kind == Notice.Kind.REJECTED:
        return _("Case %(number)s was rejected") % number
    return _("Case %(number)s is waiting for adjudication") % number


def _site_url() -> str:
    """SITE_URL without its trailing slash: mail links are absolute where it is set."""
    return (getattr(settings, "SITE_URL", "") or "").rstrip("/")


def _case_link(case: Case) -> str:
    return _site_url() + reverse("imagebank:case-detail", args=[case.pk])


class MailNotSent(Exception):
    """The mail server refused or could not be reached: the task tries again later."""


# Tries of one notice's mail (task runs and reconciler passes together) before it is given up (the
# notice stays on the dashboard).
MAIL_MAX_ATTEMPTS = 12


def mail_notice(notice_id: int) -> bool:
    """Send the notice's mail unless it went already; True when it was sent now. The row is locked
    while sending (skip_locked: a second task for the same notice does nothing), and marked sent
    in the same transaction, so a notice is mailed once. Raises MailNotSent where the server
    failed; an inactive or address-less user gets no mail, and that is final."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user", "case__site")
            .filter(pk=notice_id, mailed_at__isnull=True)
            .first()
        )
        if notice is None:
            return False  # sent already, being sent, or gone
        user = notice.user
        if not user.email or not user.is_active:
            Notice.objects.filter(pk=notice.pk).update(mailed_at=timezone.now())
            return False
        try:
            with translation.override(_language(user)):
                context = {
                    "user": user,
                    "notice": notice,
                    "case": notice.case,
                    "case_url": _case_link(notice.case),
                    "dashboard_url": _site_url() + reverse("portal:dashboard"),
                }
                subject = _subject(notice.kind, notice.case)
                body = render_to_string("curation/email/notice.txt", context)
                send_mail(subject, body, None, [user.email])
        except Exception as error:  # noqa: BLE001 - SMTP, DNS, refused: all mean "later"
            failed = error
        else:
            failed = None
            Notice.objects.filter(pk=notice.pk).update(
                mailed_at=timezone.now(), mail_attempts=F("mail_attempts") + 1
            )
    if failed is not None:
        # Counted outside the transaction the failure ends, so the count stays.
        Notice.objects.filter(pk=notice_id).update(mail_attempts=F("mail_attempts") + 1)
        logger.warning("Could not mail notice %s to user %s: %s", notice_id, user.pk, failed)
        raise MailNotSent(str(failed)) from failed
    logger.info("Mailed notice %s (%s) to user %s.", notice_id, notice.kind, user.pk)
    return True


def _queue_mail(notice_id: int) -> None:
    from curation.tasks import send_notice_mail
    from imagebank.durable import send_task_on_commit

    # A broker that is out loses nothing: the row stays unmailed, and the reconciler sends it.
    send_task_on_commit(send_notice_mail, notice_id)


def notify(user: User, case: Case, kind: str, message: str = "") -> Notice:
    """A notice on the user's dashboard, and its mail sent by a task once the caller's
    transaction commits (nothing when it rolls back)."""
    if kind not in Notice.Kind.values:
        raise ValueError(f"unknown notice kind: {kind!r}")
    notice = Notice.objects.create(user=user, case=case, kind=kind, message=message or "")
    _queue_mail(notice.pk)
    return notice


# --- the reconciler's kind: mails not sent ---------------------------------------------------

# A notice still unmailed this long after it was made is sent again (its task was lost, or the
# mail server was down through all its retries); after MAIL_GIVE_UP_DAYS, or MAIL_MAX_ATTEMPTS
# tries, it is left (the dashboard still shows it).
MAIL_RETRY_AFTER = timedelta(minutes=15)
MAIL_GIVE_UP_DAYS = 3


def _unmailed():
    return Notice.objects.filter(mailed_at__isnull=True, mail_attempts__lt=MAIL_MAX_ATTEMPTS)


def reconcile_mails(now) -> Outcome:
    from curation.tasks import send_notice_mail
    from imagebank.durable import send_task

    outcome = Outcome()
    due = _unmailed().filter(
        created_at__lt=now - MAIL_RETRY_AFTER,
        created_at__gte=now - timedelta(days=MAIL_GIVE_UP_DAYS),
    )
    for notice_id in due.order_by("created_at").values_list("pk", flat=True)[:500]:
        send_task(send_notice_mail, notice_id)
        outcome.requeued += 1
    return outcome


def mails_backlog() -> Backlog:
    waiting = _unmailed().filter(created_at__gte=timezone.now() - timedelta(days=MAIL_GIVE_UP_DAYS))
    return Backlog(count=waiting.count(), oldest=waiting.aggregate(m=Min("created_at"))["m"])


def _active(users: Iterable[User]) -> list[User]:
    seen: dict[int, User] = {}
    for user in users:
        if user is not None and user.is_active and user.pk not in seen:
            seen[user.pk] = user
    return list(seen.values())


def notify_case_decided(case: Case, outcome: str, message: str = "") -> list[Notice]:
    """The case's site hears its outcome (returned, accepted or rejected): every member of the
    case's site (contributors and site leads) and the case's creator, each once."""
    kind = OUTCOME_KINDS.get(outcome)
    if kind is None:
        raise ValueError(f"not an outcome of a review: {outcome!r}")
    members = User.objects.filter(
        pk__in=SiteMembership.objects.filter(site_id=case.site_id).values("user_id")
    ).order_by("pk")
    recipients = _active([*members, case.created_by])
    return [notify(user, case, kind, message) for user in recipients]


def notify_adjudication_waiting(entry) -> list[Notice]:
    """Every curator hears that an entry's reviews disagreed and wait for their decision."""
    curators = User.objects.filter(groups__name=CURATOR.value, is_active=True).order_by("pk")
    message = _("The independent reviews disagree; a curator's decision is needed.")
    return [notify(user, entry.case, Notice.Kind.ADJUDICATION, message) for user in curators]


# --- the dashboard's notices ---------------------------------------------------------------------


def unread_notices(user, limit: int = DASHBOARD_NOTICES) -> list[Notice]:
    """The user's own unread notices, newest first (one query, with their cases)."""
    if not user.is_authenticated:
        return []
    return list(
        Notice.objects.filter(user=user, read_at__isnull=True)
        .select_related("case__site")
        .order_by("-created_at", "-pk")[:limit]
    )


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user, notice_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notices read (all of them when `notice_ids` is None); how many. Another
    user's notice is never touched (the filter is on the user)."""
    notices = Notice.objects.filter(user=user, read_at__isnull=True)
    if notice_ids is not None:
        notices = notices.filter(pk__in=list(notice_ids))
    return notices.update(read_at=timezone.now())
