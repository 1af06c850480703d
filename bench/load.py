"""Load test (issue 9): the verify and ingestion APIs under steady load for several minutes,
at the same time, on the loopback. Holds when no request fails, every accepted event is stored
exactly once, and the server's memory does not grow.

    make load                                   # 5 minutes (LOAD_ARGS="--minutes 10")
    .venv/bin/python bench/load.py --minutes 1  # a shorter run

gunicorn as deployed (docs/deployment.md: 4 processes x 2 threads, production settings,
persistent database connections) on a database of its own (``roadwise_load``, re-created), and
two ``wrk`` clients, each bounded in time: one posts, in turn, 20 distinct issued credentials to
``POST /api/v1/credentials/verify`` and counts answers that do not say ``"verified": true``; the
other posts batches of new service events (each id used once) to ``POST
/api/v1/service-events`` and adds up the ``accepted`` counts of the answers. The resident memory
of gunicorn's processes is sampled every 5 seconds; growth is the mean of the last fifth of the
samples over the mean of the first fifth after a minute's warm-up (every process has then served
every kind of request many times). Results go to docs/load-test.md with the machine and date.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("ROADWISE_BENCH_PREFIX", "roadwise_load")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT,
    issue_credentials_unqueued,
    make_course,
    make_platform_key,
    setup_django,
)
from bench.run import commit, machine  # noqa: E402
from bench.web import collectstatic, fetch, gunicorn, web_env, wrk_available  # noqa: E402

OUTPUT = ROOT / "docs" / "load-test.md"
DRIVERS = 1000
EVENTS_PER_REQUEST = 50
SAMPLE_SECONDS = 5
WARM_UP_SECONDS = 60
# Memory may wobble (allocator arenas, caches filling): more than this over the run is growth.
GROWTH_LIMIT = 0.05
GROWTH_FLOOR_MB = 8.0


def _setup() -> dict:
    """Credentials to verify, and a platform with an API key and linked drivers."""
    from cms.models import PlatformApiKey, User
    from rewards.models import DriverLink

    course = make_course()
    credentials = issue_credentials_unqueued(course, 20)
    key = make_platform_key("load-platform")
    platform = PlatformApiKey.objects.get(prefix=key.split("_")[1]).organization
    base = User.objects.count()
    users = User.objects.bulk_create(
        User(mobile=f"+86136{base + n:08d}", password="!")  # noqa: S106 - unusable
        for n in range(DRIVERS)
    )
    DriverLink.objects.bulk_create(
        DriverLink(platform=platform, driver=user, platform_driver_id=f"L{n:06d}")
        for n, user in enumerate(users)
    )
    return {"credentials": [c.document for c in credentials], "key": key, "platform": platform}


_LUA_COMMON = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["Content-Type"] = "application/json"
bad = 0
answered = 0
accepted = 0
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("LOAD answered=%d bad=%d accepted=%d\\n",
      t:get("answered"), t:get("bad"), t:get("accepted")))
  end
end
"""

_LUA_VERIFY = """
local bodies = {{}}
for n = 1, {count} do
  local f = io.open("{folder}/body" .. n, "rb")
  bodies[n] = f:read("*a"); f:close()
end
local i = 0
request = function()
  i = i % {count} + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
response = function(status, headers, body)
  answered = answered + 1
  if status ~= 200 or not string.find(body, '"verified"%s*:%s*true') then bad = bad + 1 end
end
"""

_LUA_INGEST = """
local n = 0
request = function()
  n = n + 1
  local events = {{}}
  for k = 1, {per_request} do
    local driver = string.format("L%06d", (n * {per_request} + k) % {drivers})
    events[k] = string.format(
      '{{"id":"{run}-%d-%d","driver":"%s","type":"trip","occurred_at":"{when}","fare_fen":%d}}',
      n, k, driver, 1500 + (n + k) % 3000)
  end
  return wrk.format(nil, nil, nil, '{{"events":[' .. table.concat(events, ",") .. ']}}')
end
response = function(status, headers, body)
  answered = answered + 1
  if status ~= 200 then bad = bad + 1; return end
  local count = tonumber(string.match(body, '"accepted"%s*:%s*(%d+)'))
  if count == nil or count ~= {per_request} then bad = bad + 1 end
  accepted = accepted + (count or 0)
end
"""


