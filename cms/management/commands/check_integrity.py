"""`manage.py check_integrity`: after a restore from backup (docs/backup-restore.md), or whenever
an operator wants to know, check every certificate and the ledger. Exits 1 on any problem."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Sum

from credentials.integrity import check_credentials
from rewards.ledger import check_invariants
from rewards.models import Account, Entry, Transaction


def ledger_summary() -> dict:
    """Counts and every account's balance: two databases holding the same ledger agree on it."""
    return {
        "transactions": Transaction.objects.count(),
        "entries": Entry.objects.count(),
        "accounts": Account.objects.count(),
        "balances": {
            row["account__code"]: row["total"]
            for row in Entry.objects.values("account__code")
            .annotate(total=Sum("amount_fen"), n=Count("pk"))
            .order_by("account__code")
        },
    }


class Command(BaseCommand):
    help = (
        "Verify every issued certificate (signature, issuer, status list, QR form, PDF, issuer "
        "keys) and every ledger invariant. Prints a summary; exits 1 if anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="Print the summary as JSON (for scripts).",
        )

    def handle(self, *args, as_json: bool = False, **options):
        credentials = check_credentials()
        ledger_problems = check_invariants()
        ledger = ledger_summary()
        problems = credentials.problems + [f"ledger: {p}" for p in ledger_problems]
        summary = {
            "credentials": {
                "total": credentials.credentials,
                "active": credentials.active,
                "revoked": credentials.revoked,
                "suspended": credentials.suspended,
                "pdfs": credentials.pdfs,
                "issuer_keys": credentials.issuer_keys,
                "status_lists": credentials.status_lists,
            },
            "ledger": ledger,
            "problems": problems,
        }
        if as_json:
            self.stdout.write(_dumps(summary))
        else:
            c = summary["credentials"]
            self.stdout.write(
                f"Certificates: {c['total']} ({c['active']} active, {c['revoked']} revoked, "
                f"{c['suspended']} suspended), {c['pdfs']} PDFs, {c['issuer_keys']} issuer keys, "
                f"{c['status_lists']} status lists."
            )
            self.stdout.write(
                f"Ledger: {ledger['transactions']} transactions, {ledger['entries']} entries, "
                f"{ledger['accounts']} accounts."
            )
            for problem in problems:
                self.stdout.write(f"PROBLEM {problem}")
            if not problems:
                self.stdout.write("Every certificate verifies and every ledger invariant holds.")
        if problems:
            raise CommandError(f"{len(problems)} problem(s) found.")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
