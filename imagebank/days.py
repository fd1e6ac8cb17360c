"""Days as the bank's pages and exports take them: strictly YYYY-MM-DD, counted in UTC."""

import re
from datetime import UTC, date, datetime, time

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date(text: str) -> date | None:
    """The day `text` names, or None. fromisoformat alone also takes "20250131" and week dates;
    the pages and exports promise YYYY-MM-DD."""
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2025-02-30
        return None


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of `day`, as the stored times are."""
    return datetime.combine(day, time.min, tzinfo=UTC)
