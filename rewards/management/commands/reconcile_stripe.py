from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cms.payments import PaymentsNotConfigured
from rewards import reconcile
from rewards.rules import CHINA


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date like 2026-11-30.") from None


class Command(BaseCommand):
    help = (
        "Compare the platform's Stripe balance transactions with the ledger and print every "
        "difference: in Stripe but not in the ledger, in the ledger but not in Stripe, and "
        "amounts that differ. Objects are matched by the Stripe object behind them (charge, "
        "refund, transfer, transfer reversal). Fees: the ledger holds the gross amounts "
        "customers paid and Stripe's fees are Roadwise's cost, so the gross amount of each "
        "balance transaction is compared and the fees are only totalled. Payouts of the "
        "platform's own balance and Stripe's separate fee charges are outside the ledger by "
        "design and only counted. Days are in China Standard Time. Exits with status 1 when "
        "there is any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help="First day to check, YYYY-MM-DD (default: yesterday).",
        )
        parser.add_argument(
            "--until",
            help="Day after the last one to check, YYYY-MM-DD (default: now).",
        )

    def handle(self, *args, since=None, until=None, **options):
        today = timezone.localdate(timezone.now(), CHINA)
        first = _day(since) if since else date.fromordinal(today.toordinal() - 1)
        start = datetime.combine(first, time.min, tzinfo=CHINA)
        end = datetime.combine(_day(until), time.min, tzinfo=CHINA) if until else timezone.now()
        if end <= start:
            raise CommandError("--until must be after --since.")
        try:
            report = reconcile.reconcile(start, end)
        except PaymentsNotConfigured as exc:
            raise CommandError(str(exc)) from exc
        self._print(report)
        if report.differences:
            raise CommandError(
                f"{len(report.differences)} difference(s) between Stripe and the ledger.",
                returncode=1,
            )

    def _print(self, report: reconcile.Report) -> None:
        out = self.stdout
        out.write(
            f"Stripe and the ledger from {report.since.astimezone(CHINA):%Y-%m-%d %H:%M} to "
            f"{report.until.astimezone(CHINA):%Y-%m-%d %H:%M} (China Standard Time)"
        )
        if report.differences:
            rows = [("Difference", "Stripe object", "Stripe", "Ledger", "Stripe records",
                     "Ledger keys", "When")]  # fmt: skip
            for item in report.differences:
                rows.append(
                    (
                        item.problem,
                        item.source,
                        reconcile._money(item.stripe_amount, item.currency),
                        reconcile._money(item.ledger_amount, item.currency),
                        ", ".join(item.stripe_refs) or "—",
                        ", ".join(item.ledger_refs) or "—",
                        f"{item.at.astimezone(CHINA):%Y-%m-%d %H:%M}",
                    )
                )
            widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
            for index, row in enumerate(rows):
                out.write("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)))
                if index == 0:
                    out.write("  ".join("-" * width for width in widths))
        else:
            out.write(self.style.SUCCESS("No differences."))
        out.write(f"Matched: {report.matched} Stripe object(s).")
        for currency, fee in sorted(report.fees.items()):
            out.write(f"Stripe fees (not in the ledger): {reconcile._money(fee, currency)}")
        if report.outside_count:
            totals = ", ".join(
                reconcile._money(amount, currency)
                for currency, amount in sorted(report.outside.items())
            )
            out.write(
                f"Outside the ledger by design (platform payouts, Stripe fee charges): "
                f"{report.outside_count}, net {totals}"
            )
