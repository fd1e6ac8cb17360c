"""`manage.py create_site SLUG --name NAME --country CODE [--require CODE …]`: a site with its
contributors group, and what its cases need before they are submitted."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from imagebank import vocabularies as vocab
from imagebank.models import Site
from imagebank.services.sites import create_site
from imagebank.submission import DEFAULT_REQUIREMENTS, REQUIREMENTS


class Command(BaseCommand):
    help = "Create a contributing site."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", required=True, help="ISO 3166 two-letter code, e.g. KE")
        parser.add_argument(
            "--setting",
            default="district_hospital",
            choices=sorted(vocab.CLINICAL_SETTING.codes),
            help="clinical setting",
        )
        parser.add_argument("--device", action="append", default=[], help="repeat for several")
        parser.add_argument(
            "--require",
            action="append",
            metavar="CODE",
            help=(
                "what a case needs before it is submitted; repeat for several (default: "
                f"{' '.join(DEFAULT_REQUIREMENTS)}). Codes: {', '.join(REQUIREMENTS)}"
            ),
        )
        parser.add_argument(
            "--require-nothing",
            action="store_true",
            help="cases need nothing (but images) before they are submitted",
        )

    def handle(self, *args, **options):
        if Site.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"A site '{options['slug']}' exists already.")
        if options["require"] and options["require_nothing"]:
            raise CommandError("Give --require or --require-nothing, not both.")
        requirements = [] if options["require_nothing"] else options["require"]
        try:
            site = create_site(
                slug=options["slug"],
                name=options["name"],
                country=options["country"],
                clinical_setting=options["setting"],
                devices=options["device"],
                submission_requirements=requirements,
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            ) from error
        self.stdout.write(
            self.style.SUCCESS(f"Created site {site.slug}: {site.name} ({site.country})")
        )
        required = ", ".join(site.submission_requirements) or "nothing"
        self.stdout.write(f"Required to submit a case: {required}")
