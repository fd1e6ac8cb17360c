"""Migrations that carry data: cases already in a bank get what later code derives."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("imagebank", "0002_ingest_runs_via_acetowhite_burned_in")]
AFTER = [("imagebank", "0003_coded_terminologies_references_steps_requirements")]


@pytest.mark.django_db(transaction=True)
def test_cases_already_in_the_bank_get_the_grade_of_their_histopathology():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Group = old.get_model("auth", "Group")
    User = old.get_model("imagebank", "User")
    Site = old.get_model("imagebank", "Site")
    Subject = old.get_model("imagebank", "Subject")
    Case = old.get_model("imagebank", "Case")
    site = Site.objects.create(
        slug="old",
        name="Old",
        country="KE",
        clinical_setting="district_hospital",
        contributors_group=Group.objects.create(name="old-contributors"),
    )
    user = User.objects.create(email="old@example.org")
    codes = ["cin3", "scc", "not_done", "cervicitis", ""]
    for index, code in enumerate(codes):
        subject = Subject.objects.create(site=site, pseudonym=f"{index:064d}")
        Case.objects.create(site=site, subject=subject, created_by=user, histopathology=code)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("imagebank", "Case")
    grades = dict(new.objects.values_list("histopathology", "histopathology_grade"))
    assert grades == {
        "cin3": "hsil_cin3",
        "scc": "cancer",
        "not_done": "not_done",
        "cervicitis": "normal",
        "": "",
    }

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
