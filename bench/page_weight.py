"""Page weight: what a phone downloads for each main page of the site (issue 7).

    .venv/bin/python bench/page_weight.py            # writes docs/page-weight.md
    .venv/bin/python bench/page_weight.py --json out.json --compare before.json

Seeds the demo into a temporary directory (its own SQLite database, media and collected static
files: the real ones are not touched), serves the site in this process with the production
settings (DEBUG off, WhiteNoise serving the hashed and compressed static files, as deployed;
cookies are not marked Secure because the bench speaks plain HTTP), signs in as a demo driver
with Playwright driving Debian's Chromium (/usr/bin/chromium, nothing is downloaded) at phone
size, and loads each page with an empty cache, service workers blocked. For every response it
adds up the bytes transferred (the encoded body, as it came over the wire) and the decoded
size, by type; it lists the render-blocking resources Chromium reports, then loads the page a
second time to show what the HTTP cache saves on a repeat visit.
"""

import argparse
import json
import mimetypes
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}
DRIVER = ("13900000001", "roadwise-demo-2026")  # 王建国: courses, certificates, statements
TYPES = ("html", "css", "js", "image", "font", "other")


def _configure(var_dir: Path) -> None:
    """Production settings on a throw-away directory, before Django is imported."""
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_CACHE_URL", "STATIC_ROOT"):
        os.environ.pop(name, None)
    for name in ("MEDIA_ROOT", "MEDIA_URL", "AWS_STORAGE_BUCKET_NAME", "DEBUG"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cms.settings.production",
        ROADWISE_VAR_DIR=str(var_dir),
        SECRET_KEY=secrets.token_urlsafe(64),
        CREDENTIALS_KEY_ENCRYPTION_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        SITE_URL="http://127.0.0.1:8000",
    )


def _prepare(seed: bool) -> None:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.SESSION_COOKIE_SECURE = False  # plain HTTP on the loopback
    settings.CSRF_COOKIE_SECURE = False
    call_command("collectstatic", interactive=False, verbosity=0, clear=True)
    call_command("migrate", verbosity=0)
    if seed:
        call_command("seed_demo", verbosity=0)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no access log on the terminal
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _with_media(app):
    """Media files (renditions) as a web server or bucket would serve them."""
    from django.conf import settings

    media_root = Path(settings.MEDIA_ROOT).resolve()

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(settings.MEDIA_URL):
            file = (media_root / path.removeprefix(settings.MEDIA_URL)).resolve()
            if file.is_file() and media_root in file.parents:
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                body = file.read_bytes()
                start_response(
                    "200 OK",
                    [
                        ("Content-Type", kind),
                        ("Content-Length", str(len(body))),
                        ("Cache-Control", "max-age=86400"),
                    ],
                )
                return [body]
        return app(environ, start_response)

    return wsgi


def _serve() -> tuple[str, _ThreadingServer]:
    from django.core.wsgi import get_wsgi_application

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server(
        "127.0.0.1",
        port,
        _with_media(get_wsgi_application()),
        server_class=_ThreadingServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def _kind(resource_type: str, content_type: str, url: str) -> str:
    content_type = content_type.split(";")[0].strip()
    if resource_type == "document" or content_type == "text/html":
        return "html"
    if resource_type == "stylesheet" or content_type == "text/css":
        return "css"
    if resource_type == "script" or "javascript" in content_type:
        return "js"
    if resource_type == "image" or content_type.startswith("image/"):
        return "image"
    if resource_type == "font" or content_type.startswith("font/") or "woff" in url:
        return "font"
    return "other"


def _pages(base: str) -> list[tuple[str, str]]:
    """The main pages, found in the seeded demo as the driver sees them."""
    from cms.models import User
    from courses.models import Enrollment
    from credentials.models import Credential

    user = User.objects.get(mobile="+86" + DRIVER[0])
    enrollment = (
        Enrollment.objects.filter(
            user=user,
            course__live=True,
            status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED],
        )
        .order_by("pk")
        .first()
    )
    course = enrollment.course.specific
    lesson = course.lessons().first()
    credential = Credential.objects.filter(holder=user).order_by("pk").first()
    shared = Credential.objects.filter(holder=user).exclude(share_token="").first()
    month = (
        datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().replace(day=1)
        - timedelta(days=1)
    ).strftime("%Y-%m")
    return [
        ("home", "/"),
        ("catalogue", "/courses/"),
        ("course", urlsplit(course.url).path),
        ("lesson", urlsplit(lesson.url).path),
        ("dashboard", "/learn/"),
        ("certificate", f"/certificates/{credential.public_id}/"),
        ("verification", f"/verify/{shared.share_token}/" if shared else "/verify/"),
        ("statement", f"/rewards/statements/{month}/"),
    ]


