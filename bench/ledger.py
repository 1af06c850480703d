"""Benchmark 7 (issue 8): ledger postings per second at 1, 4 and 16 concurrent writers, beside
django-hordak posting the same transfers on the same PostgreSQL.

    .venv/bin/python bench/ledger.py            # 4,000 transfers per level, 1 000 drivers
    .venv/bin/python bench/ledger.py --quick    # 400 transfers per level
    .venv/bin/python bench/ledger.py --writers 1 4 --transfers 2000 --sources 16

The transfers are a reward run's shape: from a platform's funding account (``--sources``
platforms, 1 by default: one platform paying its drivers, the hot row every posting locks) to
one of 1,000 drivers' accounts, a seeded random amount of 1 to 500 yuan each. Both ledgers
start every level from the same state (a fresh copy of a template database: the accounts and
one deposit per platform), post the same list, split round-robin over that many writer
*processes* (forked, each with its own connection, started together at a barrier), each
posting in its own database transaction:

- Roadwise: ``rewards.ledger.post_transaction`` (idempotency key, floors under row locks,
  triggers), on ``roadwise_bench_ledger`` (production settings), then
  ``rewards.ledger.check_invariants()``;
- hordak: ``Account.transfer_to`` in ``transaction.atomic()`` (its leg triggers), in its own
  virtualenv (bench/hordak/, created by bench/hordak/setup.sh under var/), on
  ``hordak_bench_ledger``; its legs are checked to balance after the run.

The top level of this module imports only the standard library: bench/hordak/post.py (another
virtualenv) uses `writer_pool`, and bench/reward_run.py and bench/ingest.py use the database
helpers.
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
# ROADWISE_BENCH_PREFIX keeps two checkouts benchmarking at once out of each other's databases.
BENCH_PREFIX = os.environ.get("ROADWISE_BENCH_PREFIX", "roadwise_bench")
MIGRATED_TEMPLATE = f"{BENCH_PREFIX}_migrated"
LEDGER_TEMPLATE = f"{BENCH_PREFIX}_ledger_tpl"
LEDGER_DB = f"{BENCH_PREFIX}_ledger"
HORDAK_TEMPLATE = f"{BENCH_PREFIX}_hordak_tpl"
HORDAK_DB = f"{BENCH_PREFIX}_hordak"
HORDAK_SETUP = ROOT / "bench" / "hordak" / "setup.sh"
HORDAK_POST = ROOT / "bench" / "hordak" / "post.py"
NEVER = ("test", "postgres", "template0", "template1")


# --- shared helpers (bench/reward_run.py, bench/ingest.py) --------------------------------


def row(number, what, figure, unit, reference, reference_figure, ratio, target, met, notes):
    """One result row in the shape bench/run.py collects."""
    return {
        "#": number,
        "what": what,
        "figure": figure,
        "unit": unit,
        "reference": reference,
        "reference figure": reference_figure,
        "ratio": ratio,
        "target": target,
        "met?": met,
        "notes": notes,
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        memory = "?"
    return f"{os.cpu_count()} CPU ({cpu}), {memory} RAM, Python {platform.python_version()}"


def db_url(name: str) -> str:
    return f"{PG_URL}/{name}"


def _admin():
    import psycopg

    return psycopg.connect(db_url("postgres"), autocommit=True)


def db_exists(name: str) -> bool:
    with _admin() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


def db_comment(name: str) -> str:
    with _admin() as conn:
        found = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    return (found and found[0]) or ""


def db_create(name: str, template: str | None = None, comment: str = "") -> None:
    """(Re)create database ``name``, empty or as a copy of ``template``."""
    from psycopg import sql

    if name in NEVER or "bench" not in name:
        raise ValueError(f"refusing to recreate database {name!r}")
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if template:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if comment:
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(comment)
                )
            )


def db_drop(name: str) -> None:
    from psycopg import sql

    if name in NEVER:
        raise ValueError(f"refusing to drop database {name!r}")
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def code_hash(*paths: str) -> str:
    """A hash of the migrations (and any extra files): a template built from other code is
    rebuilt."""
    digest = hashlib.sha256()
    files = sorted(ROOT.glob("*/migrations/*.py")) + [ROOT / p for p in paths]
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def roadwise_env(database: str, **extra) -> dict:
    """The environment of a Roadwise process on ``database``: production settings (DEBUG off,
    as deployed), eager tasks, no Redis."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_CACHE_URL", "DEBUG")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cms.settings.production",
        DATABASE_URL=db_url(database),
        SECRET_KEY=secrets.token_urlsafe(64),
        CREDENTIALS_KEY_ENCRYPTION_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def migrated_template(log=print) -> str:
    """A database with every migration applied, rebuilt only when the migrations change."""
    want = code_hash()
    if db_exists(MIGRATED_TEMPLATE) and db_comment(MIGRATED_TEMPLATE) == want:
        return MIGRATED_TEMPLATE
    log(f"  migrating a fresh {MIGRATED_TEMPLATE} (once per change of migrations)…")
    db_create(MIGRATED_TEMPLATE)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=roadwise_env(MIGRATED_TEMPLATE),
        check=True,
    )
    with _admin() as conn:
        from psycopg import sql

        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(MIGRATED_TEMPLATE), sql.Literal(want)
            )
        )
    return MIGRATED_TEMPLATE


