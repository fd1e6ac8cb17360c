# A short random display code per subject, shown instead of any part of the pseudonym.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("imagebank", "0004_api_tokens")]

    operations = []
