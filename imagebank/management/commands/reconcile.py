"""`manage.py reconcile [--json]`: one pass of the reconciler, by hand (Celery beat runs the same
pass every RECONCILE_EVERY_SECONDS). Prints, for each kind of background work, how many items were
sent again, resumed or failed, and what still waits; exits 1 when a kind could not be reconciled
(its service is out)."""

import json

from django.core.management.base import BaseCommand, CommandError

from imagebank.reconcile import reconcile_all, work_kinds


class Command(BaseCommand):
    help = "Send again the background work whose message was lost; resume or fail dead work."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")

    def handle(self, *args, **options):
        results = reconcile_all()
        backlogs = {kind.name: kind.backlog() for kind in work_kinds()}
        if options["json"]:
            document = {
                name: {
                    **outcome,
                    "waiting": backlogs[name].count,
                    "oldest": backlogs[name].oldest.isoformat() if backlogs[name].oldest else None,
                }
                for name, outcome in results.items()
            }
            self.stdout.write(json.dumps(document, indent=2, sort_keys=True))
        else:
            for name, outcome in results.items():
                if "error" in outcome:
                    self.stdout.write(f"{name}: could not be reconciled: {outcome['error']}")
                    continue
                self.stdout.write(
                    f"{name}: {outcome['requeued']} sent again, {outcome['resumed']} resumed, "
                    f"{outcome['failed']} failed; {backlogs[name].count} waiting"
                )
        failed = sorted(name for name, outcome in results.items() if "error" in outcome)
        if failed:
            raise CommandError(f"could not reconcile: {', '.join(failed)}")
