"""What access_requests does when something happens elsewhere: a new sign-up becomes a researcher;
a newly published release version is given to the grants that cover "and later versions"; and
curation.hooks asks it through which groups' grants a user holds a version (grant_holders).

Open sign-up (imagebank.adapters decides whether it is open) gives nothing but a researcher
account; the researcher then requests access to a release. The role is this app's, so the step
lives here, connected to allauth's `user_signed_up` in AccessRequestsConfig.ready(): the core
never imports access_requests.
"""

from access_requests.roles import RESEARCHER
from imagebank.services.sites import grant_role


def make_new_sign_up_a_researcher(sender, request, user, **kwargs) -> None:
    grant_role(user=user, role=RESEARCHER)


def extend_grants_to_a_new_version(sender, version, **kwargs) -> None:
    """curation.hooks.release_published: the grants of earlier versions of the same release that
    say "and later versions" get the new one."""
    from access_requests.services.grants import cover_later_versions

    cover_later_versions(version)


def grant_holders(user, version) -> list:
    """curation.hooks.grant_holders: the research groups through whose live grant, naming
    `user` as an accessor, the user may download `version` now (nothing when they may not)."""
    from access_requests.request_selectors import live_grants
    from access_requests.services.grants import can_download, covering
    from curation.hooks import GrantHolder

    if not can_download(user, version):
        return []
    grants = live_grants().filter(accessors=user, auth_group__user=user).filter(covering(version))
    groups = {grant.group_id: grant.group.name for grant in grants.select_related("group")}
    return [GrantHolder(key=f"research-group:{pk}", name=name) for pk, name in groups.items()]
