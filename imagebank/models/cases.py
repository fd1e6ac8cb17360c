from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from imagebank import vocabularies as vocab
from imagebank.lifecycle import EDITABLE_STATES, CaseState

from .constraints import choice_constraint
from .sites import Site, Subject

MIN_AGE, MAX_AGE = 10, 100


def coded(vocabulary: vocab.Vocabulary, verbose_name: str, **kwargs) -> models.CharField:
    return models.CharField(
        verbose_name, max_length=40, choices=vocabulary.choices, blank=True, **kwargs
    )


# Coded single-value fields of a case and their vocabularies; the constraints and the API use it.
CODED_FIELDS: dict[str, vocab.Vocabulary] = {
    "screening_context": vocab.SCREENING_CONTEXT,
    "hpv_result": vocab.HPV_RESULT,
    "cytology": vocab.CYTOLOGY,
    "adequacy": vocab.ADEQUACY,
    "inadequacy_reason": vocab.INADEQUACY_REASON,
    "scj_visibility": vocab.SCJ_VISIBILITY,
    "scj_location": vocab.SCJ_LOCATION,
    "transformation_zone": vocab.TRANSFORMATION_ZONE,
    "lesion_location": vocab.LESION_LOCATION,
    "lesion_extent": vocab.LESION_EXTENT,
    **vocab.SWEDE_COMPONENTS,
    "via_result": vocab.VIA_RESULT,
    "acetowhite_area": vocab.ACETOWHITE_AREA,
    "acetowhite_colour": vocab.ACETOWHITE_COLOUR,
    "acetowhite_margin": vocab.ACETOWHITE_MARGIN,
    "acetowhite_surface": vocab.ACETOWHITE_SURFACE,
    "acetowhite_location": vocab.ACETOWHITE_LOCATION,
    "acetowhite_size": vocab.ACETOWHITE_SIZE,
    "ablation_eligibility": vocab.ABLATION_ELIGIBILITY,
    "provisional_diagnosis": vocab.PROVISIONAL_DIAGNOSIS,
    "management": vocab.MANAGEMENT,
    "histopathology": vocab.HISTOPATHOLOGY,
    "histopathology_grade": vocab.HISTOPATHOLOGY_GRADE,
}

# Worked out by the services (imagebank.services.cases) from other fields, never given.
DERIVED_FIELDS = ("histopathology_grade",)
# The metadata a contributor gives and may edit while the case is in their hands.
CLINICAL_FIELDS = (
    "age_at_exam",
    "exam_year",
    *(field for field in CODED_FIELDS if field not in DERIVED_FIELDS),
    *vocab.CODE_LISTS,
    "lesion_clock_positions",
    "lesion_quadrants",
    "swede_total",
    "swede_not_assessable",
    "provisional_diagnosis_text",
    "management_text",
    "histopathology_text",
    "notes",
)


# On what basis the subject's images may be used for research (the bank's own list: the
# eligibility checklist's `consent` item reads it). Never a consent form or any text about the
# subject: only the basis, and for an attestation who gave it and when.
CONSENT_ATTESTED = "attested"
CONSENT_SITE_AGREEMENT = "site_agreement"
CONSENT_BASIS = vocab.vocabulary(
    "consent_basis",
    vocab.Term(
        CONSENT_ATTESTED,
        _("Attested by the contributor (informed consent for research use)"),
    ),
    vocab.Term(
        CONSENT_SITE_AGREEMENT,
        _("Covered by the site's data-sharing agreement (retrospective collection)"),
    ),
)


# Features of the acetowhite area seen at VIA: given only when the area is present.
ACETOWHITE_FEATURES = (
    "acetowhite_colour",
    "acetowhite_margin",
    "acetowhite_surface",
    "acetowhite_location",
    "acetowhite_size",
)