def _measure(context, url: str) -> dict:
    page = context.new_page()
    rows = []

    def finished(request):
        response = request.response()
        if response is None:
            return
        sizes = request.sizes()
        try:
            decoded = len(response.body())
        except Exception:  # noqa: BLE001 - redirects have no body
            decoded = 0
        rows.append(
            {
                "url": request.url,
                "status": response.status,
                "kind": _kind(
                    request.resource_type, response.headers.get("content-type", ""), request.url
                ),
                "transferred": sizes["responseBodySize"] + sizes["responseHeadersSize"],
                "body": sizes["responseBodySize"],
                "decoded": decoded,
                "cache_control": response.headers.get("cache-control", ""),
            }
        )

    page.on("requestfinished", finished)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    blocking = page.evaluate(
        """() => performance.getEntriesByType("resource")
            .filter(e => e.renderBlockingStatus === "blocking").map(e => e.name)"""
    )
    first = list(rows)
    rows.clear()
    page.goto(url, wait_until="load")  # a repeat visit: what the HTTP cache saves
    page.wait_for_load_state("networkidle")
    repeat = list(rows)
    page.close()
    by_kind = {kind: {"requests": 0, "bytes": 0, "decoded": 0} for kind in TYPES}
    for row in first:
        by_kind[row["kind"]]["requests"] += 1
        by_kind[row["kind"]]["bytes"] += row["body"]
        by_kind[row["kind"]]["decoded"] += row["decoded"]
    return {
        "requests": len(first),
        "transferred": sum(row["transferred"] for row in first),
        "body": sum(row["body"] for row in first),
        "decoded": sum(row["decoded"] for row in first),
        "by_kind": by_kind,
        "blocking": [urlsplit(name).path for name in blocking],
        "resources": [
            {**row, "url": urlsplit(row["url"]).path} for row in first if row["kind"] != "html"
        ],
        # Over the network again (not from the HTTP cache): the page itself, mostly.
        "repeat_requests": sum(1 for row in repeat if row["transferred"]),
        "repeat_body": sum(row["body"] for row in repeat),
    }


def _kb(value: int) -> str:
    return f"{value / 1024:.1f}"


def _commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{sha}{' with uncommitted changes' if dirty else ''}"


def _machine(browser_version: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; Chromium {browser_version}"
    )


