"""Notices of the review (curation.services.notices): who hears what, the mail after the commit in
the recipient's language, a mail failure that loses nothing, and the dashboard's notices with
"mark as read" (one's own only)."""

import logging

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse

from curation.models import Notice
from curation.services import notices
from imagebank.lifecycle import CaseState
from imagebank.services import sites as site_services
from tests.factories import UserFactory, make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db

DASHBOARD = "/dashboard/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_notify_writes_a_notice_and_mails_after_the_commit(django_capture_on_commit_callbacks):
    site = make_site()
    user = make_contributor(site)
    case = make_case(site, actor=user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = notices.notify(user, case, Notice.Kind.RETURNED, "Please retake the Lugol image.")
        assert Notice.objects.filter(pk=notice.pk, user=user, case=case).exists()
        assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [user.email]
    assert str(case.pk) in sent.subject
    assert "Please retake the Lugol image." in sent.body
    assert reverse("imagebank:case-detail", args=[case.pk]) in sent.body


def test_no_mail_when_the_decision_is_rolled_back(django_capture_on_commit_callbacks):
    site = make_site()
    user = make_contributor(site)
    case = make_case(site, actor=user)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notices.notify(user, case, Notice.Kind.ACCEPTED)
        raise RuntimeError("the decision failed")
    assert not Notice.objects.exists()
    assert mail.outbox == []


def test_a_mail_failure_is_logged_loses_nothing_and_is_sent_later(monkeypatch, caplog):
    from datetime import timedelta

    from django.utils import timezone

    site = make_site()
    user = make_contributor(site)
    case = make_case(site, actor=user)
    notice = Notice.objects.create(user=user, case=case, kind=Notice.Kind.REJECTED)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(notices, "send_mail", broken)
    with (
        caplog.at_level(logging.WARNING, logger="curation.notices"),
        pytest.raises(notices.MailNotSent),
    ):
        notices.mail_notice(notice.pk)
    notice.refresh_from_db()
    assert notice.mailed_at is None and notice.mail_attempts == 1
    assert any("Could not mail notice" in record.message for record in caplog.records)
    assert mail.outbox == []

    # The reconciler sends it again once it is overdue (not before), and it goes once.
    monkeypatch.undo()
    assert notices.reconcile_mails(timezone.now()).requeued == 0
    later = timezone.now() + notices.MAIL_RETRY_AFTER + timedelta(minutes=1)
    assert notices.mails_backlog().count == 1
    assert notices.reconcile_mails(later).requeued == 1  # the task runs eagerly in tests
    notice.refresh_from_db()
    assert notice.mailed_at is not None and len(mail.outbox) == 1
    assert notices.mail_notice(notice.pk) is False and len(mail.outbox) == 1
    assert notices.reconcile_mails(later).requeued == 0 and notices.mails_backlog().count == 0


def test_the_task_retries_a_mail_server_that_is_down(monkeypatch):
    from celery.exceptions import Retry

    from curation.tasks import send_notice_mail

    site = make_site()
    user = make_contributor(site)
    notice = Notice.objects.create(
        user=user, case=make_case(site, actor=user), kind=Notice.Kind.ACCEPTED
    )
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise OSError("temporary failure in name resolution")

    monkeypatch.setattr(notices, "send_mail", flaky)
    # Each failure asks Celery for a retry, a minute later, then two, then four...
    for retries in (0, 1):
        with pytest.raises(Retry) as asked:  # tests propagate eager tasks' exceptions
            send_notice_mail.apply(args=[notice.pk], retries=retries)
        assert asked.value.when == 60 * 2**retries
    assert send_notice_mail.apply(args=[notice.pk], retries=2).get() == "sent"
    notice.refresh_from_db()
    assert len(calls) == 3 and notice.mailed_at is not None and notice.mail_attempts == 3


def test_a_lost_message_loses_no_mail(monkeypatch, django_capture_on_commit_callbacks):
    """The broker was out when the decision was saved: the notice is unmailed, and the
    reconciler's backlog holds it until it is sent."""
    site = make_site()
    user = make_contributor(site)
    case = make_case(site, actor=user)
    monkeypatch.setattr(notices, "_queue_mail", lambda notice_id: None)  # the message is lost
    with django_capture_on_commit_callbacks(execute=True):
        notice = notices.notify(user, case, Notice.Kind.RETURNED, "Retake image 2.")
    assert mail.outbox == [] and Notice.objects.get(pk=notice.pk).mailed_at is None
    assert notices.mails_backlog().count == 1


def test_an_unknown_kind_is_refused():
    site = make_site()
    user = make_contributor(site)
    with pytest.raises(ValueError):
        notices.notify(user, make_case(site, actor=user), "gossip")


def test_case_decided_reaches_the_sites_members_and_the_creator_once(
    django_capture_on_commit_callbacks,
):
    site, other_site = make_site(), make_site()
    creator = make_contributor(site)
    colleague = make_contributor(site)
    lead = UserFactory()
    site_services.add_site_member(site=site, user=lead)
    inactive = make_contributor(site, is_active=False)
    stranger = make_contributor(other_site)
    reviewer = make_user_with_role(Role.REVIEWER)
    case = make_case(site, actor=creator)
    with django_capture_on_commit_callbacks(execute=True):
        sent = notices.notify_case_decided(case, CaseState.RETURNED, "The TZ is not visible.")
    assert sorted(n.user_id for n in sent) == sorted([creator.pk, colleague.pk, lead.pk])
    assert not Notice.objects.filter(user__in=[inactive, stranger, reviewer]).exists()
    assert {n.kind for n in sent} == {Notice.Kind.RETURNED}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [creator.email, colleague.email, lead.email]
    )
    assert all("The TZ is not visible." in m.body for m in mail.outbox)


