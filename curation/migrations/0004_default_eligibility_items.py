"""The bank's default eligibility checklist (curators change it afterwards). Labels are stored in
English, the source language; the review screen shows the translation of a default item's label
(curation.eligibility.DEFAULT_ITEMS) and a curator's own wording as written."""

from django.db import migrations

DEFAULT_ITEMS = [
    # (code, label, prefill, position)
    (
        "consent",
        "Research consent attested by the contributor, or covered by the site's data-sharing "
        "agreement (retrospective import)",
        "consent",
        10,
    ),
    (
        "core_steps_usable",
        "Before acetic acid, after acetic acid and after Lugol's iodine present and usable",
        "sequence",
        20,
    ),
    (
        "tz_or_scj_seen",
        "The whole transformation zone or the squamocolumnar junction seen in at least one "
        "usable image",
        "",
        30,
    ),
    ("cervix_in_view", "The cervix fully in view", "framing", 40),
    (
        "histology_or_reason",
        "Histopathology, or a reason for its absence, where the impression is abnormal",
        "histology",
        50,
    ),
]


def add_items(apps, schema_editor):
    EligibilityItem = apps.get_model("curation", "EligibilityItem")
    for code, label, prefill, position in DEFAULT_ITEMS:
        EligibilityItem.objects.get_or_create(
            code=code,
            defaults={"label": label, "prefill": prefill, "position": position, "required": True},
        )


def remove_items(apps, schema_editor):
    EligibilityItem = apps.get_model("curation", "EligibilityItem")
    EligibilityItem.objects.filter(code__in=[item[0] for item in DEFAULT_ITEMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("curation", "0003_reviews")]

    operations = [migrations.RunPython(add_items, remove_items)]
