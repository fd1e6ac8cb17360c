"""API tokens for tests: one call that gives a user a working token, whatever their role.

The token is marked as issued after a second factor, so it works for curators, committee members
and superusers too (the tests of that rule itself, tests/imagebank/test_tokens.py, issue tokens
with and without it).
"""

from imagebank.services.tokens import issue_token


def token_for(user) -> str:
    """A raw API key the user can send as `Authorization: Token <key>`."""
    return issue_token(owner=user, name="test token", second_factor=True).raw_key
