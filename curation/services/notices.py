"""Notices: what a user hears of the review (a case of their site returned, accepted or rejected;
an adjudication waiting for a curator), as a notice on their dashboard and a mail.

The notice is a row written in the caller's transaction, so it exists exactly when the decision
does. The mail goes after the commit (transaction.on_commit), in the recipient's language where the
user has one (the User model has no language field today: the bank's LANGUAGE_CODE), and a mail
that cannot be sent is logged and never undoes or loses the decision.

Called by curation.services.reviews through notify_case_decided and notify_adjudication_waiting.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from curation.models import Notice
from imagebank.lifecycle import CaseState
from imagebank.models import Case, SiteMembership, User
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


def _case_link(case: Case) -> str:
    path = reverse("imagebank:case-detail", args=[case.pk])
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return base + path


def _send(notice_id: int) -> None:
    """The notice's mail (after the commit). A failure is logged; the notice stays."""
    try:
        notice = Notice.objects.select_related("user", "case__site").get(pk=notice_id)
    except Notice.DoesNotExist:
        return
    user = notice.user
    if not user.email or not user.is_active:
        return
    try:
        with translation.override(_language(user)):
            context = {
                "user": user,
                "notice": notice,
                "case": notice.case,
                "case_url": _case_link(notice.case),
                "dashboard_url": (getattr(settings, "SITE_URL", "") or "").rstrip("/")
                + reverse("portal:dashboard"),
            }
            subject = _subject(notice.kind, notice.case)
            body = render_to_string("curation/email/notice.txt", context)
            send_mail(subject, body, None, [user.email])
    except Exception:  # noqa: BLE001 - a mail server down must never lose the decision
        logger.exception("Could not mail notice %s to user %s.", notice_id, user.pk)
    else:
        logger.info("Mailed notice %s (%s) to user %s.", notice_id, notice.kind, user.pk)


def notify(user: User, case: Case, kind: str, message: str = "") -> Notice:
    """A notice on the user's dashboard, and a mail once the caller's transaction commits."""
    if kind not in Notice.Kind.values:
        raise ValueError(f"unknown notice kind: {kind!r}")
    notice = Notice.objects.create(user=user, case=case, kind=kind, message=message or "")
    transaction.on_commit(lambda: _send(notice.pk))
    return notice


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
