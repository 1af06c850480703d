"""Benchmark 9 (issue 8): service-event ingestion, events per second, in batches of 1,000.
Target: at least 20,000 events/s over the API.

    .venv/bin/python bench/ingest.py            # 200 batches over HTTP, 100 in-process
    .venv/bin/python bench/ingest.py --quick    # 10 and 5 batches
    .venv/bin/python bench/ingest.py --batches 100 --connections 8 --workers 4 --profile
    .venv/bin/python bench/ingest.py --threads 2     # gunicorn as deployed (4 workers × 2)

Two figures, each on a fresh copy of the template database ``roadwise_bench_ingest_tpl`` (one
platform, 20,000 drivers linked to it; rebuilt when the migrations or this file change):

- **HTTP**: gunicorn (the pinned one; ``--workers`` sync workers, production settings, DEBUG
  off, persistent database connections) on the loopback, and a client of ``--connections``
  threads, each with its own keep-alive connection, posting pre-encoded batches of 1,000 new
  events (trips, their ratings, online sessions of linked drivers) to
  ``POST /api/v1/service-events`` with the platform's API key. Events per second is events
  accepted (read from each answer) over the wall time from the first request to the last answer.
  The client runs on the same machine and competes for its CPUs; it only sends prepared bytes
  and reads the count. The CPU each part used per batch is read from /proc around the run:
  gunicorn's workers, the PostgreSQL backends of the benchmark database and PostgreSQL's WAL
  writer/checkpointer/background writer, the client, and the rest of the machine ("others":
  on a shared machine, other people's work).
- **In-process**: ``rewards.services.service_events_ingest`` called directly with the same kind
  of batches, one after another, in one process: the service's own ceiling, without HTTP,
  JSON or the API's answer.

``--profile`` samples the in-process run with py-spy and counts its SQL statements.
"""

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

TEMPLATE = f"{BENCH_PREFIX}_ingest_tpl"
DATABASE = f"{BENCH_PREFIX}_ingest"
PLATFORM_SLUG = "bench-ingest-platform"
DRIVERS = 20_000
BATCH = 1000
ACCEPTED = re.compile(rb'"accepted"\s*:\s*(\d+)')


def batches(count: int, prefix: str, drivers: int = DRIVERS) -> list[list[dict]]:
    """``count`` batches of 1,000 new events: per 20 events 9 trips, their 9 ratings and 2
    online sessions, of drivers taken in turn, dated in the last two days (every session ended
    at least 13 hours ago)."""
    now = datetime.now(UTC).replace(microsecond=0)
    out = []
    n = 0
    for b in range(count):
        rows = []
        while len(rows) < BATCH:
            driver = f"D{n % drivers:06d}"
            when = now - timedelta(hours=47) + timedelta(seconds=(n * 37) % 100_000)
            trip_id = f"{prefix}-{b}-{n}-t"
            rows.append({"id": trip_id, "driver": driver, "type": "trip",
                         "occurred_at": when.isoformat(), "fare_fen": 1500 + n % 5000})  # fmt: skip
            rows.append({"id": f"{prefix}-{b}-{n}-r", "driver": driver, "type": "rating",
                         "occurred_at": (when + timedelta(minutes=30)).isoformat(),
                         "rating": 5 - (n % 7 == 0), "trip_id": trip_id})  # fmt: skip
            if n % 9 == 0:
                rows.append({"id": f"{prefix}-{b}-{n}-s", "driver": driver,
                             "type": "online_session", "occurred_at": when.isoformat(),
                             "ended_at": (when + timedelta(hours=3)).isoformat()})  # fmt: skip
                rows.append({"id": f"{prefix}-{b}-{n}-s2", "driver": driver,
                             "type": "online_session",
                             "occurred_at": (when + timedelta(hours=4)).isoformat(),
                             "ended_at": (when + timedelta(hours=6)).isoformat()})  # fmt: skip
            n += 1
        out.append(rows[:BATCH])
    return out


# --- subprocesses: `_setup` (template), `_key`, `_inproc` ----------------------------------


def _setup() -> dict:
    from django.contrib.auth.hashers import make_password

    from cms.models import Organization, User
    from rewards.models import DriverLink

    platform = Organization.objects.create(
        kind=Organization.Kind.PLATFORM,
        name="基准数据平台",
        name_en="Bench data",
        slug=PLATFORM_SLUG,
    )
    password = make_password(None)
    User.objects.bulk_create(
        [User(mobile=f"+86137{n:08d}", password=password) for n in range(DRIVERS)],
        batch_size=5000,
    )
    ids = User.objects.filter(mobile__startswith="+86137").order_by("mobile")
    DriverLink.objects.bulk_create(
        [
            DriverLink(platform=platform, driver_id=pk, platform_driver_id=f"D{n:06d}")
            for n, pk in enumerate(ids.values_list("pk", flat=True))
        ],
        batch_size=5000,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"drivers": DRIVERS}


def _key() -> dict:
    from cms.api_keys import platform_api_key_create
    from cms.models import Organization

    _api_key, raw = platform_api_key_create(
        organization=Organization.objects.get(slug=PLATFORM_SLUG), name="bench"
    )
    return {"key": raw}