@pytest.mark.parametrize(
    "outcome,kind",
    [
        (CaseState.ACCEPTED, Notice.Kind.ACCEPTED),
        (CaseState.REJECTED, Notice.Kind.REJECTED),
        (CaseState.RETURNED, Notice.Kind.RETURNED),
    ],
)
def test_each_outcome_has_its_kind(outcome, kind):
    site = make_site()
    creator = make_contributor(site)
    case = make_case(site, actor=creator)
    assert [n.kind for n in notices.notify_case_decided(case, outcome)] == [kind]
    with pytest.raises(ValueError):
        notices.notify_case_decided(case, CaseState.IN_REVIEW)


def test_adjudication_waiting_reaches_every_curator(django_capture_on_commit_callbacks):
    from django.utils import timezone

    from curation.models import QueueEntry

    site = make_site()
    case = make_case(site)
    entry = QueueEntry.objects.create(case=case, entered_at=timezone.now())
    curators = [make_user_with_role(Role.CURATOR) for _ in range(2)]
    make_user_with_role(Role.REVIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        sent = notices.notify_adjudication_waiting(entry)
    assert sorted(n.user_id for n in sent) == sorted(c.pk for c in curators)
    assert {n.kind for n in sent} == {Notice.Kind.ADJUDICATION}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in curators)


def test_the_mail_is_in_the_recipients_language(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    user = UserFactory()
    assert notices._language(user) == settings.LANGUAGE_CODE
    user.language = "es"  # a User model with a language field
    assert notices._language(user) == "es"
    user.language = "xx"  # not one of the bank's languages
    assert notices._language(user) == settings.LANGUAGE_CODE

    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, actor=contributor)
    seen = []

    def spy_send(subject, body, sender, to):
        seen.append(notices.translation.get_language())

    monkeypatch.setattr(notices, "send_mail", spy_send)
    monkeypatch.setattr(notices, "_language", lambda user: "fr")
    with django_capture_on_commit_callbacks(execute=True):
        notices.notify(contributor, case, Notice.Kind.ACCEPTED)
    assert seen == ["fr"]


# --- the dashboard ------------------------------------------------------------------------------


def _notice(user, kind=Notice.Kind.RETURNED, message="Retake image 2."):
    site = make_site()
    case = make_case(site, actor=make_contributor(site))
    return Notice.objects.create(user=user, case=case, kind=kind, message=message)


def test_the_dashboard_shows_ones_own_unread_notices():
    user, other = make_contributor(make_site()), make_contributor(make_site())
    mine = _notice(user)
    theirs = _notice(other, message="Someone else's case.")
    read = _notice(user, message="Already read.")
    notices.mark_read(user, [read.pk])
    page = signed_in(user).get(DASHBOARD).content.decode()
    assert f'data-notice="{mine.pk}"' in page
    assert "Retake image 2." in page
    assert f'data-notice="{theirs.pk}"' not in page and "Someone else" not in page
    assert "Already read." not in page


def test_mark_as_read_touches_only_ones_own_notices():
    user, other = make_contributor(make_site()), make_contributor(make_site())
    mine, second = _notice(user), _notice(user)
    theirs = _notice(other)
    client = signed_in(user)
    response = client.post(DASHBOARD, {"notice": mine.pk})
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    mine.refresh_from_db()
    assert mine.read_at is not None
    client.post(DASHBOARD, {"notice": theirs.pk})  # not theirs to mark
    theirs.refresh_from_db()
    assert theirs.read_at is None
    client.post(DASHBOARD, {"notice": "all"})
    second.refresh_from_db()
    assert second.read_at is not None
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "data-notices" not in client.get(DASHBOARD).content.decode()


@pytest.mark.parametrize("value", ["", "x", "-1", "1" * 30, "1; DROP TABLE"])
def test_mark_as_read_refuses_what_is_not_a_notice(value):
    response = signed_in(make_contributor(make_site())).post(DASHBOARD, {"notice": value})
    assert response.status_code == 400
    assert "notice" in response.content.decode()


def test_a_visitor_cannot_mark_anything(client):
    assert client.post(DASHBOARD, {"notice": "all"}).status_code == 302
