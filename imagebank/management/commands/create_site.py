"""`manage.py create_site SLUG --name NAME --country CODE`: a site with its contributors group."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from imagebank import vocabularies as vocab
from imagebank.models import Site
from imagebank.services.sites import create_site


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

    def handle(self, *args, **options):
        if Site.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"A site '{options['slug']}' exists already.")
        try:
            site = create_site(
                slug=options["slug"],
                name=options["name"],
                country=options["country"],
                clinical_setting=options["setting"],
                devices=options["device"],
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            ) from error
        self.stdout.write(
            self.style.SUCCESS(f"Created site {site.slug}: {site.name} ({site.country})")
        )
