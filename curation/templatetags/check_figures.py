"""`figure`: a check's measured value or threshold as people read it (four significant digits,
the active language's decimal mark), "—" when there is none."""

from decimal import Decimal

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def figure(value) -> str:
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{number:.0f}" if abs(number) >= 10_000 else f"{number:.4g}"
    return formats.number_format(Decimal(text))
