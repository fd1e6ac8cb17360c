"""Extension points of curation for the apps above it, which it must not import.

`release_published` is sent after the commit of a release version's publication (kwargs:
version): access_requests extends the grants that cover "and later versions" of its release.

`grant_holders(user, version)` tells through which research groups' live grants a user holds a
version; access_requests registers the lookup (`register_grant_holders`), model_bench asks it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.dispatch import Signal

release_published = Signal()  # kwargs: version


# --- who holds a grant on a version -------------------------------------------------------------
# The apps that grant access (access_requests) register how to tell, for a user and a published
# version, the research groups through whose live grant the user holds it. model_bench asks it
# before a submission counts, without importing access_requests (the two are independent). With
# nothing registered nobody holds a grant: the question fails closed.


@dataclass(frozen=True)
class GrantHolder:
    """A research group through which a user holds a version: `key` stays the same for the
    group for ever (what limits and leaderboards count by), `name` is for display."""

    key: str
    name: str


_grant_holder_lookups: list[Callable] = []


def register_grant_holders(lookup: Callable) -> None:
    """`lookup(user, version) -> list[GrantHolder]`; registering the same function twice is a
    no-op (ready() may run more than once in tests)."""
    if lookup not in _grant_holder_lookups:
        _grant_holder_lookups.append(lookup)


def grant_holders(user, version) -> list[GrantHolder]:
    """The groups through whose live grant `user` holds `version` now, in a stable order."""
    found: dict[str, GrantHolder] = {}
    for lookup in _grant_holder_lookups:
        for holder in lookup(user, version):
            found.setdefault(holder.key, holder)
    return sorted(found.values(), key=lambda holder: holder.key)
