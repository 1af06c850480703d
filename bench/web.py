"""HTTP plumbing of benchmarks 3 and 6: gunicorn on the loopback (the deployment's settings,
docs/deployment.md) serving ``bench.web_settings`` (production settings + the bare reference
views), and ``wrk`` as the load generator (C, one thread, keep-alive connections, bounded in
time), so that the client takes as little of the two shared cores as it can."""

import contextlib
import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH_DATABASE, ROOT
from bench.ledger import PYTHON, roadwise_env

GUNICORN = str(Path(PYTHON).parent / "gunicorn")
# As docs/deployment.md runs it: sync processes with 2 threads each (gthread).
WORKERS = 4
THREADS = 2
STATIC_ROOT = ROOT / "var" / f"{BENCH_DATABASE}-static"
# The servers' SECRET_KEY, so that the harness can sign a driver's session for them.
SECRET_KEY = secrets.token_urlsafe(64)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def web_env(**extra) -> dict:
    """The environment of the benchmarks' gunicorn: production settings on the bench
    database, the bench URLconf, the harness's media directory (images, renditions)."""
    env = roadwise_env(
        BENCH_DATABASE,
        DJANGO_SETTINGS_MODULE="bench.web_settings",
        STATIC_ROOT=str(STATIC_ROOT),
        MEDIA_ROOT=os.environ.get("MEDIA_ROOT", str(ROOT / "var" / "bench-media")),
        CELERY_BROKER_URL="redis://127.0.0.1:6379/12",
        DATABASE_CONN_MAX_AGE="600",
        SECRET_KEY=SECRET_KEY,
    )
    env.update(extra)
    return env


def collectstatic(env: dict) -> None:
    """The hashed static files the production storage needs (once per run)."""
    done = subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"collectstatic failed:\n{done.stderr[-3000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict, *, workers: int = WORKERS, threads: int = THREADS):
    """A gunicorn on a free loopback port; yields the base URL."""
    port = _free_port()
    with tempfile.TemporaryFile("w+") as errors:
        server = subprocess.Popen(
            [GUNICORN, "cms.wsgi:application", "--workers", str(workers),
             "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--timeout", "120",
             "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    errors.seek(0)
                    raise RuntimeError("gunicorn exited:\n" + errors.read()[-3000:])
                try:
                    status, _body, _h = fetch(f"http://127.0.0.1:{port}/bench/bare.json")
                    if status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer")
                time.sleep(0.3)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def fetch(url: str, *, method: str = "GET", body: bytes | None = None, headers=None):
    """(status, body, headers) of one request, without following redirects."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


@dataclass
class WrkResult:
    per_second: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    latency_ms: float  # mean


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 8,
    method: str = "GET",
    bodies: list[bytes] | None = None,
    headers: dict | None = None,
) -> WrkResult:
    """``wrk`` (one thread, ``connections`` keep-alive connections) for ``seconds``; with
    ``bodies``, each request sends the next one in turn."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        lua = [f'wrk.method = "{method}"']
        for name, value in (headers or {}).items():
            lua.append(f'wrk.headers["{name}"] = "{value}"')
        if bodies:
            for n, body in enumerate(bodies, start=1):
                (Path(tmp) / f"body{n}").write_bytes(body)
            lua += [
                "local bodies = {}",
                f"for n = 1, {len(bodies)} do",
                f'  local f = io.open("{tmp}/body" .. n, "rb")',
                '  bodies[n] = f:read("*a"); f:close()',
                "end",
                "local i = 0",
                "request = function()",
                f"  i = i % {len(bodies)} + 1",
                "  return wrk.format(nil, nil, nil, bodies[i])",
                "end",
            ]
        script = Path(tmp) / "script.lua"
        script.write_text("\n".join(lua) + "\n")
        done = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", "60s", "-s", str(script), url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    out = done.stdout
    if done.returncode:
        raise RuntimeError(f"wrk failed: {done.stderr or out}")
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    found = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if found:
        errors += int(found.group(1))
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if found:
        errors += sum(int(x) for x in found.groups())
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)]
    return WrkResult(per_second, requests, errors, float(latency.group(1)) * scale)