class Case(models.Model):
    """One examination visit of one subject at one site, with its clinical metadata.

    Clinical terms follow the IFCPC 2011 colposcopic terminology; coded fields hold vocabulary codes
    (see imagebank.vocabularies) and database constraints keep them there.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cases")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="cases")
    state = models.CharField(
        _("state"), max_length=20, choices=CaseState.choices, default=CaseState.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_cases"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # While the case is submitted or in its checks: when the checks' task was last sent (None: to
    # be sent). The reconciler sends it again when it is overdue (docs/deployment.md).
    checks_queued_at = models.DateTimeField(null=True, blank=True)
    source_reference = models.CharField(
        _("case reference at the source"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_(
            "The contributor's own name for the case (e.g. “Case 002” of an export); never a "
            "patient ID."
        ),
    )

    # The visit
    age_at_exam = models.PositiveSmallIntegerField(
        _("age at examination (years)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_AGE), MaxValueValidator(MAX_AGE)],
    )
    exam_year = models.PositiveSmallIntegerField(
        _("year of examination"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1990), MaxValueValidator(2100)],
        help_text=_("Only the year is kept: full dates can identify a patient."),
    )
    screening_context = coded(vocab.SCREENING_CONTEXT, _("screening context"))
    hpv_result = coded(vocab.HPV_RESULT, _("HPV result"))
    cytology = coded(vocab.CYTOLOGY, _("cytology (Bethesda)"))

    # IFCPC 2011: general assessment
    adequacy = coded(vocab.ADEQUACY, _("adequacy"))
    inadequacy_reason = coded(vocab.INADEQUACY_REASON, _("reason for inadequacy"))
    scj_visibility = coded(vocab.SCJ_VISIBILITY, _("squamocolumnar junction visibility"))
    scj_location = coded(vocab.SCJ_LOCATION, _("squamocolumnar junction location"))
    transformation_zone = coded(vocab.TRANSFORMATION_ZONE, _("transformation zone type"))

    # IFCPC 2011: findings, each a list of vocabulary codes
    normal_findings = models.JSONField(_("normal findings"), default=list, blank=True)
    grade_1_findings = models.JSONField(_("grade 1 (minor) findings"), default=list, blank=True)
    grade_2_findings = models.JSONField(_("grade 2 (major) findings"), default=list, blank=True)
    non_specific_findings = models.JSONField(_("non-specific findings"), default=list, blank=True)
    suspicious_for_invasion_findings = models.JSONField(
        _("suspicious for invasion"), default=list, blank=True
    )
    miscellaneous_findings = models.JSONField(_("miscellaneous findings"), default=list, blank=True)

    # IFCPC 2011: lesion position and size
    lesion_location = coded(vocab.LESION_LOCATION, _("lesion location"))
    lesion_clock_positions = models.JSONField(
        _("lesion clock positions"), default=list, blank=True, help_text=_("Hours 1-12")
    )
    lesion_quadrants = models.PositiveSmallIntegerField(
        _("quadrants involved"), null=True, blank=True, validators=[MaxValueValidator(4)]
    )
    # xgettext:no-python-format (a percentage, not a placeholder)
    lesion_extent = coded(vocab.LESION_EXTENT, _("lesion extent (% of cervix)"))

    # Swede score
    swede_aceto_uptake = coded(vocab.SWEDE_ACETO_UPTAKE, _("Swede: aceto uptake"))
    swede_margins = coded(vocab.SWEDE_MARGINS, _("Swede: margins / surface"))
    swede_vessels = coded(vocab.SWEDE_VESSELS, _("Swede: vessels"))
    swede_lesion_size = coded(vocab.SWEDE_LESION_SIZE, _("Swede: lesion size"))
    swede_iodine_uptake = coded(vocab.SWEDE_IODINE_UPTAKE, _("Swede: iodine staining"))
    swede_total = models.PositiveSmallIntegerField(
        _("Swede score"), null=True, blank=True, validators=[MaxValueValidator(vocab.SWEDE_MAX)]
    )
    swede_not_assessable = models.BooleanField(_("Swede score not assessable"), default=False)

    # Outcome
    via_result = coded(vocab.VIA_RESULT, _("VIA result"))
    # VIA: the acetowhite area, its features given only when it is present
    acetowhite_area = coded(vocab.ACETOWHITE_AREA, _("acetowhite area"))
    acetowhite_colour = coded(vocab.ACETOWHITE_COLOUR, _("acetowhite area: colour"))
    acetowhite_margin = coded(vocab.ACETOWHITE_MARGIN, _("acetowhite area: margin"))
    acetowhite_surface = coded(vocab.ACETOWHITE_SURFACE, _("acetowhite area: surface"))
    acetowhite_location = coded(vocab.ACETOWHITE_LOCATION, _("acetowhite area: location"))
    acetowhite_size = coded(vocab.ACETOWHITE_SIZE, _("acetowhite area: size"))
    ablation_eligibility = coded(vocab.ABLATION_ELIGIBILITY, _("eligibility for ablation"))
    provisional_diagnosis = coded(vocab.PROVISIONAL_DIAGNOSIS, _("provisional diagnosis"))
    provisional_diagnosis_text = models.CharField(
        _("provisional diagnosis as written"), max_length=500, blank=True
    )
    management = coded(vocab.MANAGEMENT, _("management"))
    management_text = models.CharField(_("management as written"), max_length=500, blank=True)
    histopathology = coded(vocab.HISTOPATHOLOGY, _("histopathology"))
    histopathology_text = models.CharField(
        _("histopathology as written"), max_length=500, blank=True
    )
    # Derived from `histopathology` by the services: the ordered grade benchmark tasks query.
    histopathology_grade = coded(vocab.HISTOPATHOLOGY_GRADE, _("histopathology grade"))
    histopathology_other_sites = models.JSONField(
        _("histopathology of the vagina and vulva"), default=list, blank=True
    )
    notes = models.TextField(_("notes"), blank=True, max_length=5000)

    # Research consent: written by imagebank.services.consent only, never given as metadata.
    consent_basis = coded(CONSENT_BASIS, _("research consent"))
    consent_attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consent_attestations",
        verbose_name=_("consent attested by"),
    )
    consent_attested_at = models.DateTimeField(_("consent attested at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["site", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=CaseState.values), name="case_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(age_at_exam__isnull=True)
                | Q(age_at_exam__gte=MIN_AGE, age_at_exam__lte=MAX_AGE),
                name="case_age_in_range",
            ),
            models.CheckConstraint(
                condition=Q(swede_total__isnull=True) | Q(swede_total__lte=vocab.SWEDE_MAX),
                name="case_swede_total_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(swede_not_assessable=True, swede_total__isnull=False),
                name="case_swede_total_or_not_assessable",
            ),
            models.CheckConstraint(
                condition=Q(lesion_quadrants__isnull=True) | Q(lesion_quadrants__lte=4),
                name="case_quadrants_in_range",
            ),
            models.CheckConstraint(
                condition=Q(inadequacy_reason="") | Q(adequacy="inadequate"),
                name="case_inadequacy_reason_only_if_inadequate",
            ),
            models.CheckConstraint(
                condition=~Q(acetowhite_area="absent")
                | Q(**{field: "" for field in ACETOWHITE_FEATURES}),
                name="case_acetowhite_features_only_if_present",
            ),
            models.CheckConstraint(
                condition=Q(state=CaseState.DRAFT) | Q(submitted_at__isnull=False),
                name="case_submitted_at_once_submitted",
            ),
            *[choice_constraint(field, vocabulary) for field, vocabulary in CODED_FIELDS.items()],
            choice_constraint("consent_basis", CONSENT_BASIS),
            # Who attested and when go with an attestation, and only with one.
            models.CheckConstraint(
                condition=Q(
                    consent_basis=CONSENT_ATTESTED,
                    consent_attested_by__isnull=False,
                    consent_attested_at__isnull=False,
                )
                | (
                    ~Q(consent_basis=CONSENT_ATTESTED)
                    & Q(consent_attested_by__isnull=True, consent_attested_at__isnull=True)
                ),
                name="case_consent_attestation_has_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        return _("Case %(number)s") % {"number": self.pk}

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def consent_attested(self) -> bool:
        """Whether the contributor attested the subject's informed consent for research use."""
        return self.consent_basis == CONSENT_ATTESTED

    def swede_points(self) -> int | None:
        """The Swede total computed from its components, or None unless all five are given."""
        points = [
            vocabulary.score(getattr(self, field))
            for field, vocabulary in vocab.SWEDE_COMPONENTS.items()
        ]
        return None if None in points else sum(points)


class CaseEvent(models.Model):
    """The audit trail: every transition and every edit of a case, append-only."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        TRANSITION = "transition", _("State changed")
        EDITED = "edited", _("Metadata edited")
        IMAGE_ADDED = "image_added", _("Image added")
        IMAGE_REMOVED = "image_removed", _("Image removed")
        IMAGES_ARRANGED = "images_arranged", _("Image steps or order changed")
        # Written by the review app above the core (claims, flags, outlines, decisions,
        # adjudication); `changes["action"]` says which. Blinded: shown only to curators and to
        # the event's actor (imagebank.views.case_page).
        REVIEW = "review", _("Review activity")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty when the system acted (a background task)."),
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_state = models.CharField(max_length=20, choices=CaseState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=CaseState.choices, blank=True)
    reason = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="transition") | (~Q(from_state="") & ~Q(to_state="")),
                name="caseevent_transition_has_states",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