def _report(results: dict, meta: dict, before: dict | None) -> str:
    lines = [
        "# Page weight",
        "",
        "What a phone downloads for each main page, measured by `bench/page_weight.py` (run it",
        "again to refresh this file). The demo is seeded into a temporary database and served with",
        "the production settings (WhiteNoise, hashed and compressed static files); Chromium at",
        "360 × 740, signed in as the demo driver 王建国, an empty cache, service workers blocked.",
        "*Transferred* is the encoded body as it came over the wire (gzip or Brotli where the",
        "server compressed it), *decoded* the size after decompression; headers are not counted",
        "in the columns by type but are in *total with headers*.",
        "",
        f"- machine: {meta['machine']}",
        f"- date: {meta['date']}",
        f"- commit: {meta['commit']}",
        "",
        "## Summary",
        "",
    ]
    if before:
        lines += [
            "| page | requests (before) | KB transferred (before) | KB decoded (before) "
            "| render-blocking |",
            "|---|---:|---:|---:|---|",
        ]
    else:
        lines += [
            "| page | requests | KB transferred | KB decoded | render-blocking |",
            "|---|---:|---:|---:|---|",
        ]
    for name, result in results.items():
        blocking = ", ".join(f"`{path}`" for path in result["blocking"]) or "none"
        if before and name in before["pages"]:
            old = before["pages"][name]
            lines.append(
                f"| {name} | {result['requests']} ({old['requests']}) | {_kb(result['body'])} "
                f"({_kb(old['body'])}) | {_kb(result['decoded'])} ({_kb(old['decoded'])}) "
                f"| {blocking} |"
            )
        else:
            lines.append(
                f"| {name} | {result['requests']} | {_kb(result['body'])} | "
                f"{_kb(result['decoded'])} | {blocking} |"
            )
    if before:
        lines += ["", f"*Before*: {before['meta']['commit']}, measured {before['meta']['date']}."]
    lines += [
        "",
        "Notes:",
        "",
        "- The favicon (`/static/img/favicon.svg`, 0.2 KB, cached for good) is one of the",
        "  requests. Without it every page asked for `/favicon.ico` and got the 404 page, which",
        "  Playwright does not report, so the *before* counts miss that request.",
        "- Media files (image renditions) are served by this bench with `max-age=86400`; in",
        "  production their caching is the web server's or the bucket's.",
        "- With service workers allowed, the first course or lesson page a signed-in driver opens",
        "  also fetches `/sw.js`, and the worker pre-caches `site.css`, `offline.js`, `lesson.js`",
        "  and the offline page in each language, once (see static/js/sw.js).",
        "- The site uses the phone's own fonts: no web font is downloaded on any page.",
    ]
    for name, result in results.items():
        lines += [
            "",
            f"## {name}: `{result['path']}`",
            "",
            "| type | requests | KB transferred | KB decoded |",
            "|---|---:|---:|---:|",
        ]
        for kind in TYPES:
            row = result["by_kind"][kind]
            if row["requests"]:
                lines.append(
                    f"| {kind} | {row['requests']} | {_kb(row['bytes'])} | {_kb(row['decoded'])} |"
                )
        lines.append(
            f"| **all** | **{result['requests']}** | **{_kb(result['body'])}** | "
            f"**{_kb(result['decoded'])}** |"
        )
        lines += [
            "",
            f"Total with headers: {_kb(result['transferred'])} KB. Repeat visit: "
            f"{result['repeat_requests']} requests, {_kb(result['repeat_body'])} KB "
            "(the rest comes from the HTTP cache).",
        ]
        if result["resources"]:
            lines += [
                "",
                "| resource | status | KB transferred | Cache-Control |",
                "|---|---:|---:|---|",
            ]
            for row in result["resources"]:
                lines.append(
                    f"| `{row['url']}` | {row['status']} | {_kb(row['body'])} | "
                    f"{row['cache_control'] or '—'} |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(ROOT / "docs" / "page-weight.md"))
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument("--compare", help="figures of an earlier run (--json) to show beside")
    parser.add_argument(
        "--var-dir",
        help="seed the demo here and keep it (a second run with the same directory reuses it)",
    )
    args = parser.parse_args()

    var_dir = Path(args.var_dir or tempfile.mkdtemp(prefix="roadwise-weight-")).resolve()
    seeded = (var_dir / "roadwise.sqlite3").exists()
    _configure(var_dir)
    _prepare(seed=not seeded)
    base, server = _serve()
    pages = _pages(base)
    from playwright.sync_api import sync_playwright

    results = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            context = browser.new_context(
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
                service_workers="block",
            )
            login = context.new_page()
            login.goto(f"{base}/accounts/login/")
            login.fill("input[name=username]", DRIVER[0])
            login.fill("input[name=password]", DRIVER[1])
            login.click("button[type=submit]")
            login.wait_for_load_state("load")
            login.close()
            for name, path in pages:
                fresh = browser.new_context(
                    viewport=PHONE,
                    device_scale_factor=2,
                    is_mobile=True,
                    has_touch=True,
                    locale="zh-CN",
                    service_workers="block",
                    storage_state=context.storage_state(),
                )
                results[name] = {"path": path, **_measure(fresh, base + path)}
                fresh.close()
                print(  # noqa: T201
                    f"{name:13} {results[name]['requests']:3} requests "
                    f"{_kb(results[name]['body']):>7} KB transferred"
                )
            meta = {
                "machine": _machine(browser.version),
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "commit": _commit(),
            }
            browser.close()
    finally:
        server.shutdown()
        if not args.var_dir:
            shutil.rmtree(var_dir, ignore_errors=True)
    before = json.loads(Path(args.compare).read_text()) if args.compare else None
    Path(args.output).write_text(_report(results, meta, before), encoding="utf-8")
    print(f"wrote {args.output}")  # noqa: T201
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "pages": results}, indent=1))


if __name__ == "__main__":
    main()