def _wrk(url: str, script: str, *, seconds: int, connections: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", script, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _parse(out: str) -> dict:
    found = re.search(r"LOAD answered=(\d+) bad=(\d+) accepted=(\d+)", out)
    if found is None:
        raise RuntimeError(f"wrk gave no counts:\n{out}")
    errors = 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors = sum(int(x) for x in socket.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "answered": int(found.group(1)),
        "bad": int(found.group(2)),
        "accepted": int(found.group(3)),
        "socket_errors": errors,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "latency_mean_ms": float(latency.group(1)) * scale[latency.group(2)],
        "latency_max_ms": float(latency.group(5)) * scale[latency.group(6)],
    }


def _server_pids(port: int) -> list[int]:
    """gunicorn's master and workers (the workers are forks: the same command line)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "gunicorn" in cmdline and f"127.0.0.1:{port}" in cmdline:
            pids.append(int(entry.name))
    return pids


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        if found:
            total += int(found.group(1))
    return total / 1024


def run(minutes: float, connections: int) -> dict:
    if not wrk_available():
        raise SystemExit("wrk is missing: apt-get install wrk (see bench/README.md)")
    setup_django(fresh=True)
    data = _setup()
    from rewards.models import ServiceEvent

    # As deployed: the cache (and so the per-key rate limit's counters) in Redis. The key's
    # limit is raised above what two clients on two cores can send: this is a load test, not a
    # test of the limit (tests/cms/test_api_rate_limit.py is).
    env = web_env(REDIS_CACHE_URL="redis://127.0.0.1:6379/11", API_RATE_LIMIT_PER_MINUTE="100000")
    collectstatic(env)
    seconds = max(30, round(minutes * 60))
    run_id = f"load{int(time.time())}"
    when = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    headers = {"Authorization": f"Bearer {data['key']}", "Content-Type": "application/json"}
    result: dict = {"seconds": seconds, "connections": connections}
    with tempfile.TemporaryDirectory(prefix="load-") as folder, gunicorn(env) as base:
        bodies = [
            json.dumps({"credential": json.loads(document)}, ensure_ascii=False).encode()
            for document in data["credentials"]
        ]
        for n, body in enumerate(bodies, start=1):
            (Path(folder) / f"body{n}").write_bytes(body)
        status, answer, _h = fetch(
            base + "/api/v1/credentials/verify", method="POST", body=bodies[0], headers=headers
        )
        if status != 200 or json.loads(answer).get("verified") is not True:
            raise RuntimeError(f"verify does not work before the load: {status} {answer[:300]!r}")
        verify_lua = Path(folder) / "verify.lua"
        verify_lua.write_text(
            _LUA_COMMON.format(key=data["key"])
            + _LUA_VERIFY.format(count=len(bodies), folder=folder)
        )
        ingest_lua = Path(folder) / "ingest.lua"
        ingest_lua.write_text(
            _LUA_COMMON.format(key=data["key"])
            + _LUA_INGEST.format(
                per_request=EVENTS_PER_REQUEST, drivers=DRIVERS, run=run_id, when=when
            )
        )
        port = int(base.rsplit(":", 1)[1])
        pids = _server_pids(port)
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            began = time.monotonic()
            while not stop.is_set():
                samples.append((time.monotonic() - began, _rss_mb(pids)))
                stop.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        verify = _wrk(
            base + "/api/v1/credentials/verify", str(verify_lua), seconds=seconds,
            connections=connections,
        )  # fmt: skip
        ingest = _wrk(
            base + "/api/v1/service-events", str(ingest_lua), seconds=seconds,
            connections=max(1, connections // 2),
        )  # fmt: skip
        verify_out, _ = verify.communicate(timeout=seconds + 120)
        ingest_out, _ = ingest.communicate(timeout=seconds + 120)
        time.sleep(2)  # answers cut off by wrk's deadline finish on the server
        stop.set()
        sampler.join()
        result["verify"] = _parse(verify_out)
        result["ingest"] = _parse(ingest_out)
        result["processes"] = len(pids)
    stored = ServiceEvent.objects.filter(external_id__startswith=f"{run_id}-")
    result["stored"] = stored.count()
    result["stored_distinct"] = stored.values("external_id").distinct().count()
    warm = [mb for t, mb in samples if t >= min(WARM_UP_SECONDS, seconds / 3)]
    fifth = max(1, len(warm) // 5)
    first, last = statistics.mean(warm[:fifth]), statistics.mean(warm[-fifth:])
    result["memory"] = {
        "samples": len(samples),
        "start_mb": round(samples[0][1], 1),
        "warm_first_mb": round(first, 1),
        "warm_last_mb": round(last, 1),
        "peak_mb": round(max(mb for _t, mb in samples), 1),
        "growth": round(last / first - 1, 4),
    }
    # What must hold.
    checks = {
        "verify: every answer 200 and verified": result["verify"]["bad"] == 0
        and result["verify"]["non_2xx"] == 0
        and result["verify"]["socket_errors"] == 0,
        "ingest: every answer 200, every event accepted": result["ingest"]["bad"] == 0
        and result["ingest"]["non_2xx"] == 0
        and result["ingest"]["socket_errors"] == 0,
        # Requests cut off by wrk's deadline may still be stored; none may be lost or doubled.
        "ingest: every accepted event stored exactly once": result["stored"]
        == result["stored_distinct"]
        and result["ingest"]["accepted"]
        <= result["stored"]
        <= result["ingest"]["accepted"] + connections * EVENTS_PER_REQUEST,
        "memory: no growth after warm-up": (last - first)
        <= max(GROWTH_LIMIT * first, GROWTH_FLOOR_MB),
    }
    result["checks"] = checks
    result["memory_trace"] = [(round(t), round(mb, 1)) for t, mb in samples]
    return result


def write_report(result: dict, info: dict, started: datetime) -> None:
    v, i, m = result["verify"], result["ingest"], result["memory"]
    lines = [
        "# Load test: verify and ingestion APIs together",
        "",
        "Written by `make load` (bench/load.py); do not edit by hand. What holds and why is in "
        "docs/reliability.md.",
        "",
        f"- Run: {started:%Y-%m-%d %H:%M} UTC, commit {commit()}, {result['seconds']} s of load.",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']}, Linux {info['kernel']}, "
        f"Python {info['python']}, PostgreSQL {info['postgresql']}; load average at the end "
        f"{info['load']} (a shared machine).",
        "- Server: gunicorn, 4 processes x 2 threads, production settings, the cache and the "
        "per-key rate limit's counters in Redis (limit raised to 100,000 a minute), on the "
        "loopback; "
        "clients: two `wrk` (one thread each) on the same machine.",
        "",
        "| | verify | ingestion |",
        "|---|---|---|",
        f"| connections | {result['connections']} | {max(1, result['connections'] // 2)} |",
        f"| requests answered | {v['answered']:,} | {i['answered']:,} |",
        f"| requests per second | {v['per_second']:.1f} | {i['per_second']:.1f} |",
        f"| events accepted | | {i['accepted']:,} ({EVENTS_PER_REQUEST} per request) |",
        f"| events stored (distinct) | | {result['stored']:,} ({result['stored_distinct']:,}) |",
        f"| failed answers (non-2xx or wrong body) | {v['bad']} | {i['bad']} |",
        f"| socket errors | {v['socket_errors']} | {i['socket_errors']} |",
        f"| latency mean / max (ms) | {v['latency_mean_ms']:.1f} / {v['latency_max_ms']:.0f} "
        f"| {i['latency_mean_ms']:.1f} / {i['latency_max_ms']:.0f} |",
        "",
        f"Memory of gunicorn's {result['processes']} processes (RSS, sum): {m['start_mb']} MB "
        f"at the start, {m['warm_first_mb']} MB in the first fifth after warm-up, "
        f"{m['warm_last_mb']} MB in the last fifth ({m['growth'] * 100:+.1f} %), peak "
        f"{m['peak_mb']} MB; {m['samples']} samples, one every {SAMPLE_SECONDS} s.",
        "",
        "| check | held |",
        "|---|---|",
        *[f"| {name} | {'yes' if ok else '**NO**'} |" for name, ok in result["checks"].items()],
        "",
        "Memory trace (seconds, MB): "
        + ", ".join(
            f"{t} {mb}"
            for t, mb in result["memory_trace"][:: max(1, len(result["memory_trace"]) // 40)]
        ),
        "",
    ]
    OUTPUT.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the load")
    parser.add_argument("--connections", type=int, default=4, help="verify's connections")
    args = parser.parse_args()
    started = datetime.now(UTC)
    result = run(args.minutes, args.connections)
    write_report(result, machine(), started)
    print(json.dumps({k: v for k, v in result.items() if k != "memory_trace"}, indent=2))
    print(f"wrote {OUTPUT}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
