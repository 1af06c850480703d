"""PostgreSQL restarted (fast shutdown) and crashed (immediate shutdown) while a platform sends
batches of service events to a running site: the platform retries what failed with the same
event ids, as the API asks, and in the end every event is stored exactly once; the failures were
quick 503 answers with a clear message, and the site recovered without being restarted.

The shared PostgreSQL is never touched: the test starts a private cluster of its own (initdb in
a temporary directory, on a free port), migrates it, and serves the site from gunicorn on it."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from glob import glob
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
BATCHES = 30
PER_BATCH = 20

pytestmark = [
    pytest.mark.faults,
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not glob("/usr/lib/postgresql/*/bin/initdb"),
        reason="needs PostgreSQL (and its server binaries for a private cluster)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateCluster:
    """A throw-away PostgreSQL cluster. As root, initdb refuses to run: then as `postgres`."""

    def __init__(self, directory: Path):
        self.bin = Path(sorted(glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
        self.dir = directory
        self.data = directory / "data"
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def init(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "faults")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.dir / "log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str) -> None:
        # -l again: without it the new server writes to our pipe and we wait for it forever.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-o", options, "-l",
                  str(self.dir / "log"), "-w", "restart")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/faults"


@pytest.fixture
def cluster():
    # Not pytest's tmp_path: its parents are closed to the `postgres` user.
    directory = Path(tempfile.mkdtemp(prefix="roadwise-faults-pg-"))
    cluster = PrivateCluster(directory)
    try:
        cluster.init()
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(directory, ignore_errors=True)


SETUP = """
from cms.api_keys import platform_api_key_create
from cms.models import Organization
from rewards import services
from tests.factories import DriverFactory
platform = Organization.objects.create(kind="platform", name="快行出行", slug="kuaixing")
for n in range(3):
    driver = DriverFactory(mobile=f"+861390000000{n}")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=f"KX-{n}"
    )
    services.link_request_decide(request=request, driver=driver, approve=True)
print(platform_api_key_create(organization=platform, name="faults")[1])
"""

REPORT = """
import json
from django.db.models import Count
from rewards.ledger import check_invariants
from rewards.models import ServiceEvent
print(json.dumps({
    "count": ServiceEvent.objects.count(),
    "ids": sorted(ServiceEvent.objects.values_list("external_id", flat=True)),
    "doubled": ServiceEvent.objects.values("external_id").annotate(n=Count("id"))
        .filter(n__gt=1).count(),
    "invariants": [str(problem) for problem in check_invariants()],
}))
"""


def _manage(env: dict, *args: str, timeout: float = 300) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    ).stdout


def _post(url: str, key: str, events: list) -> tuple[int, dict | None, float]:
    request = urllib.request.Request(  # noqa: S310 - http on loopback
        url,
        data=json.dumps({"events": events}).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept-Language": "en",
        },  # fmt: skip
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read()), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {"raw": body[:200].decode("utf-8", "replace")}
        return exc.code, parsed, time.monotonic() - started


def test_events_sent_while_postgresql_restarts_are_stored_exactly_once(cluster):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cms.settings.test",
        "DATABASE_URL": cluster.url,
        "DATABASE_CONN_MAX_AGE": "60",  # persistent connections, as in production
        "ROADWISE_EAGER_TASKS": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    _manage(env, "migrate", "--noinput", timeout=600)
    key = _manage(env, "shell", "-c", SETUP).strip().splitlines()[-1]
    port = _free_port()
    log = (ROOT / "var" / f"faults-gunicorn-{port}.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cms.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", "2", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/service-events"
    start = timezone.now() - timedelta(hours=2)

    def batch(b: int) -> list[dict]:
        return [
            {
                "id": f"trip-{b}-{i}",
                "driver": f"KX-{i % 3}",
                "type": "trip",
                "occurred_at": (start - timedelta(seconds=b * PER_BATCH + i)).isoformat(),
                "fare_fen": 1000 + i,
            }  # fmt: skip
            for i in range(PER_BATCH)
        ]

    failures: list[tuple[int, dict | None, float]] = []
    accepted: dict[str, int] = {}
    outages_done = threading.Event()

    def outages():
        time.sleep(2)
        cluster.restart("fast")
        time.sleep(2)
        cluster.stop("fast")  # down for a few seconds: the platform keeps sending meanwhile
        time.sleep(4)
        cluster.start()
        time.sleep(2)
        cluster.stop("immediate")  # a crash: no checkpoint, open transactions lost
        time.sleep(4)
        cluster.start()
        outages_done.set()

    try:
        deadline = time.monotonic() + 60
        while True:  # the site is up
            try:
                status, _body, _took = _post(url, key, [])
                if status in (200, 422):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)
        chaos = threading.Thread(target=outages)
        chaos.start()
        b = 0
        while b < BATCHES or not outages_done.is_set():
            events = batch(b)
            tries = 0
            while True:  # a platform retries the same batch until it is answered
                tries += 1
                status, body, took = _post(url, key, events)
                if status == 200:
                    break
                failures.append((status, body, took))
                assert tries < 100, f"batch {b} never went through: {failures[-3:]}"
                time.sleep(0.5)
            for row in body["results"]:
                assert row["status"] in ("accepted", "duplicate"), row
                if row["status"] == "accepted":
                    accepted[row["id"]] = accepted.get(row["id"], 0) + 1
            b += 1
            time.sleep(0.1)
        chaos.join(timeout=60)
        sent = {event["id"] for n in range(b) for event in batch(n)}
        assert server.poll() is None, "the site itself died"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    report = json.loads(_manage(env, "shell", "-c", REPORT).strip().splitlines()[-1])
    assert failures, "no request failed: the outages did not happen while sending"
    for status, body, took in failures:
        assert status == 503, (status, body)
        assert "try again" in body["detail"]
        assert took < 10, f"a failing request took {took:.1f} s"
    assert report["count"] == len(sent)
    assert set(report["ids"]) == sent  # nothing lost
    assert report["doubled"] == 0  # nothing twice
    assert all(n == 1 for n in accepted.values())
    assert report["invariants"] == []
    print(f"{b} batches, {len(failures)} failed attempts, all answered 503")  # noqa: T201
