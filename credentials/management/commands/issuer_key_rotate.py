from django.core.management.base import BaseCommand, CommandError

from cms.models import Organization
from credentials.keys import NotAnIssuer, issuer_did, issuer_key_rotate


class Command(BaseCommand):
    help = (
        "Give an issuing organisation a new signing key. The old key is retired but stays in "
        "the organisation's DID document, so certificates it signed still verify."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the organisation's slug")

    def handle(self, *args, slug, **options):
        try:
            organization = Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"No organisation with slug {slug!r}.") from None
        try:
            issuer_key = issuer_key_rotate(organization=organization)
        except NotAnIssuer as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{issuer_did(organization)}#{issuer_key.key_id} is now the current key "
            f"({issuer_key.public_key_multibase})."
        )