def _inproc(count: int, profile_queries: bool) -> dict:
    from collections import Counter

    from django.db import connection

    from cms.models import Organization
    from rewards import services

    platform = Organization.objects.get(slug=PLATFORM_SLUG)
    work = batches(count, "inproc")
    statements: Counter = Counter()
    spent: Counter = Counter()

    def wrapper(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = " ".join(sql.split()[:4])[:70]
            statements[words] += 1
            spent[words] += time.perf_counter() - began

    services.service_events_ingest(platform=platform, rows=batches(1, "warm")[0])
    accepted = 0
    started = time.perf_counter()
    if profile_queries:
        with connection.execute_wrapper(wrapper):
            for rows in work:
                accepted += sum(r.status == "accepted" for r in services.service_events_ingest(
                    platform=platform, rows=rows))  # fmt: skip
    else:
        for rows in work:
            results = services.service_events_ingest(platform=platform, rows=rows)
            accepted += sum(r.status == "accepted" for r in results)
    seconds = time.perf_counter() - started
    out = {"accepted": accepted, "seconds": seconds, "per_second": accepted / seconds}
    if profile_queries:
        out["statements"] = [
            [words, statements[words], round(spent[words], 3)] for words, _t in spent.most_common(8)
        ]
    return out


# --- HTTP ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + (server.stderr.read() or "")[-3000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (Linux /proc), 0 if it is gone or unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), sum(ticks) / os.sysconf("SC_CLK_TCK")


def _cpu_snapshot(server_pid: int) -> dict:
    """CPU seconds so far of the gunicorn workers, of the PostgreSQL backends serving this
    database, of this client process, and of the whole machine (other people's work too)."""
    with _admin() as conn:
        backends = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [DATABASE]
            ).fetchall()
        ]
        helpers = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE backend_type IN "
                "('walwriter', 'checkpointer', 'background writer')"
            ).fetchall()
        ]
    busy, _total = _machine_cpu()
    return {
        "gunicorn": {pid: _cpu_seconds(pid) for pid in _children(server_pid)},
        "postgres": {pid: _cpu_seconds(pid) for pid in backends},
        "postgres_helpers": {pid: _cpu_seconds(pid) for pid in helpers},
        "client": sum(os.times()[:2]),
        "machine": busy,
    }


def _cpu_per_batch(before: dict, after: dict, batches: int) -> dict:
    """CPU milliseconds per batch of each part, between two snapshots."""
    out = {}
    for part in ("gunicorn", "postgres", "postgres_helpers"):
        out[part] = sum(
            seconds - before[part].get(pid, 0.0) for pid, seconds in after[part].items()
        )
    out["client"] = after["client"] - before["client"]
    out["machine"] = after["machine"] - before["machine"]
    out["others"] = out["machine"] - sum(out[p] for p in ("gunicorn", "postgres", "client"))
    out["others"] -= out["postgres_helpers"]
    return {part: round(1000 * seconds / batches, 1) for part, seconds in out.items()}


def _http(count: int, connections: int, workers: int, threads: int, key: str, log) -> dict:
    port = _free_port()
    bodies = [json.dumps({"events": rows}).encode() for rows in batches(count, "http")]
    warm = json.dumps({"events": batches(1, "warmup")[0]}).encode()
    env = roadwise_env(DATABASE)
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "cms.wsgi:application", "--workers",
         str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
         "--timeout", "120",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    try:
        _wait_until_up(port, server)
        # Warm every worker (imports, connection, first queries) before the clock starts.
        for _ in range(workers * 2):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", "/api/v1/service-events", body=warm, headers=headers)
            conn.getresponse().read()
            conn.close()
        lock = threading.Lock()
        queue = list(reversed(bodies))
        accepted = [0]
        failures: list[str] = []

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            while True:
                with lock:
                    if not queue:
                        break
                    body = queue.pop()
                conn.request("POST", "/api/v1/service-events", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                found = ACCEPTED.search(data[:200])
                with lock:
                    if response.status != 200 or not found:
                        failures.append(f"{response.status} {data[:200]!r}")
                    else:
                        accepted[0] += int(found.group(1))
            conn.close()

        clients = [threading.Thread(target=client) for _ in range(connections)]
        cpu_before = _cpu_snapshot(server.pid)
        started = time.perf_counter()
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        seconds = time.perf_counter() - started
        cpu = _cpu_per_batch(cpu_before, _cpu_snapshot(server.pid), count)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {
        "accepted": accepted[0],
        "sent": count * BATCH,
        "seconds": seconds,
        "per_second": accepted[0] / seconds,
        "failures": failures[:3],
        "failure_count": len(failures),
        "cpu_ms_per_batch": cpu,
        "wall_ms_per_batch": round(1000 * seconds / count, 1),
    }


def _child(command: list[str]) -> dict:
    done = subprocess.run(
        [PYTHON, __file__, *command], cwd=ROOT, env=roadwise_env(DATABASE),
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _template(log) -> None:
    want = code_hash("bench/ingest.py")
    if db_exists(TEMPLATE) and db_comment(TEMPLATE) == want:
        return
    log(f"  building {TEMPLATE} ({DRIVERS:,} linked drivers)…")
    db_create(TEMPLATE, template=migrated_template(log))
    done = subprocess.run(
        [PYTHON, __file__, "_setup"], cwd=ROOT, env=roadwise_env(TEMPLATE),
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"_setup failed:\n{done.stderr[-4000:]}")
    with _admin() as conn:
        from psycopg import sql

        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(TEMPLATE), sql.Literal(want)
            )
        )


