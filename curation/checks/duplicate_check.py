"""`duplicate`: is this image already in the bank, exactly or nearly? (docs/near-duplicates.md)

Exact: another image whose file as received or as stored has the same SHA-256 as this one's.
Near: another image whose perceptual hash is within `near_radius` bits of this one's. Anywhere
in the bank, other sites included. An exact copy fails (the same file twice can never be two
observations); a near one warns (a re-encoded, resized or marked copy, or, rarely, two frames of
one examination taken a moment apart: the reviewer looks at both).
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation import fingerprints
from curation.checks import thresholds
from curation.checks.context import ImageContext
from curation.checks.registry import Check, Finding, register
from imagebank.models import Image

NAME = "duplicate"
# The matches named in the sentence; every one is in extra["matches"].
NAMED = 5


def bank_radius() -> int:
    """The near radius in force for the whole bank (a curator's bank-wide value, or the
    default): what `similar` and the API look files up with."""
    return int(thresholds.resolve(NAME, site=None)["near_radius"])


def _named(matches: list[fingerprints.Match]) -> str:
    names = [
        _("image %(image)s of case %(case)s (%(site)s)")
        % {"image": m.image, "case": m.case, "site": m.site}
        for m in matches[:NAMED]
    ]
    if len(matches) > NAMED:
        names.append(_("and %(count)s more") % {"count": len(matches) - NAMED})
    return "; ".join(names)


def duplicate(ctx: ImageContext) -> Finding:
    radius = int(ctx.thresholds(NAME)["near_radius"])
    image = ctx.image
    # The case's other images first, so that two copies within one case find each other
    # whichever is checked first (the rest of the bank is indexed as its cases are checked).
    fingerprints.index_missing(
        images=Image.objects.filter(case_id=image.case_id).exclude(pk=image.pk)
    )
    matches = fingerprints.matches_for_image(image, ctx.data, radius=radius)
    extra = {"matches": [m.as_dict() for m in matches]}
    if not matches:
        return Finding(
            verdict="pass",
            detail=_("No copy of this image, exact or near, is in the bank."),
            value=None,
            threshold=radius,
            extra=extra,
        )
    exact = [m for m in matches if m.kind == fingerprints.EXACT]
    near = [m for m in matches if m.kind == fingerprints.NEAR]
    sentences = []
    if exact:
        sentences.append(
            _("The same file is already in the bank: %(images)s.") % {"images": _named(exact)}
        )
    if near:
        sentences.append(
            _(
                "Looks like %(images)s (a difference of %(distance)s in the perceptual hash; "
                "%(radius)s or less counts as a near copy)."
            )
            % {"images": _named(near), "distance": near[0].distance, "radius": radius}
        )
    return Finding(
        verdict="fail" if exact else "warn",
        detail=" ".join(sentences),
        value=min(m.distance for m in matches),
        threshold=radius,
        extra=extra,
    )


register(
    Check(
        name=NAME,
        version="1",
        level="image",
        run=duplicate,
        label=gettext_lazy("Duplicate"),
    )
)
