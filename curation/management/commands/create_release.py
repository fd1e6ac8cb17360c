"""`manage.py create_release SLUG --title T --version 1.0.0 [--site S …] [--labels L,…]
[--splits 0.7,0.1,0.2] [--seed N] [--publish]`: define a release version, build it in this
process and print its counts (docs/releases.md). Without --site it takes every accepted case;
without --labels every active label definition."""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from curation.management.release_arguments import command_line_curator
from curation.models import Release
from curation.services import releases


def _fractions(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError as error:
        raise CommandError(
            f"--splits takes three numbers, e.g. 0.7,0.1,0.2 (not {text!r})."
        ) from error


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return "; ".join(error.messages)


class Command(BaseCommand):
    help = "Define a dataset release version, build it in this process and print its counts."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version is the release's version (the interface the docs give), not Django's.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument(
            "slug", help="the release's short name (a new one, or an existing release)"
        )
        parser.add_argument("--title", help="the release's title (required for a new release)")
        parser.add_argument("--version", required=True, help="a semantic version, e.g. 1.0.0")
        parser.add_argument(
            "--site",
            action="append",
            default=[],
            metavar="S",
            help="take only this site's accepted cases (repeatable)",
        )
        parser.add_argument(
            "--labels",
            default="",
            metavar="L,…",
            help="the label definitions it carries (default: every active one)",
        )
        parser.add_argument("--splits", default="0.7,0.1,0.2", metavar="TRAIN,VAL,TEST")
        parser.add_argument("--seed", type=int, help="the split's seed (default: drawn, recorded)")
        parser.add_argument("--description", default="", help="the version's description")
        parser.add_argument("--licence", default="CC BY-NC 4.0", help="the licence's name")
        parser.add_argument(
            "--licence-url", default="https://creativecommons.org/licenses/by-nc/4.0/"
        )
        parser.add_argument("--citation", default="", help="how to cite it")
        parser.add_argument(
            "--user", help="act as this curator (default: the command line's account)"
        )
        parser.add_argument("--publish", action="store_true", help="publish it once built")
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args, **options):
        actor = command_line_curator(options["user"])
        slug = options["slug"]
        labels = [name.strip() for name in options["labels"].split(",") if name.strip()]
        try:
            with transaction.atomic():
                release = Release.objects.filter(slug=slug).first()
                if release is None:
                    if not options["title"]:
                        raise CommandError(f"No release {slug!r} yet: give its --title.")
                    release = releases.create_release(
                        slug=slug, title=options["title"], actor=actor
                    )
                title = release.title
                version = releases.define_version(
                    release=release,
                    actor=actor,
                    version=options["version"],
                    description=options["description"] or f"{title}, version {options['version']}.",
                    licence_name=options["licence"],
                    licence_url=options["licence_url"],
                    citation=options["citation"]
                    or f"Cervical Image Bank. {title}, version {options['version']}.",
                    selection={"sites": options["site"]} if options["site"] else {},
                    label_names=labels or None,
                    fractions=_fractions(options["splits"]),
                    seed=options["seed"],
                )
            version = releases.build_now(version, actor=actor)
            if options["publish"]:
                version = releases.publish(version, actor=actor)
        except ValidationError as error:
            raise CommandError(_messages(error)) from error
        except PermissionDenied as error:
            raise CommandError(str(error)) from error
        counts = {
            "release": f"{release.slug}@{version.version}",
            "state": version.state,
            "seed": version.seed,
            "images": version.image_count,
            "splits": version.stats.get("splits", {}),
            "labels": version.stats.get("labels", {}),
            "sites": version.stats.get("sites", {}),
        }
        if options["json"]:
            self.stdout.write(json.dumps(counts, indent=1, sort_keys=True))
            return
        self.stdout.write(
            f"{counts['release']}: {version.state}, {version.image_count} images, "
            f"seed {version.seed}"
        )
        for name, split in counts["splits"].items():
            self.stdout.write(
                f"  {name:10s} {split['cases']:6d} cases {split['subjects']:6d} subjects "
                f"{split['images']:7d} images"
            )
        for site, per_split in counts["sites"].items():
            cells = " ".join(f"{name}={n}" for name, n in per_split.items())
            self.stdout.write(f"  site {site}: {cells}")
