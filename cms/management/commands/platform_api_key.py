from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cms.api_keys import platform_api_key_create
from cms.models import Organization


class Command(BaseCommand):
    help = (
        "Make a new API key for a ride-hailing platform and print it. "
        "The key is shown only this once; store it somewhere safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The platform organisation's slug, e.g. kuaixing.")
        parser.add_argument(
            "--name", default="Created on the command line", help="What the key is for."
        )

    def handle(self, *args, slug, name, **options):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organisation has the slug {slug!r}.")
        if organization.kind != Organization.Kind.PLATFORM:
            raise CommandError(
                f"{slug!r} is a {organization.get_kind_display()}, not a ride-hailing platform; "
                "only platforms get API keys."
            )
        try:
            api_key, raw = platform_api_key_create(organization=organization, name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"API key for {organization.slug}: {raw}"))
        self.stdout.write(
            f"Prefix {api_key.prefix}. This key will not be shown again; "
            "send it as “Authorization: Bearer <key>”."
        )
