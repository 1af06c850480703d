"""The hordak side of benchmark 7: the same transfers as bench/ledger.py posts through
`rewards.ledger`, posted through django-hordak on its own database of the same PostgreSQL.

Run by bench/ledger.py with the interpreter of bench/hordak/setup.sh's virtualenv:

    var/bench-hordak-venv/bin/python bench/hordak/post.py setup --plan PLAN.json
    var/bench-hordak-venv/bin/python bench/hordak/post.py run --plan PLAN.json --writers 4

HORDAK_DATABASE_URL names the database (created empty by bench/ledger.py). `setup` migrates it
and opens the accounts (an external account, the platforms' funding accounts, the drivers'),
and deposits each platform's funding as bench/ledger.py does; `run` posts the plan's transfers
with that many writer processes and prints one JSON object: postings, seconds, errors, and the
ledger's checks (every transaction's legs sum to zero, all legs sum to zero).
"""

import argparse
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from ledger import writer_pool  # noqa: E402 - bench/ledger.py, whose top level is stdlib only


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    import django

    django.setup()


def _money(fen: int):
    from moneyed import Money

    return Money(Decimal(fen) / 100, "CNY")


def _accounts(plan: dict):
    """(external, [funding accounts], [driver accounts]) in the plan's order."""
    from hordak.models import Account

    by_name = {account.name: account for account in Account.objects.all()}
    return (
        by_name["external"],
        [by_name[f"platform-{n:04d}"] for n in range(plan["sources"])],
        [by_name[f"driver-{n:06d}"] for n in range(plan["drivers"])],
    )


def setup(plan: dict) -> dict:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Django's system checks pass for hordak on this Django. (`makemigrations --check hordak`
    # would list the legs' currency choices and default: they follow HORDAK_CURRENCIES, CNY
    # here, and change no column.)
    call_command("check", verbosity=0)
    from django.db import transaction
    from hordak.models import Account

    asset = Account.TYPES.asset
    with transaction.atomic():
        Account.objects.create(name="external", type=asset, currencies=["CNY"])
        for n in range(plan["sources"]):
            Account.objects.create(name=f"platform-{n:04d}", type=asset, currencies=["CNY"])
        for n in range(plan["drivers"]):
            Account.objects.create(name=f"driver-{n:06d}", type=asset, currencies=["CNY"])
    external, funding, _drivers = _accounts(plan)
    for account in funding:
        with transaction.atomic():
            external.transfer_to(account, _money(plan["deposit_fen"]), description="deposit")
    return {"accounts": Account.objects.count()}


def check() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM hordak_transaction")
        transactions = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT transaction_id FROM hordak_leg GROUP BY transaction_id"
            " HAVING sum(coalesce(debit, 0) - coalesce(credit, 0)) <> 0 OR count(*) < 2) bad"
        )
        unbalanced = cursor.fetchone()[0]
        cursor.execute(
            "SELECT coalesce(sum(coalesce(debit, 0) - coalesce(credit, 0)), 0) FROM hordak_leg"
        )
        total = cursor.fetchone()[0]
    problems = []
    if unbalanced:
        problems.append(f"{unbalanced} transactions do not balance")
    if total != 0:
        problems.append(f"all legs sum to {total}, not zero")
    return {"transactions": transactions, "problems": problems}


def run(plan: dict, writers: int) -> dict:
    from django.db import connections, transaction

    transfers = plan["transfers"]
    connections.close_all()  # each writer opens its own after the fork

    def prepare():
        _external, funding, drivers = _accounts(plan)
        return funding, drivers

    def post(state, index, transfer):
        funding, drivers = state
        source, driver, fen = transfer
        with transaction.atomic():
            funding[source].transfer_to(
                drivers[driver], _money(fen), description=f"bench reward {index}"
            )

    result = writer_pool(transfers, writers, prepare, post, close=connections.close_all)
    result.update(check())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["setup", "run"])
    parser.add_argument("--plan", required=True)
    parser.add_argument("--writers", type=int, default=1)
    args = parser.parse_args()
    plan = json.loads(Path(args.plan).read_text())
    _django()
    import django
    import hordak

    out = setup(plan) if args.command == "setup" else run(plan, args.writers)
    out["versions"] = {"django": django.get_version(), "hordak": _version(hordak)}
    print(json.dumps(out))


def _version(module) -> str:
    from importlib.metadata import version

    try:
        return version("django-hordak")
    except Exception:  # noqa: BLE001 - only a label
        return getattr(module, "__version__", "?")


if __name__ == "__main__":
    main()
