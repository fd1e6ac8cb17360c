"""`manage.py quality_report [--site SLUG] [--case ID] [--format json|csv] [--out FILE]`: every
image's check results and duplicates (curation.reports; shape in docs/quality-checks.md)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from curation import reports
from imagebank.models import Image, Site


class Command(BaseCommand):
    help = "Write the automated checks' results, one record per image (JSON) or per check (CSV)."

    def add_arguments(self, parser):
        parser.add_argument("--site", metavar="SLUG")
        parser.add_argument("--case", type=int, metavar="ID")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--out", metavar="FILE", help="write there instead of to stdout")

    def handle(self, *args, **options):
        images = Image.objects.order_by("case_id", "display_order")
        if options["site"]:
            if not Site.objects.filter(slug=options["site"]).exists():
                raise CommandError(f"No site {options['site']!r}.")
            images = images.filter(case__site__slug=options["site"])
        if options["case"] is not None:
            images = images.filter(case_id=options["case"])
        report = reports.records(images)
        if options["format"] == "json":
            text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        else:
            text = reports.as_csv(report)
        if options["out"]:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"{len(report)} records written to {options['out']}")
        else:
            self.stdout.write(text, ending="")
