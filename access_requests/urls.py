"""The pages of access_requests, mounted by config.urls."""

from django.urls import path

from access_requests.download_urls import download_patterns  # downloads
from access_requests.views import agreements, committee, groups, requests

app_name = "access_requests"

# The research groups', the requests' and the committee's pages (access_requests.views).
page_patterns = [
    path("access/groups/", groups.group_list, name="group-list"),
    path("access/groups/new/", groups.group_new, name="group-new"),
    path("access/groups/<int:pk>/", groups.group_detail, name="group-detail"),
    path("access/groups/<int:pk>/invite/", groups.group_invite, name="group-invite"),
    path(
        "access/groups/<int:pk>/invitations/<int:invitation>/withdraw/",
        groups.invitation_withdraw,
        name="invitation-withdraw",
    ),
    path(
        "access/groups/<int:pk>/members/<int:user>/remove/",
        groups.member_remove,
        name="member-remove",
    ),
    path("access/groups/<int:pk>/pi/", groups.group_transfer_pi, name="group-transfer-pi"),
    path("access/groups/<int:pk>/agreement/", groups.agreement_sign, name="agreement-sign"),
    path("access/agreements/", agreements.agreement_list, name="agreement-list"),
    path("access/agreements/new/", agreements.agreement_publish, name="agreement-publish"),
    path("access/invitations/<str:token>/", groups.invitation_accept, name="invitation-accept"),
    path("access/requests/", requests.request_list, name="request-list"),
    path("access/requests/new/", requests.request_new, name="request-new"),
    path("access/requests/<int:pk>/", requests.request_detail, name="request-detail"),
    path("access/requests/<int:pk>/edit/", requests.request_edit, name="request-edit"),
    path("access/requests/<int:pk>/submit/", requests.request_submit, name="request-submit"),
    path("access/requests/<int:pk>/messages/", requests.request_message, name="request-message"),
    path(
        "access/requests/<int:pk>/ethics-approval.pdf",
        requests.request_ethics_document,
        name="request-ethics-document",
    ),
    path("access/grants/<int:pk>/", requests.grant_detail, name="grant-detail"),
    path("access/grants/<int:pk>/revoke/", requests.grant_revoke, name="grant-revoke"),
    path("access/grants/<int:pk>/renew/", requests.grant_renew, name="grant-renew"),
    path("access/grants/<int:pk>/close/", requests.grant_close, name="grant-close"),
    path("access/committee/", committee.committee_queue, name="committee-queue"),
    path("access/committee/<int:pk>/", committee.committee_request, name="committee-request"),
    path("access/committee/<int:pk>/review/", committee.committee_review, name="committee-review"),
    path(
        "access/committee/<int:pk>/messages/",
        committee.committee_message,
        name="committee-message",
    ),
]

urlpatterns: list = [*page_patterns, *download_patterns]
