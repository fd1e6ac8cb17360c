"""`manage.py run_checks (--case ID | --site SLUG | --all) [--force]`: run the automated checks
in this process, e.g. after thresholds change. Without --force a check already done at its
current version is skipped; with it every check runs again and its result is replaced."""

from django.core.management.base import BaseCommand, CommandError

from curation.services.checks import run_case_checks
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Site


class Command(BaseCommand):
    help = "Run the automated quality checks on cases, in this process."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--case", type=int, metavar="ID", help="one case")
        which.add_argument("--site", metavar="SLUG", help="every submitted case of a site")
        which.add_argument("--all", action="store_true", help="every submitted case")
        parser.add_argument("--force", action="store_true", help="run every check again")

    def handle(self, *args, **options):
        cases = Case.objects.select_related("site").order_by("pk")
        if options["case"] is not None:
            cases = cases.filter(pk=options["case"])
            if not cases.exists():
                raise CommandError(f"No case {options['case']}.")
        else:
            # Drafts are the contributor's: they are checked once submitted.
            cases = cases.exclude(state__in=[CaseState.DRAFT, CaseState.RETURNED])
            if options["site"]:
                if not Site.objects.filter(slug=options["site"]).exists():
                    raise CommandError(f"No site {options['site']!r}.")
                cases = cases.filter(site__slug=options["site"])
        totals = {"cases": 0, "written": 0, "skipped": 0, "errors": 0}
        for case in cases.iterator():
            outcome = run_case_checks(case, force=options["force"])
            totals["cases"] += 1
            totals["written"] += outcome.written
            totals["skipped"] += outcome.skipped
            totals["errors"] += len(outcome.errors)
            for error in outcome.errors:
                self.stderr.write(f"case {case.pk}: check {error} could not run")
        self.stdout.write(
            "{cases} cases: {written} results written, {skipped} already done, "
            "{errors} checks could not run".format(**totals)
        )
