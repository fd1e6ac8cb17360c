"""A bad review setting is reported by Django's system checks, naming the setting."""

import pytest

from curation.system_checks import review_settings


def test_the_defaults_pass():
    assert review_settings() == []


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("REVIEW_CLAIM_MINUTES", 0, "curation.E001"),
        ("REVIEW_CLAIM_MINUTES", "30", "curation.E001"),
        ("REVIEWS_REQUIRED", 0, "curation.E002"),
        ("REVIEWS_REQUIRED", True, "curation.E002"),
        ("REVIEW_AGREEMENT", {"decision": "roughly"}, "curation.E003"),
        ("REVIEW_AGREEMENT", {"swede_total": {"within": -1}}, "curation.E003"),
    ],
)
def test_a_bad_setting_is_an_error_naming_it(settings, setting, value, code):
    setattr(settings, setting, value)
    errors = review_settings()
    assert [error.id for error in errors] == [code]
    assert setting in errors[0].msg
