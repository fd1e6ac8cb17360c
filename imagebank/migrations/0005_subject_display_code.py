# A short random display code per subject, shown instead of any part of the pseudonym.
#
# The column is added empty, every subject already in the bank gets a random code (unique within
# its site), and only then do the unique and format constraints go on.
import secrets

from django.db import migrations, models

import imagebank.models.sites

# Kept here rather than imported, so that this migration means the same thing however the model
# module changes later.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_LENGTH = 8


def _fill_display_codes(apps, schema_editor):
    Subject = apps.get_model("imagebank", "Subject")
    site_ids = Subject.objects.values_list("site_id", flat=True).distinct().order_by("site_id")
    for site_id in site_ids:
        used: set[str] = set()
        subjects = list(Subject.objects.filter(site_id=site_id).only("pk").order_by("pk"))
        for subject in subjects:
            code = ""
            while not code or code in used:
                code = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
            used.add(code)
            subject.display_code = code
        Subject.objects.bulk_update(subjects, ["display_code"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("imagebank", "0004_api_tokens")]

    operations = [
        migrations.AddField(
            model_name="subject",
            name="display_code",
            field=models.CharField(
                default="",
                editable=False,
                help_text="A random code for the subject, unique within the site.",
                max_length=8,
                verbose_name="subject code",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(_fill_display_codes, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="subject",
            name="display_code",
            field=models.CharField(
                default=imagebank.models.sites.new_display_code,
                editable=False,
                help_text="A random code for the subject, unique within the site.",
                max_length=8,
                verbose_name="subject code",
            ),
        ),
        migrations.AddConstraint(
            model_name="subject",
            constraint=models.UniqueConstraint(
                fields=("site", "display_code"), name="subject_display_code_per_site"
            ),
        ),
        migrations.AddConstraint(
            model_name="subject",
            constraint=models.CheckConstraint(
                condition=models.Q(display_code__regex="^[2-9A-HJKMNP-Z]{8}$"),
                name="subject_display_code_format",
            ),
        ),
    ]
