"""Benchmark 8 (issue 8): a reward run over 1,000,000 service events of 20,000 drivers, for one
platform and one month, as the beat starts it. Target: under 60 s and under 1 GiB peak memory.

    .venv/bin/python bench/reward_run.py                    # full size (data cached, see below)
    .venv/bin/python bench/reward_run.py --quick            # 10,000 events, 200 drivers
    .venv/bin/python bench/reward_run.py --events 200000 --drivers 4000 --limit 300 --profile

The data: last month (China time) of one platform with the demo's four rule kinds published
(quality, safety, tiers, skill allowance; thresholds set so that most drivers earn something),
20,000 linked drivers, and per driver about 50 events (trips, a rating per trip, six online
sessions of 3.5 h — one of 5.5 h for every tenth driver, so the fatigue guard excludes trips —
and for a few drivers an upheld complaint or a safety incident); the platform's funding holds
enough. It is generated once with COPY into the template database
``roadwise_bench_rewards_tpl`` (rebuilt when the sizes, the month or the migrations change);
each measurement runs on a fresh copy, ``roadwise_bench_rewards``.

The measurement: a new process (production settings, eager tasks: the beat's task runs
inline) calls ``rewards.tasks.run_due_rewards()``, exactly what beat calls hourly: it finds the
platform's run for last month due and runs ``run_rewards`` (→ ``rewards.rules.
reward_run_execute``: compute the lines, store them, post each to the ledger). Wall time is from
that call to its return; the phases come from the run's own timestamps (``started_at``,
``lines_computed_at``, ``finished_at``). Peak memory is the process's peak resident set size
(VmHWM, read from /proc every 0.2 s by the parent and ``getrusage`` maxrss at the end; it
includes Django's own ~100 MB, reported separately as "baseline"). A run still going after
``--limit`` seconds (default 900) is stopped and reported as such, with how far it got and the
posting rate, never as a pass. ``--profile`` samples the run with py-spy and adds the hottest
frames; the floor check's query is explained (EXPLAIN ANALYZE) after the run.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import (  # noqa: E402 - bench/ledger.py: database helpers, stdlib-only top level
    BENCH_PREFIX,
    PYTHON,
    ROOT,
    _admin,
    code_hash,
    db_comment,
    db_create,
    db_drop,
    db_exists,
    machine,
    migrated_template,
    roadwise_env,
    row,
    summarise_profile,
)

CHINA = ZoneInfo("Asia/Shanghai")
TEMPLATE = f"{BENCH_PREFIX}_rewards_tpl"
DATABASE = f"{BENCH_PREFIX}_rewards"
PLATFORM_SLUG = "bench-rewards-platform"
DRIVER_MOBILE = "+86136"
GiB = 2**30

RULES = [
    (
        "quality",
        "优质服务奖 Quality service",
        {"min_trips": 20, "min_average_rating": "4.8", "max_upheld_complaints": 0},
        30_000,
    ),
    ("safety", "安全驾驶奖 Safe driving", {"max_incidents": 0, "min_trips": 15}, 10_000),
    (
        "tier",
        "星级司机 Driver tiers",
        {
            "tiers": [
                {
                    "name": "银星 Silver",
                    "min_trips": 15,
                    "min_average_rating": "4.60",
                    "amount_fen": 5_000,
                },
                {
                    "name": "金星 Gold",
                    "min_trips": 22,
                    "min_average_rating": "4.80",
                    "amount_fen": 15_000,
                },
                {
                    "name": "钻石 Diamond",
                    "min_trips": 28,
                    "min_average_rating": "4.90",
                    "amount_fen": 30_000,
                },
            ]
        },
        None,
    ),  # fmt: skip
    (
        "skill_allowance",
        "技能津贴 Skill allowance",
        {"per_level_fen": {"1": 2_000, "2": 5_000, "3": 10_000}},
        None,
    ),
]


def last_month(today: date | None = None) -> date:
    today = today or datetime.now(CHINA).date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


# --- generating the data (subprocess `_generate`, on the template) -------------------------


def _driver_events(n: int, budget: int, month: date, platform_id: int, driver_id: int, rng):
    """About ``budget`` events of driver ``n`` as COPY rows."""
    start = datetime.combine(month, datetime.min.time(), tzinfo=CHINA)
    ref = f"D{n:06d}"
    rows = []
    received = start + timedelta(days=33)
    fatigued = n % 10 == 0
    days = sorted(rng.sample(range(0, 27), 6))
    sessions = []
    for k, day in enumerate(days):
        begin = start + timedelta(days=day, hours=8)
        length = timedelta(hours=5, minutes=30) if fatigued and k == 0 else timedelta(hours=3.5)
        sessions.append((begin, begin + length))
        rows.append((platform_id, f"{ref}-s{k}", driver_id, "online_session", begin,
                     begin + length, None, "", None, "", "", "", received))  # fmt: skip
    extras = []
    if n % 50 == 7:
        extras.append("complaint")
    if n % 100 == 3:
        extras.append("safety_incident")
    left = max(budget - len(rows) - len(extras), 2)
    trips = (left + 1) // 2
    ratings = left - trips
    good = n % 4 != 0  # three drivers in four are rated mostly 5
    for t in range(trips):
        begin, end = sessions[t % len(sessions)]
        span = (end - begin).total_seconds()
        when = begin + timedelta(seconds=span * ((t // len(sessions)) + 0.5) / 6)
        when = min(when, end - timedelta(minutes=1))
        trip_id = f"{ref}-t{t}"
        rows.append((platform_id, trip_id, driver_id, "trip", when, None,
                     rng.randrange(1500, 6800), "CNY", None, "", "", "", received))  # fmt: skip
        if t < ratings:
            rating = 5 if (good and rng.random() < 0.95) else rng.choice((3, 4, 4, 5, 5))
            rows.append((platform_id, f"{ref}-r{t}", driver_id, "rating",
                         when + timedelta(minutes=40), None, None, "", rating, "", "",
                         trip_id, received))  # fmt: skip
    for kind in extras:
        when = start + timedelta(days=12, hours=10)
        outcome = "upheld" if kind == "complaint" else ""
        severity = "minor" if kind == "safety_incident" else ""
        rows.append((platform_id, f"{ref}-{kind}", driver_id, kind, when, None, None, "", None,
                     outcome, severity, f"{ref}-t0", received))  # fmt: skip
    return rows


def _generate(drivers: int, events: int, month: date) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from cms.models import Organization, User
    from rewards import ledger, rules
    from rewards.models import DriverLink, RuleVersion

    started = time.perf_counter()
    platform = Organization.objects.create(
        kind=Organization.Kind.PLATFORM,
        name="基准出行",
        name_en="Bench rides",
        slug=PLATFORM_SLUG,
    )
    password = make_password(None)
    User.objects.bulk_create(
        [User(mobile=f"{DRIVER_MOBILE}{n:08d}", password=password) for n in range(drivers)],
        batch_size=5000,
    )
    ids = list(
        User.objects.filter(mobile__startswith=DRIVER_MOBILE)
        .order_by("mobile")
        .values_list("pk", flat=True)
    )
    DriverLink.objects.bulk_create(
        [
            DriverLink(platform=platform, driver_id=pk, platform_driver_id=f"D{n:06d}")
            for n, pk in enumerate(ids)
        ],
        batch_size=5000,
    )
    linked = datetime.combine(month - timedelta(days=20), datetime.min.time(), tzinfo=CHINA)
    DriverLink.objects.filter(platform=platform).update(linked_at=linked)

    effective_from = (month - timedelta(days=40)).replace(day=1)
    for kind, name, params, amount in RULES:
        version = rules.rule_version_create(
            platform=platform,
            kind=kind,
            name=name,
            params=params,
            amount_fen=amount,
            effective_from=effective_from,
        )
        published_on = effective_from - timedelta(days=version.notice_days)
        rules.rule_version_publish(version=version, actor=None, today=published_on)
        RuleVersion.objects.filter(pk=version.pk).update(
            published_at=datetime.combine(published_on, datetime.min.time(), tzinfo=CHINA)
        )
    ledger.post_transaction(
        idempotency_key="bench:rewards:deposit",
        kind="deposit",
        legs=[
            (ledger.platform_funding_account(platform), 10**13),
            (ledger.external_account(), -(10**13)),
        ],
    )

    rng = random.Random(8)
    base = events // drivers
    columns = (
        "platform_id, external_id, driver_id, kind, occurred_at, ended_at, fare_fen, currency, "
        "rating, outcome, severity, trip_external_id, received_at"
    )
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.copy(f"COPY rewards_serviceevent ({columns}) FROM STDIN") as copy:
            for n, pk in enumerate(ids):
                # Budgets vary (base ± 20) but pairs add up, so the total is `events`.
                delta = ((n // 2) * 7919) % 21 if base >= 40 else 0
                budget = base + delta if n % 2 == 0 else base - delta
                if n == len(ids) - 1:
                    budget = events - written
                for event in _driver_events(n, budget, month, platform.pk, pk, rng):
                    copy.write_row(event)
                    written += 1
    generated = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"events": written, "drivers": len(ids), "seconds": generated}


# --- the measured run (subprocess `_run`) --------------------------------------------------


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _beat_on_due_day() -> list[int]:
    """What beat's ``run_due_rewards`` does on the first day last month's runs are due: the
    same ``reward_runs_due`` and ``run_rewards`` tasks, with that day as today (during the first
    REWARDS_RUN_AFTER_DAYS days of a month no run is due yet, so the bench would run nothing)."""
    from django.conf import settings

    from rewards import rules, tasks

    month = last_month()
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    due_day = following + timedelta(days=settings.REWARDS_RUN_AFTER_DAYS)
    return [
        platform.pk
        for platform, period_start in rules.reward_runs_due(today=due_day)
        if tasks.run_rewards.delay(platform.pk, period_start.isoformat()) is not None
    ]


def _run(count_queries: bool) -> dict:
    from collections import Counter

    from django.db import connection

    from rewards import tasks  # noqa: F401 - imported before the baseline is read

    baseline = _rss_kib()
    statements: Counter = Counter()
    spent: Counter = Counter()

    def wrapper(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = " ".join(sql.split()[:5])[:80]
            statements[words] += 1
            spent[words] += time.perf_counter() - began

    def stop(_signum, _frame):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)  # stopped at --limit: still say what it counted
    started = time.perf_counter()
    platforms, seconds = None, None
    try:
        if count_queries:
            with connection.execute_wrapper(wrapper):
                platforms = _beat_on_due_day()
        else:
            platforms = _beat_on_due_day()
        seconds = time.perf_counter() - started
    except SystemExit:
        pass
    return {
        "seconds": seconds,
        "platforms": platforms,
        # Not getrusage's ru_maxrss: Linux keeps it across fork and exec, so a child of a big
        # process (bench/run.py after the other benchmarks) would report its parent's peak.
        "maxrss_kib": _vmhwm(os.getpid()),
        "baseline_kib": baseline,
        "statements": sum(statements.values()),
        "sql_seconds": sum(spent.values()),
        "by_statement": [
            [words, statements[words], round(spent[words], 2)]
            for words, _t in spent.most_common(14)
        ],
    }


# --- the parent ----------------------------------------------------------------------------


def _progress(database: str, stopped_at: datetime | None = None) -> dict:
    import psycopg

    with psycopg.connect(f"{roadwise_env(database)['DATABASE_URL']}") as conn:
        run_row = conn.execute(
            "SELECT id, status, started_at, lines_computed_at, finished_at, last_error"
            " FROM rewards_rewardrun ORDER BY id LIMIT 1"
        ).fetchone()
        lines = conn.execute(
            "SELECT count(*), count(transaction_id), coalesce(sum(amount_fen), 0)"
            " FROM rewards_rewardline"
        ).fetchone()
        entries = conn.execute("SELECT count(*) FROM rewards_entry").fetchone()[0]
        explain = []
        funding = conn.execute(
            "SELECT id FROM rewards_account WHERE kind = 'platform_funding' LIMIT 1"
        ).fetchone()
        if funding:
            explain = [
                r[0]
                for r in conn.execute(
                    "EXPLAIN (ANALYZE, BUFFERS) SELECT account_id, sum(amount_fen)"
                    " FROM rewards_entry WHERE account_id = %s GROUP BY account_id",
                    [funding[0]],
                ).fetchall()
            ]
        events = conn.execute("SELECT count(*) FROM rewards_serviceevent").fetchone()[0]
    out = {"lines": lines[0], "posted": lines[1], "amount_fen": lines[2], "entries": entries}
    out["events"] = events
    out["explain_floor_sum"] = explain
    if run_row:
        _id, status, started, computed, finished, error = run_row
        out["status"] = status
        out["compute_seconds"] = (computed - started).total_seconds() if computed else None
        out["post_seconds"] = (
            (finished - computed).total_seconds() if finished and computed else None
        )
        out["last_error"] = error[:300]
        if stopped_at is not None and computed is not None:
            out["post_seconds"] = (stopped_at - computed).total_seconds()
    return out


def _vmhwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(drivers: int, events: int, limit: float, profile: bool, log) -> dict:
    month = last_month()
    key = f"{drivers}:{events}:{month.isoformat()}:" + code_hash("bench/reward_run.py")
    if not (db_exists(TEMPLATE) and db_comment(TEMPLATE) == key):
        log(f"  generating {events:,} events for {drivers:,} drivers into {TEMPLATE}…")
        db_create(TEMPLATE, template=migrated_template(log))
        done = subprocess.run(
            [PYTHON, __file__, "_generate", "--drivers", str(drivers), "--events", str(events),
             "--month", month.isoformat()],
            cwd=ROOT, env=roadwise_env(TEMPLATE), capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"generating failed:\n{done.stderr[-4000:]}")
        log(f"  generated: {done.stdout.strip().splitlines()[-1]}")
        with _admin() as conn:
            from psycopg import sql

            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(TEMPLATE), sql.Literal(key)
                )
            )
    db_create(DATABASE, template=TEMPLATE)
    with tempfile.TemporaryDirectory(prefix="bench-rewards-") as tmp:
        out_file = Path(tmp) / "out.json"
        child = subprocess.Popen(
            [PYTHON, __file__, "_run", "--out", str(out_file)]
            + (["--count-queries"] if profile else []),
            cwd=ROOT,
            env=roadwise_env(DATABASE),
            stderr=subprocess.PIPE,
            text=True,
        )
        spy = None
        raw = Path(tmp) / "profile.txt"
        if profile:
            spy = subprocess.Popen(
                [str(Path(PYTHON).parent / "py-spy"), "record", "--idle", "--pid", str(child.pid),
                 "--format", "raw", "--output", str(raw), "--rate", "50", "--nonblocking",
                 "--duration", str(int(min(limit, 600)))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        started = time.perf_counter()
        peak_kib = 0
        stopped = False
        stopped_at = None
        while child.poll() is None:
            peak_kib = max(peak_kib, _vmhwm(child.pid))
            if time.perf_counter() - started > limit:
                stopped = True
                stopped_at = datetime.now(CHINA)
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
        stderr = child.stderr.read() if child.stderr else ""
        if spy is not None:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
        result = {"stopped": stopped, "wall_seconds": wall, "peak_kib": peak_kib}
        if not stopped and child.returncode:
            raise RuntimeError(f"the reward run failed:\n{stderr[-4000:]}")
        if out_file.exists():
            result.update(json.loads(out_file.read_text()))
            result["peak_kib"] = max(peak_kib, result["maxrss_kib"])
        if profile and raw.exists():
            result["profile"] = summarise_profile(raw, within="run_due_rewards")
    result.update(_progress(DATABASE, stopped_at))
    result["month"] = month.isoformat()
    return result


def run(args) -> list[dict]:
    quick = getattr(args, "quick", False)
    drivers = getattr(args, "drivers", None) or (200 if quick else 20_000)
    events = getattr(args, "events", None) or (10_000 if quick else 1_000_000)
    limit = getattr(args, "limit", None) or 900.0
    profile = bool(getattr(args, "profile", False))
    log = getattr(args, "log", None) or (lambda message: print(message, file=sys.stderr))
    out = measure(drivers, events, limit, profile, log)
    log("  " + json.dumps({k: v for k, v in out.items() if k != "profile"}, default=str))
    if out.get("profile"):
        log(out["profile"])
        if hasattr(args, "profiles") and isinstance(args.profiles, dict):
            args.profiles["reward_run"] = out["profile"]
    db_drop(DATABASE)
    peak_gib = out["peak_kib"] / 2**20
    posted_rate = None
    if out.get("post_seconds") and out["posted"]:
        posted_rate = out["posted"] / out["post_seconds"]
    if out["stopped"]:
        figure = None
        finished = (
            f"NOT FINISHED: stopped after {out['wall_seconds']:.0f} s; "
            + (
                f"lines computed in {out['compute_seconds']:.1f} s, "
                if out.get("compute_seconds") is not None
                else "lines not computed yet, "
            )
            + f"{out['posted']:,} of {out['lines']:,} lines posted"
            + (
                f" ({posted_rate:.0f} lines/s: all of them would take about "
                f"{out['compute_seconds'] + out['lines'] / posted_rate:.0f} s)"
                if posted_rate
                else ""
            )
        )
    else:
        figure = round(out["seconds"], 1)
        finished = (
            f"finished: compute {out.get('compute_seconds') or 0:.1f} s, post "
            f"{out.get('post_seconds') or 0:.1f} s ({posted_rate or 0:.0f} lines/s)"
        )
    notes = (
        f"{out['events']:,} events, {drivers:,} drivers, month {out['month']}; {out['lines']:,} "
        f"lines (¥{out['amount_fen'] / 100:,.0f}); {finished}; peak memory is the process's peak "
        f"RSS (VmHWM, sampled and at the end) incl. Django's baseline "
        f"{out.get('baseline_kib', 0) / 1024:.0f} MiB; {machine()}"
    )
    met_time = figure is not None and figure < 60
    return [
        row(
            "8",
            "reward run, wall time (beat's run_due_rewards → run_rewards)",
            figure,
            "s",
            "—",
            None,
            None,
            "< 60 s",
            met_time,
            notes,
        ),
        row(
            "8",
            "reward run, peak memory (process RSS)",
            round(peak_gib, 3),
            "GiB",
            "—",
            None,
            None,
            "< 1 GiB",
            (peak_gib < 1) if not out["stopped"] else None,
            "peak until stopped (the run had not finished)" if out["stopped"] else notes,
        ),
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 events, 200 drivers")
    parser.add_argument("--drivers", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--limit", type=float, help="stop the run after so many seconds (900)")
    parser.add_argument("--profile", action="store_true", help="sample the run with py-spy")
    parser.add_argument("--json", help="also write the rows to this file")
    return parser


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_generate", "_run"):
        internal = argparse.ArgumentParser()
        internal.add_argument("command")
        internal.add_argument("--drivers", type=int)
        internal.add_argument("--events", type=int)
        internal.add_argument("--month")
        internal.add_argument("--out")
        internal.add_argument("--count-queries", action="store_true")
        options = internal.parse_args(argv)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        if options.command == "_generate":
            out = _generate(options.drivers, options.events, date.fromisoformat(options.month))
            print(json.dumps(out))
        else:
            Path(options.out).write_text(json.dumps(_run(options.count_queries)))
        return
    args = _parser().parse_args(argv)
    rows = run(args)
    for result in rows:
        print(json.dumps(result, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