def _profiled_inproc(count: int) -> tuple[dict, str]:
    """The in-process run under py-spy: (its result, the hottest project frames)."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        raw = Path(tmp) / "profile.txt"
        done = subprocess.run(
            [str(Path(PYTHON).parent / "py-spy"), "record", "--idle", "--format", "raw",
             "--rate", "200", "--output", str(raw), "--",
             PYTHON, __file__, "_inproc", "--batches", str(count)],
            cwd=ROOT, env=roadwise_env(DATABASE), capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"py-spy failed:\n{done.stderr[-3000:]}")
        last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
        result = json.loads(last)
        return result, summarise_profile(raw, within="_inproc")


def run(args) -> list[dict]:
    quick = getattr(args, "quick", False)
    http_batches = getattr(args, "batches", None) or (10 if quick else 200)
    inproc_batches = max(http_batches // 2, 5)
    connections = getattr(args, "connections", None) or 8
    workers = getattr(args, "workers", None) or 4
    threads = getattr(args, "threads", None) or 1
    profile = bool(getattr(args, "profile", False))
    log = getattr(args, "log", None) or (lambda message: print(message, file=sys.stderr))
    _template(log)

    db_create(DATABASE, template=TEMPLATE)
    key = _child(["_key"])["key"]
    over_http = _http(http_batches, connections, workers, threads, key, log)
    log(f"  http: {json.dumps(over_http)}")

    db_create(DATABASE, template=TEMPLATE)
    inproc = _child(["_inproc", "--batches", str(inproc_batches), "--count-queries"])
    log(f"  in-process: {json.dumps(inproc)}")
    profile_text = ""
    if profile:
        db_create(DATABASE, template=TEMPLATE)
        _profiled, profile_text = _profiled_inproc(inproc_batches)
        log(profile_text)
        if hasattr(args, "profiles") and isinstance(args.profiles, dict):
            args.profiles["ingest"] = profile_text
    db_drop(DATABASE)

    statements = "; ".join(
        f"{words!r} ×{n} ({t:.2f} s)" for words, n, t in inproc.get("statements", [])
    )
    cpu_text = ", ".join(f"{part} {ms}" for part, ms in over_http["cpu_ms_per_batch"].items())
    http_ok = over_http["accepted"] == over_http["sent"] and not over_http["failure_count"]
    common = f"batches of {BATCH:,} new events of {DRIVERS:,} linked drivers; {machine()}"
    return [
        row(
            "9",
            f"service-event ingestion over HTTP (gunicorn {workers} "
            + (f"workers × {threads} threads, " if threads > 1 else "sync workers, ")
            + f"{connections} client connections)",
            round(over_http["per_second"]),
            "events/s",
            "—",
            None,
            None,
            "≥ 20,000 events/s",
            bool(http_ok and over_http["per_second"] >= 20_000),
            f"{over_http['accepted']:,} of {over_http['sent']:,} events accepted in "
            f"{over_http['seconds']:.1f} s, {over_http['failure_count']} failed requests"
            + (f" ({over_http['failures'][0]})" if over_http["failures"] else "")
            + f"; CPU ms per batch: {cpu_text}; client on the same machine; {common}",
        ),
        row(
            "9",
            "service-event ingestion in-process (rewards.services.service_events_ingest)",
            round(inproc["per_second"]),
            "events/s",
            "—",
            None,
            None,
            "— (the service's ceiling, for the HTTP figure)",
            None,
            f"{inproc['accepted']:,} events accepted in {inproc['seconds']:.1f} s, one process, "
            f"one batch after another; SQL by statement: {statements}; {common}",
        ),
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 HTTP batches, 5 in-process")
    parser.add_argument("--batches", type=int, help="HTTP batches (200); in-process half")
    parser.add_argument("--connections", type=int, help="client connections (8)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (4)")
    parser.add_argument(
        "--threads", type=int, help="threads per gunicorn worker (1: sync; deployed: 2)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the in-process run")
    parser.add_argument("--json", help="also write the rows to this file")
    return parser


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_setup", "_key", "_inproc"):
        internal = argparse.ArgumentParser()
        internal.add_argument("command")
        internal.add_argument("--batches", type=int, default=5)
        internal.add_argument("--count-queries", action="store_true")
        options = internal.parse_args(argv)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        if options.command == "_setup":
            out = _setup()
        elif options.command == "_key":
            out = _key()
        else:
            out = _inproc(options.batches, options.count_queries)
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
