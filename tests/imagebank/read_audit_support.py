"""What the read-audit tests share: signed-in clients, a small bank, reading CSV answers."""

import csv
import io

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from imagebank.models import IngestRun, ReadEvent
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

AGENT = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"


def signed_in(user) -> Client:
    client = Client(HTTP_USER_AGENT=AGENT)
    client.force_login(user)
    return client


def curator_with_mfa():
    curator = make_user_with_role(Role.CURATOR)
    TOTP.activate(curator, generate_totp_secret())
    return curator


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8"))))


def make_bank() -> dict:
    """A site with a contributor, one case with its three core images, and one finished import."""
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    images = add_core_images(case, contributor)
    run = IngestRun.objects.create(
        site=site,
        started_by=contributor,
        source_name="bank.zip",
        status=IngestRun.Status.DONE,
        report={"summary": {}, "cases": [], "problems": []},
    )
    return {"site": site, "contributor": contributor, "case": case, "images": images, "run": run}


def only_event() -> ReadEvent:
    events = list(ReadEvent.objects.all())
    assert len(events) == 1, events
    return events[0]
