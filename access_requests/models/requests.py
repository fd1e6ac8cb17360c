"""Access requests, their history, the committee's reviews and the messages with the requester."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from access_requests.lifecycle import RequestState


class AccessRequest(models.Model):
    """A group's request for one or more release versions (curation.ReleaseVersion)."""

    group = models.ForeignKey(
        "access_requests.ResearchGroup", on_delete=models.PROTECT, related_name="requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    releases = models.ManyToManyField(
        "curation.ReleaseVersion", related_name="access_requests", verbose_name=_("releases")
    )
    and_later_versions = models.BooleanField(
        _("and later versions of these releases"), default=False
    )
    state = models.CharField(
        _("state"), max_length=20, choices=RequestState.choices, default=RequestState.DRAFT
    )
    project_title = models.CharField(_("project title"), max_length=300)
    aims = models.TextField(_("aims"), max_length=5000)
    intended_use = models.TextField(_("intended use"), max_length=5000)
    commercial = models.BooleanField(_("commercial use"), default=False)
    ethics_document = models.FileField(_("ethics approval"), max_length=200, blank=True)
    ethics_committee = models.CharField(_("ethics committee"), max_length=300, blank=True)
    ethics_number = models.CharField(_("approval number"), max_length=100, blank=True)
    ethics_expiry = models.DateField(_("approval expires"), null=True, blank=True)
    data_security = models.TextField(_("data security statement"), max_length=5000)
    accessors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="named_in_requests", verbose_name=_("accessors")
    )
    signature = models.ForeignKey(
        "access_requests.AgreementSignature",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True, max_length=5000)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "submitted_at"], name="accessrequest_queue")]

    def __str__(self) -> str:
        return self.project_title


class RequestTransition(models.Model):
    """One step of a request's history: who moved it, when, from where to where, and why."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_state = models.CharField(max_length=20, choices=RequestState.choices)
    to_state = models.CharField(max_length=20, choices=RequestState.choices)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"


class Vote(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    CHANGES = "changes", _("Ask for changes")


# The committee's criteria (issue 13): each scored 1 (poor) to 5 (excellent).
CRITERIA = ("scientific_merit", "data_security", "expertise", "ethics")


class CommitteeReview(models.Model):
    """A committee member's assessment of one submission of a request: a score per criterion,
    a vote, and an internal note the requester never sees. A resubmission opens a new round."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="reviews")
    round = models.PositiveSmallIntegerField(default=1)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="committee_reviews"
    )
    scores = models.JSONField(_("scores"), default=dict)
    vote = models.CharField(_("vote"), max_length=10, choices=Vote.choices)
    # Why, in words the requester reads when the vote decides (required to reject or to ask for
    # changes); the internal note is for the committee only.
    reason = models.TextField(_("reason"), blank=True, max_length=5000)
    internal_note = models.TextField(_("internal note"), blank=True, max_length=5000)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "round", "at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "round", "member"], name="committeereview_one_vote_per_round"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.vote}"


class RequestMessage(models.Model):
    """A message between the committee and the requester (what the requester reads)."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=5000)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "at", "pk"]

    def __str__(self) -> str:
        return f"message on {self.request_id}"
