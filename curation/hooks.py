"""Extension points of curation for the apps above it, which it must not import.

`release_published` is sent after the commit of a release version's publication (kwargs:
version): access_requests extends the grants that cover "and later versions" of its release.
"""

from django.dispatch import Signal

release_published = Signal()  # kwargs: version
