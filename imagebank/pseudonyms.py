"""Keyed-hash pseudonyms: a site's local patient ID is turned into a stable token and discarded.

HMAC-SHA256 under PSEUDONYM_KEY, scoped by site, so the same local ID at two sites gives two
unrelated pseudonyms and nobody without the key can test a guessed ID against the bank.
"""

import hashlib
import hmac
import re

from django.conf import settings


def normalise_local_id(local_id: str) -> str:
    # Clinics write the same register number with varying case and spacing.
    return re.sub(r"\s+", "", str(local_id)).upper()


def pseudonym_for(site_slug: str, local_id: str) -> str:
    normalised = normalise_local_id(local_id)
    if not normalised:
        raise ValueError("A local patient ID is required to make a pseudonym.")
    message = f"{site_slug}\x1f{normalised}".encode()
    return hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()
