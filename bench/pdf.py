"""Benchmark 5 (issue 8): certificate PDFs per second made by real Celery workers (1 and 2
processes), from enqueueing to the last file stored, against WeasyPrint alone rendering the
same HTML (as many documents, as many processes). Target: within 1.3 × of bare rendering.

``N`` credentials are issued beforehand (their own PDF tasks are not queued). A worker
``celery -A cms worker --concurrency P`` (prefork, the project's settings: late acks,
prefetch 1) consumes Redis db 12; each round clears the credentials' ``files_generated_at``,
queues ``credentials.tasks.render_credential_files`` for every one and waits until the
database shows all N stored. The reference is a pool of P processes (started and warmed
beforehand, like the worker) calling ``weasyprint.HTML(string=html).write_pdf()`` on the N
certificates' HTML (``credentials.rendering.pdf.certificate_html``, made once before timing).
Worker rounds and reference rounds alternate. The PDFs are checked: non-empty, one page,
``pdftotext`` finds the driver's Chinese name and the certificate number.
"""

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from bench.common import (
    ROOT,
    Context,
    Row,
    alternate,
    issue_credentials_unqueued,
    make_course,
)

BROKER = "redis://127.0.0.1:6379/12"
TASK = "credentials.tasks.render_credential_files"
TARGET = 1.3


def _render(html: str) -> int:
    """The reference: WeasyPrint alone (in a pool process)."""
    import weasyprint

    return len(weasyprint.HTML(string=html).write_pdf())


def _pdf_text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        done = subprocess.run(
            ["pdftotext", "-layout", handle.name, "-"], capture_output=True, text=True
        )
    if done.returncode:
        raise RuntimeError(f"pdftotext failed: {done.stderr}")
    return done.stdout


def _check_pdf(data: bytes, credential) -> None:
    if not data.startswith(b"%PDF") or len(data) < 5000:
        raise RuntimeError(f"{credential.number}: not a real PDF ({len(data)} bytes)")
    text = "".join(_pdf_text(data).split())
    for needed in (credential.holder_name, credential.number):
        if needed not in text:
            raise RuntimeError(f"{credential.number}: the PDF does not contain {needed!r}")


class Worker:
    """``celery -A cms worker`` with ``concurrency`` processes on Redis db 12."""

    def __init__(self, concurrency: int):
        env = {**os.environ, "CELERY_BROKER_URL": BROKER, "ROADWISE_EAGER_TASKS": "0"}
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "cms", "worker",
             "--concurrency", str(concurrency), "--pool", "prefork", "-O", "fair",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "WARNING", "-n", f"bench-pdf-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        from celery import Celery
        from kombu import Connection

        # An explicit connection: Celery would prefer $CELERY_BROKER_URL (the harness's db 13).
        self.sender = Celery("bench-pdf")
        self.connection = Connection(BROKER)

    def render(self, ids: list[int], timeout: float | None = None) -> float:
        """Queue every credential's task; documents per second until all are stored."""
        from credentials.models import Credential

        Credential.objects.filter(pk__in=ids).update(files_generated_at=None)
        # A minute per document: on a loaded machine one took ~5 s, and 24 exceeded 300 s.
        timeout = timeout or 60 * len(ids)
        started = time.perf_counter()
        for pk in ids:
            self.sender.send_task(TASK, args=[pk], connection=self.connection)
        while True:
            done = Credential.objects.filter(pk__in=ids, files_generated_at__isnull=False).count()
            if done == len(ids):
                return len(ids) / (time.perf_counter() - started)
            if self.process.poll() is not None or time.perf_counter() - started > timeout:
                self.log.seek(0)
                raise RuntimeError("the worker stopped or hung:\n" + self.log.read()[-3000:])
            time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.connection.release()
        self.sender.close()
        self.log.close()


def _purge() -> None:
    import redis

    redis.Redis.from_url(BROKER).flushdb()


