"""The automated quality and eligibility checks (docs/quality-checks.md).

- registry: what a check is (Check, Finding) and the checks registered;
- context: what a check is given (one decode of the image at reduced resolution, its cervix
  region, the thresholds in force), built once per image and shared by every check;
- thresholds: the defaults (defaults.py) and the curators' overrides per site and device;
- image_checks, duplicate_check, case_checks: the checks themselves, registered on import.

The runner that stores their results is curation.services.checks.
"""