def run_json(command: list[str], env: dict) -> dict:
    """Run a benchmark subprocess and return the JSON object it prints last."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        )
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def writer_pool(transfers, writers: int, prepare, post, close=None) -> dict:
    """Post ``transfers`` with ``writers`` forked processes, round-robin. In each child
    ``prepare()`` opens what it needs (its connection), then all wait at a barrier; the clock
    runs from the barrier to the last child's end. ``post(state, index, transfer)`` posts one.
    ``close`` is called before forking (no connection may be shared with the children)."""
    if close is not None:
        close()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(writers + 1)
    results = context.Queue()

    def child(number: int) -> None:
        state = prepare()
        barrier.wait()
        posted = errors = 0
        first_error = ""
        for index in range(number, len(transfers), writers):
            try:
                post(state, index, transfers[index])
                posted += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
        results.put((posted, errors, first_error))

    children = [context.Process(target=child, args=(n,)) for n in range(writers)]
    for process in children:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    outcome = [results.get() for _ in children]
    seconds = time.perf_counter() - started
    for process in children:
        process.join()
    posted = sum(p for p, _e, _f in outcome)
    return {
        "posted": posted,
        "errors": sum(e for _p, e, _f in outcome),
        "first_error": next((f for _p, _e, f in outcome if f), ""),
        "seconds": seconds,
        "per_second": posted / seconds if seconds else 0.0,
        "writers": writers,
    }


def _frame(frame: str) -> str:
    """``func (/long/path/site-packages/pkg/mod.py:12)`` → ``func (pkg/mod.py)``."""
    frame = re.sub(r":\d+\)$", ")", frame)
    frame = re.sub(r"\(.*?site-packages/", "(", frame)
    return frame.replace(f"({ROOT}/", "(")


def summarise_profile(raw: Path, within: str = "", top: int = 14) -> str:
    """A py-spy raw (collapsed) profile in a few lines: the inclusive share of the hottest
    project functions, and each sample charged to its deepest project frame (rewards/, cms/)
    and the function that frame was calling,
    with how much of that was inside psycopg (talking to or waiting for PostgreSQL). Record with
    py-spy's ``--idle``, or the time spent waiting for the database is not sampled. Only stacks
    through a frame containing ``within`` count."""
    inclusive: dict[str, int] = {}
    deepest: dict[str, list[int]] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _sep, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        if within not in stack:
            continue  # e.g. start-up: only the measured call counts
        samples = int(count)
        total += samples
        frames = [_frame(f) for f in stack.split(";")]
        for frame in set(frames):
            if "(rewards/" in frame or "(cms/" in frame:
                inclusive[frame] = inclusive.get(frame, 0) + samples
        mine = [i for i, f in enumerate(frames) if "(rewards/" in f or "(cms/" in f]
        if mine:
            callee = frames[mine[-1] + 1] if mine[-1] + 1 < len(frames) else "its own code"
            own = f"{frames[mine[-1]]} → {callee}"
        else:
            own = "(outside the app)"
        in_db = any("psycopg" in f for f in frames)
        bucket = deepest.setdefault(own, [0, 0])
        bucket[0] += samples
        bucket[1] += samples if in_db else 0
    if not total:
        return "no samples"
    lines = [f"{total} samples; inclusive share of project functions:"]
    for frame, samples in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * samples / total:5.1f} %  {frame}")
    lines.append("charged to the deepest project frame → what it called (of which in psycopg):")
    for frame, (samples, db) in sorted(deepest.items(), key=lambda kv: -kv[1][0])[:top]:
        lines.append(
            f"  {100 * samples / total:5.1f} %  ({100 * db / total:4.1f} % psycopg)  {frame}"
        )
    return "\n".join(lines)


# --- the plan ------------------------------------------------------------------------------


def make_plan(transfers: int, sources: int, drivers: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    return {
        "sources": sources,
        "drivers": drivers,
        "deposit_fen": 10**13,
        "transfers": [
            [rng.randrange(sources), rng.randrange(drivers), rng.randrange(100, 50_001)]
            for _ in range(transfers)
        ],
    }


# --- the Roadwise side (subprocesses of this module: `_setup`, `_post`) --------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _accounts(plan: dict):
    from rewards.models import Account

    funding = list(
        Account.objects.filter(
            kind=Account.Kind.PLATFORM_FUNDING, organization__slug__startswith="bench-platform-"
        ).order_by("organization__slug")
    )
    drivers = list(
        Account.objects.filter(
            kind=Account.Kind.DRIVER_PAYABLE, user__mobile__startswith="+86135"
        ).order_by("user__mobile")
    )
    assert len(funding) == plan["sources"] and len(drivers) == plan["drivers"]
    return funding, drivers


def _roadwise_setup(plan: dict) -> dict:
    from django.contrib.auth.hashers import make_password

    from cms.models import Organization, User
    from rewards import ledger

    password = make_password(None)
    User.objects.bulk_create(
        [User(mobile=f"+86135{n:08d}", password=password) for n in range(plan["drivers"])]
    )
    for n in range(plan["sources"]):
        Organization.objects.create(
            kind=Organization.Kind.PLATFORM,
            name=f"基准平台{n:04d}",
            name_en=f"Bench platform {n:04d}",
            slug=f"bench-platform-{n:04d}",
        )
    for user in User.objects.filter(mobile__startswith="+86135"):
        ledger.driver_payable_account(user)
    external = ledger.external_account()
    for platform_ in Organization.objects.filter(slug__startswith="bench-platform-"):
        ledger.post_transaction(
            idempotency_key=f"bench:deposit:{platform_.slug}",
            kind="deposit",
            legs=[
                (ledger.platform_funding_account(platform_), plan["deposit_fen"]),
                (external, -plan["deposit_fen"]),
            ],
        )
    return {"accounts": len(_accounts(plan)[1]) + plan["sources"] + 1}


def _roadwise_post(plan: dict, writers: int) -> dict:
    from django.db import connections

    from rewards import ledger
    from rewards.models import Transaction

    def prepare():
        return _accounts(plan)

    def post(state, index, transfer):
        funding, drivers = state
        source, driver, fen = transfer
        ledger.post_transaction(
            idempotency_key=f"bench:reward:{index}",
            kind="reward",
            legs=[(funding[source], -fen), (drivers[driver], fen)],
            description=f"bench reward {index}",
        )

    result = writer_pool(plan["transfers"], writers, prepare, post, close=connections.close_all)
    started = time.perf_counter()
    problems = ledger.check_invariants()
    result["check_seconds"] = time.perf_counter() - started
    result["problems"] = problems[:20]
    result["problem_count"] = len(problems)
    result["transactions"] = Transaction.objects.filter(kind="reward").count()
    return result


def _roadwise_profile(plan: dict) -> dict:
    """The plan's transfers posted one after another in this process, every SQL statement
    counted and timed (a Django execute wrapper): where a posting's time goes."""
    from collections import Counter

    from django.db import connection

    from rewards import ledger

    funding, drivers = _accounts(plan)
    statements: Counter = Counter()
    spent: Counter = Counter()

    def wrapper(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = " ".join(sql.split()[:6])[:90]
            statements[words] += 1
            spent[words] += time.perf_counter() - began

    started = time.perf_counter()
    with connection.execute_wrapper(wrapper):
        for index, (source, driver, fen) in enumerate(plan["transfers"]):
            ledger.post_transaction(
                idempotency_key=f"bench:reward:{index}",
                kind="reward",
                legs=[(funding[source], -fen), (drivers[driver], fen)],
                description=f"bench reward {index}",
            )
    seconds = time.perf_counter() - started
    count = len(plan["transfers"])
    return {
        "postings": count,
        "seconds": seconds,
        "per_second": count / seconds,
        "statements_per_posting": sum(statements.values()) / count,
        "sql_seconds": sum(spent.values()),
        "statements": [
            [words, round(statements[words] / count, 2), round(spent[words], 3)]
            for words, _t in spent.most_common(12)
        ],
    }


# --- the benchmark -------------------------------------------------------------------------


def _hordak_python(log) -> str:
    done = subprocess.run(["sh", str(HORDAK_SETUP)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench/hordak/setup.sh failed:\n{done.stderr[-3000:]}")
    venv = done.stdout.strip().splitlines()[-1]
    return str(Path(venv) / "bin" / "python")


def _hordak_env(database: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        HORDAK_DATABASE_URL=db_url(database),
        DJANGO_SETTINGS_MODULE="settings",
        PYTHONPATH=str(HORDAK_POST.parent),
    )
    return env


def _templates(plan_file: Path, plan: dict, hordak_python: str, log) -> None:
    """The two template databases with the plan's accounts and deposits, rebuilt when the plan's
    accounts or the code change."""
    key = json.dumps([plan["sources"], plan["drivers"], plan["deposit_fen"]])
    want = code_hash("bench/ledger.py", "bench/hordak/post.py", "rewards/ledger.py") + key
    if not (db_exists(LEDGER_TEMPLATE) and db_comment(LEDGER_TEMPLATE) == want):
        log(f"  building {LEDGER_TEMPLATE}…")
        db_create(LEDGER_TEMPLATE, template=migrated_template(log))
        run_json(
            [PYTHON, __file__, "_setup", "--plan", str(plan_file)],
            roadwise_env(LEDGER_TEMPLATE),
        )
        db_create(LEDGER_TEMPLATE + "_tmp", template=LEDGER_TEMPLATE, comment=want)
        db_create(LEDGER_TEMPLATE, template=LEDGER_TEMPLATE + "_tmp", comment=want)
        db_drop(LEDGER_TEMPLATE + "_tmp")
    if not (db_exists(HORDAK_TEMPLATE) and db_comment(HORDAK_TEMPLATE) == want):
        log(f"  building {HORDAK_TEMPLATE}…")
        db_create(HORDAK_TEMPLATE)
        run_json(
            [hordak_python, str(HORDAK_POST), "setup", "--plan", str(plan_file)],
            _hordak_env(HORDAK_TEMPLATE),
        )
        with _admin() as conn:
            from psycopg import sql

            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(HORDAK_TEMPLATE), sql.Literal(want)
                )
            )


def run(args) -> list[dict]:
    quick = getattr(args, "quick", False)
    writers_levels = getattr(args, "writers", None) or [1, 4, 16]
    count = getattr(args, "transfers", None) or (400 if quick else 4000)
    sources = getattr(args, "sources", None) or 1
    drivers = getattr(args, "drivers", None) or 1000
    log = getattr(args, "log", None) or (lambda message: print(message, file=sys.stderr))
    plan = make_plan(count, sources, drivers)
    hordak_python = _hordak_python(log)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        plan_file = Path(tmp) / "plan.json"
        plan_file.write_text(json.dumps(plan))
        _templates(plan_file, plan, hordak_python, log)
        for writers in writers_levels:
            db_create(LEDGER_DB, template=LEDGER_TEMPLATE)
            ours = run_json(
                [PYTHON, __file__, "_post", "--plan", str(plan_file), "--writers", str(writers)],
                roadwise_env(LEDGER_DB),
            )
            db_create(HORDAK_DB, template=HORDAK_TEMPLATE)
            theirs = run_json(
                [
                    hordak_python,
                    str(HORDAK_POST),
                    "run",
                    "--plan",
                    str(plan_file),
                    "--writers",
                    str(writers),
                ],
                _hordak_env(HORDAK_DB),
            )
            log(f"  {writers:>2} writers: roadwise {json.dumps(ours)}")
            log(f"  {writers:>2} writers: hordak {json.dumps(theirs)}")
            ratio = ours["per_second"] / theirs["per_second"] if theirs["per_second"] else None
            clean = (
                ours["problem_count"] == 0 and ours["errors"] == 0 and ours["transactions"] == count
            )
            met = bool(ratio is not None and ratio >= 2 and clean)
            notes = (
                f"{count:,} transfers from {sources} platform funding account(s) to "
                f"{drivers:,} drivers, {writers} writer processes; check_invariants: "
                f"{ours['problem_count']} problems ({ours['check_seconds']:.1f} s); "
                f"Roadwise errors {ours['errors']}"
                + (f" ({ours['first_error']})" if ours["first_error"] else "")
                + f"; hordak errors {theirs['errors']}, hordak legs balanced: "
                f"{'yes' if not theirs['problems'] else '; '.join(theirs['problems'])}; "
                f"django-hordak {theirs['versions']['hordak']} on Django "
                f"{theirs['versions']['django']}; {machine()}"
            )
            rows.append(
                row(
                    "7",
                    f"ledger postings per second, {writers} concurrent writer"
                    + ("s" if writers > 1 else ""),
                    round(ours["per_second"], 1),
                    "postings/s",
                    "django-hordak transfer_to, same transfers",
                    round(theirs["per_second"], 1),
                    round(ratio, 2) if ratio is not None else None,
                    "≥ 2 × hordak, 0 invariant violations",
                    met,
                    notes,
                )
            )
        if getattr(args, "profile", False):
            db_create(LEDGER_DB, template=LEDGER_TEMPLATE)
            raw = Path(tmp) / "profile.txt"
            spy = str(Path(PYTHON).parent / "py-spy")
            profiled = run_json(
                [spy, "record", "--idle", "--format", "raw", "--rate", "200", "--output", str(raw)]
                + ["--"]
                + [PYTHON, __file__, "_profile", "--plan", str(plan_file)],
                roadwise_env(LEDGER_DB),
            )
            text = (
                f"Roadwise, 1 writer, {profiled['postings']:,} postings in "
                f"{profiled['seconds']:.1f} s ({profiled['per_second']:.0f}/s): "
                f"{profiled['statements_per_posting']:.1f} SQL statements per posting, "
                f"{profiled['sql_seconds']:.1f} s in them. By statement (per posting, seconds):\n"
                + "\n".join(f"  {n:>5} {t:>7}  {w}" for w, n, t in profiled["statements"])
                + "\npy-spy: "
                + summarise_profile(raw, within="_roadwise_profile")
            )
            log(text)
            if isinstance(getattr(args, "profiles", None), dict):
                args.profiles["ledger"] = text
        db_drop(LEDGER_DB)
        db_drop(HORDAK_DB)
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 transfers per level")
    parser.add_argument("--writers", type=int, nargs="+", help="levels (default 1 4 16)")
    parser.add_argument("--transfers", type=int, help="transfers per level (default 4000)")
    parser.add_argument("--sources", type=int, help="platform funding accounts (default 1)")
    parser.add_argument("--drivers", type=int, help="driver accounts (default 1000)")
    parser.add_argument("--profile", action="store_true", help="count and time its SQL")
    parser.add_argument("--json", help="also write the rows to this file")
    return parser


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_setup", "_post", "_profile"):
        internal = argparse.ArgumentParser()
        internal.add_argument("command")
        internal.add_argument("--plan", required=True)
        internal.add_argument("--writers", type=int, default=1)
        options = internal.parse_args(argv)
        plan = json.loads(Path(options.plan).read_text())
        _django()
        if options.command == "_setup":
            out = _roadwise_setup(plan)
        elif options.command == "_profile":
            out = _roadwise_profile(plan)
        else:
            out = _roadwise_post(plan, options.writers)
        print(json.dumps(out))
        return
    args = _parser().parse_args(argv)
    rows = run(args)
    for result in rows:
        print(json.dumps(result, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