def _parts(credential) -> str:
    """Where one certificate's time goes in-process (ms), for the notes."""
    from credentials import files
    from credentials.rendering.badge import badge_image, bake_png
    from credentials.rendering.pdf import certificate_html, html_to_pdf

    def ms(function, count=3) -> float:
        function()
        started = time.perf_counter()
        for _ in range(count):
            function()
        return (time.perf_counter() - started) / count * 1000

    import json

    content = files.certificate_content(credential)
    html = certificate_html(content)
    badge = badge_image(content)
    parts = {
        "content from the database": ms(lambda: files.certificate_content(credential)),
        "HTML (template, QR)": ms(lambda: certificate_html(content)),
        "WeasyPrint (our html_to_pdf)": ms(lambda: html_to_pdf(html)),
        "badge image (Pillow)": ms(lambda: badge_image(content)),
        "baking the badge": ms(lambda: bake_png(badge, json.loads(credential.document))),
        "whole task in-process": ms(lambda: files.credential_files_render(credential=credential)),
    }
    return ", ".join(f"{name} {value:.0f} ms" for name, value in parts.items())


def run(ctx: Context) -> list[Row]:
    from credentials import files
    from credentials.models import Credential
    from credentials.rendering.pdf import certificate_html

    count = ctx.size(24, 4)
    course = make_course()
    credentials = issue_credentials_unqueued(course, count)
    ids = [c.pk for c in credentials]
    htmls = [certificate_html(files.certificate_content(c)) for c in credentials]
    parts = _parts(credentials[0])
    _purge()
    rows = []
    letters = iter("abcd")
    for processes in (1, 2):
        worker = Worker(processes)
        pool = ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn"))
        try:
            # Warm both sides (imports, fonts) and check the work is real.
            worker.render(ids[: max(2, processes * 2)])
            list(pool.map(_render, htmls[: processes * 2]))
            if processes == 1:
                worker.render(ids)
                for credential in Credential.objects.filter(pk__in=ids):
                    with credential.pdf.open("rb") as handle:
                        _check_pdf(handle.read(), credential)
                import weasyprint

                _check_pdf(weasyprint.HTML(string=htmls[0]).write_pdf(), credentials[0])

            def reference(pool=pool) -> float:
                started = time.perf_counter()
                sizes = list(pool.map(_render, htmls))
                assert all(size > 5000 for size in sizes)
                return len(htmls) / (time.perf_counter() - started)

            measured = alternate(ctx.rounds, lambda worker=worker: worker.render(ids), reference)
        finally:
            worker.stop()
            pool.shutdown()
            _purge()
        slower = measured.reference_median / measured.subject_median
        rows.append(
            Row(
                f"5{next(letters)}",
                f"certificate PDFs through Celery, {processes} worker "
                f"process{'es' if processes > 1 else ''}, {count} documents",
                measured.subject_median,
                "PDFs/s",
                reference=f"WeasyPrint alone, same HTML, {processes} process"
                + ("es" if processes > 1 else ""),
                reference_figure=measured.reference_median,
                target="within 1.3 × of bare rendering",
                met=slower <= TARGET,
                notes=f"{measured.spread()}; the worker takes {slower:.2f} × the time of bare "
                "rendering (enqueue to the last file stored)."
                + (f" One certificate in-process, timed apart: {parts}." if processes == 1 else ""),
            )
        )
    ctx.notes["pdf"] = (
        "Benchmark 5 (`bench/pdf.py`). A real `celery -A cms worker` (prefork, concurrency 1 "
        "then 2, Redis db 12, the harness's settings and database) renders the PDF and the "
        f"baked badge of {count} issued credentials per round, timed from queueing the first "
        "task to the database showing the last file stored; the reference is a pool of as many "
        "processes running WeasyPrint alone on the same certificates' HTML. Both warmed first; "
        "rounds alternate. Every PDF is checked with pdftotext (the driver's Chinese name, the "
        "number)."
    )
    return rows
