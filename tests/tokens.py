"""API tokens for tests: one call that gives a user a working token, whatever the token model.

The token work (issue 8, items 4-5) replaces this body; the signature stays.
"""

from rest_framework.authtoken.models import Token


def token_for(user) -> str:
    """A raw API key the user can send as `Authorization: Token <key>`."""
    token, _created = Token.objects.get_or_create(user=user)
    return token.key
