"""Second factors for tests: set TOTP up for a user, and the code their authenticator shows now."""

import time

from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)


def with_totp(user) -> str:
    """Activate a TOTP authenticator for the user; its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def current_code(secret: str) -> str:
    """The six-digit code of the current 30-second window."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))
