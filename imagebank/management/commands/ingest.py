"""`manage.py ingest PATH [PATH …] --site SLUG [--report report.json] [--user EMAIL]`."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from imagebank.ingest.runs import importer_for, run_ingest
from imagebank.models import Site


class Command(BaseCommand):
    help = (
        "Import IARC image-bank folders, case packages, DICOM files or images (files, folders or "
        "ZIPs; the format of each path is detected) into a site."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--site", required=True, help="the site's short name (slug)")
        parser.add_argument("--report", type=Path, help="write the JSON report here")
        parser.add_argument(
            "--user", help="act as this contributor (default: the data-import account)"
        )
        parser.add_argument(
            "--submit",
            action="store_true",
            help="submit every imported case for review (its checks, then the review queue)",
        )

    def handle(self, *args, paths, site, report, user, submit=False, **options):
        try:
            site_obj = Site.objects.get(slug=site)
        except Site.DoesNotExist as error:
            raise CommandError(
                f"No site '{site}'. Create it with: "
                f"manage.py create_site {site} --name NAME --country CODE"
            ) from error
        if user:
            try:
                actor = get_user_model().objects.get(email=user)
            except get_user_model().DoesNotExist as error:
                raise CommandError(f"No user {user}.") from error
        else:
            actor = importer_for(site_obj)
        run = run_ingest(site=site_obj, actor=actor, paths=paths, submit=submit)
        if report:
            report.write_text(_json(run.report), encoding="utf-8")
        self._print(run.report)
        if run.summary.get("errors"):
            self.stdout.write(self.style.WARNING("Finished with errors: see the report."))

    def _print(self, report: dict) -> None:
        for problem in report["problems"]:
            where = " ".join(
                filter(
                    None,
                    [
                        problem.get("source", ""),
                        problem["case"],
                        problem["file"],
                        f"row {problem['row']}" if problem["row"] else "",
                        problem["field"],
                    ],
                )
            )
            self.stdout.write(f"{problem['level'].upper():8} {where}: {problem['message']}")
        summary = report["summary"]
        self.stdout.write(
            self.style.SUCCESS(
                "Cases: {cases_created} created, {cases_updated} given new images, "
                "{cases_unchanged} already in the bank, "
                "{cases_rejected} not imported, {cases_submitted} submitted for review. "
                "Images: {images_added} added, "
                "{images_already_in_bank} already in the bank, {images_left_out} left out. "
                "{errors} errors, {warnings} warnings.".format(**summary)
            )
        )


def _json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
