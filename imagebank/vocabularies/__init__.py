"""Every controlled vocabulary of the bank, each built from the published list it names.

- examination steps: the IARC colposcopy and VIA manuals (2003, 2017) — `examination.py`;
- HPV result: the WHO 2021 screening guideline (partial genotyping); cytology: the Bethesda
  System 2014 (Nayar & Wilbur, 3rd ed. 2015) — `screening_tests.py`;
- general assessment; normal, abnormal (grade 1, grade 2, non-specific, suspicious for invasion)
  and miscellaneous findings; lesion position and size: the IFCPC 2011 colposcopic terminology of
  the cervix (Bornstein et al. 2012) — `ifcpc2011.py`;
- the Swede score, its descriptors and points: Strander et al. 2005 — `swede.py`;
- VIA result, acetowhite area, SCJ location, ablation eligibility: IARC Technical Publication 41
  (2003), the IARC VIA image bank, WHO 2013 and 2021 — `via.py`;
- colposcopic impression and management: the IARC manuals, LAST 2012, WHO 2021 —
  `colposcopic_impression.py`;
- histopathology of the cervix, vagina and vulva, and its ordered grade: LAST (Darragh et al.
  2012) and the WHO Classification of Female Genital Tumours 2020 — `histopathology.py`.

Each vocabulary also names its source in `Vocabulary.source`.
`terms.py` holds the machinery (terms, vocabularies, token matching, spotting terms inside longer
text); `readings.py` reads composite values. Import this package, not its modules:
`from imagebank import vocabularies as vocab`.
"""

from .colposcopic_impression import MANAGEMENT, PROVISIONAL_DIAGNOSIS
from .examination import (
    CLINICAL_SETTING,
    EXAMINATION_STEP,
    SCREENING_CONTEXT,
    SOURCE_FORMAT,
    STEP_ORDER,
)
from .histopathology import (
    GRADE_RANK,
    HISTOPATHOLOGY,
    HISTOPATHOLOGY_GRADE,
    HISTOPATHOLOGY_OTHER_SITES,
)
from .ifcpc2011 import (
    ADEQUACY,
    FINDING_LISTS,
    GRADE_1_FINDINGS,
    GRADE_2_FINDINGS,
    INADEQUACY_REASON,
    LESION_EXTENT,
    LESION_LOCATION,
    MISCELLANEOUS_FINDINGS,
    NON_SPECIFIC_FINDINGS,
    NORMAL_FINDINGS,
    SCJ_VISIBILITY,
    SUSPICIOUS_FOR_INVASION_FINDINGS,
    TRANSFORMATION_ZONE,
)
from .readings import Reading, read, read_finding_column
from .screening_tests import CYTOLOGY, HPV_RESULT
from .swede import (
    SWEDE_ACETO_UPTAKE,
    SWEDE_COMPONENTS,
    SWEDE_IODINE_UPTAKE,
    SWEDE_LESION_SIZE,
    SWEDE_MARGINS,
    SWEDE_MAX,
    SWEDE_NOT_ASSESSABLE_SENTINELS,
    SWEDE_VESSELS,
)
from .terms import Found, Term, Vocabulary, normalise_wording, tokens, vocabulary, wording_key
from .via import (
    ABLATION_ELIGIBILITY,
    ACETOWHITE_AREA,
    ACETOWHITE_COLOUR,
    ACETOWHITE_LOCATION,
    ACETOWHITE_MARGIN,
    ACETOWHITE_SIZE,
    ACETOWHITE_SURFACE,
    SCJ_LOCATION,
    VIA_RESULT,
)

# Every field holding a list of codes, keyed by field name.
CODE_LISTS = {**FINDING_LISTS, "histopathology_other_sites": HISTOPATHOLOGY_OTHER_SITES}

__all__ = [
    "ABLATION_ELIGIBILITY",
    "ACETOWHITE_AREA",
    "ACETOWHITE_COLOUR",
    "ACETOWHITE_LOCATION",
    "ACETOWHITE_MARGIN",
    "ACETOWHITE_SIZE",
    "ACETOWHITE_SURFACE",
    "ADEQUACY",
    "CLINICAL_SETTING",
    "CODE_LISTS",
    "CYTOLOGY",
    "EXAMINATION_STEP",
    "FINDING_LISTS",
    "Found",
    "GRADE_1_FINDINGS",
    "GRADE_2_FINDINGS",
    "GRADE_RANK",
    "HISTOPATHOLOGY",
    "HISTOPATHOLOGY_GRADE",
    "HISTOPATHOLOGY_OTHER_SITES",
    "HPV_RESULT",
    "INADEQUACY_REASON",
    "LESION_EXTENT",
    "LESION_LOCATION",
    "MANAGEMENT",
    "MISCELLANEOUS_FINDINGS",
    "NON_SPECIFIC_FINDINGS",
    "NORMAL_FINDINGS",
    "PROVISIONAL_DIAGNOSIS",
    "Reading",
    "SCJ_LOCATION",
    "SCJ_VISIBILITY",
    "SCREENING_CONTEXT",
    "SOURCE_FORMAT",
    "STEP_ORDER",
    "SUSPICIOUS_FOR_INVASION_FINDINGS",
    "SWEDE_ACETO_UPTAKE",
    "SWEDE_COMPONENTS",
    "SWEDE_IODINE_UPTAKE",
    "SWEDE_LESION_SIZE",
    "SWEDE_MARGINS",
    "SWEDE_MAX",
    "SWEDE_NOT_ASSESSABLE_SENTINELS",
    "SWEDE_VESSELS",
    "TRANSFORMATION_ZONE",
    "Term",
    "VIA_RESULT",
    "Vocabulary",
    "normalise_wording",
    "read",
    "read_finding_column",
    "tokens",
    "vocabulary",
    "wording_key",
]
