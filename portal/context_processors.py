from django.utils.functional import SimpleLazyObject

from access_requests import page_selectors as access_pages
from access_requests.roles import ACCESS_COMMITTEE, RESEARCHER
from curation.roles import REVIEWER
from imagebank import selectors
from imagebank.roles import CURATOR, user_roles

# What the navigation offers everyone, signed in or not: the public catalogue of dataset
# releases (curation.views.release_catalogue).
PUBLIC_NAVIGATION = {"releases": True}


def _navigation_for(user) -> dict[str, bool]:
    roles = user_roles(user)
    contributes = selectors.contributable_sites(user).exists()
    return {
        "contributor": contributes,
        "reviewer": REVIEWER in roles,
        "curator": CURATOR in roles or user.is_superuser,
        "access_committee": ACCESS_COMMITTEE in roles,
        "researcher": RESEARCHER in roles,
        # The access pages' links: researchers and members of groups (joining a group by
        # invitation gives no role); the committee and curators (who read its pages).
        "research_access": access_pages.uses_research_access(user),
        "access_oversight": access_pages.sees_committee_pages(user),
        **PUBLIC_NAVIGATION,
        # Case pages are for everyone whose role reaches cases; the others have nothing there.
        "cases": contributes
        or bool(roles & {REVIEWER, CURATOR})
        or user.is_superuser
        or selectors.sites_for_user(user).exists(),
    }


def navigation(request) -> dict:
    """The signed-in user's bank-wide roles and what the navigation may offer them.

    `nav` is lazy: pages that never show the navigation (file views, JSON) pay no query for it.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"bank_roles": frozenset(), "nav": PUBLIC_NAVIGATION}
    return {
        "bank_roles": user_roles(user),
        "nav": SimpleLazyObject(lambda: _navigation_for(user)),
    }
