"""The case-package format's name and version, and the limits on what one manifest may list.

Limits keep a hostile or mistaken manifest from tying up a worker; docs/formats lists them, and
the JSON schema repeats them (tests check that the two agree).
"""

FORMAT_NAME = "cervical-image-bank/case-package"
VERSION = 1
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
MAX_CASES = 10_000
MAX_IMAGES = 50_000  # images in one manifest: CSV data rows
MAX_IMAGES_PER_CASE = 200
MAX_IDENTIFIER_LENGTH = 100  # case_id and local_patient_id: the schema's "identifier"
