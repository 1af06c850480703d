from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string

from cms.demo import DEMO_PASSWORD, DEMO_PLATFORM, demo_api_key, seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo organisations, people and pages, then each app's demo content "
        "(settings.DEMO_SEEDERS). Safe to run again: it only adds what is missing."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        people = seed_demo()
        notes: list[str] = []
        for dotted_path in settings.DEMO_SEEDERS:
            # A seeder may return lines for this command to print (other values are ignored).
            result = import_string(dotted_path)()
            notes.extend(line for line in result or [] if isinstance(line, str))
        if options["verbosity"] < 1:
            return
        self.stdout.write(self.style.SUCCESS("Demo content is ready."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for user in people:
            self.stdout.write(f"  {user.role:<15} {user.mobile:<15} {user.get_full_name()}")
        self.stdout.write(f"Demo platform API key ({DEMO_PLATFORM}): {demo_api_key()}")
        for line in notes:
            self.stdout.write(line)
        self.stdout.write("Site: http://127.0.0.1:8000/  (English: /en/)  Admin: /admin/")
