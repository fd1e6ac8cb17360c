"""`manage.py create_task SLUG --release SLUG@VERSION --kind
image-classification|case-classification|segmentation --label NAME [--steps …] [--metric …]`:
a benchmark task on a published release version."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from curation.management.release_arguments import command_line_curator, version_of
from model_bench.models import TaskKind
from model_bench.services.benchmark_tasks import create_task, parse_classes


class Command(BaseCommand):
    help = "Create a benchmark task on a published release version."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--release", required=True, metavar="SLUG@VERSION")
        parser.add_argument("--kind", required=True, choices=TaskKind.values)
        parser.add_argument(
            "--label", required=True,
            help="a label of the release (classification) or a mask kind: cervix, lesion, scj",
        )  # fmt: skip
        parser.add_argument(
            "--steps", default="", help="examination steps, comma-separated (default: all)"
        )
        parser.add_argument("--metric", default="", help="the primary metric (default: auc/dice)")
        parser.add_argument(
            "--classes", default="",
            help='classes in order, the positive last, e.g. "negative,positive" or '
                 '"negative=negative,positive=positive+suspicious_for_cancer"',
        )  # fmt: skip
        parser.add_argument("--title", default="")
        parser.add_argument("--description", default="")
        parser.add_argument("--image-size", type=int, default=224)
        parser.add_argument("--as", dest="email", default=None, help="the curator's email")

    def handle(self, *args, **options):
        version = version_of(options["release"])
        classes, class_map = parse_classes(options["classes"])
        try:
            task = create_task(
                slug=options["slug"],
                version=version,
                kind=options["kind"],
                label=options["label"],
                actor=command_line_curator(options["email"]),
                title=options["title"],
                description=options["description"],
                classes=classes,
                class_map=class_map,
                steps=[s.strip() for s in options["steps"].split(",") if s.strip()],
                metric=options["metric"],
                image_size=options["image_size"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            f"Task {task.slug}: {task.get_kind_display()} of {task.label} "
            f"({', '.join(task.classes)}) on {version.label}, primary metric {task.primary_metric}."
        )
