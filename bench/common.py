"""Shared helpers of the benchmarks: Django on the bench database, timing, pinning, rows, data.

Every benchmark module exposes functions ``run_xxx(ctx) -> list[Row]`` registered in
``bench/run.py``. They time with :func:`alternate` (subject and reference in turn, medians of
rounds) and build their data with the helpers at the bottom (which need :func:`setup_django`).
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NODE_DIR = BENCH / "node"
VECTORS = Path(os.environ.get("ROADWISE_VECTORS", "/work/shared/vectors"))
CONTEXTS = VECTORS / "contexts"
# ROADWISE_BENCH_PREFIX keeps two checkouts benchmarking at once out of each other's databases.
BENCH_PREFIX = os.environ.get("ROADWISE_BENCH_PREFIX", "roadwise_bench")
BENCH_DATABASE = BENCH_PREFIX
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
BROKER_URL = "redis://127.0.0.1:6379/13"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- what a benchmark returns ----------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table."""

    number: str
    what: str
    figure: float | None
    unit: str
    reference: str = "—"
    reference_figure: float | None = None
    target: str = "—"
    met: bool | None = None  # None: no target for this row
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.reference_figure:
            return None
        return self.figure / self.reference_figure

    def as_dict(self) -> dict:
        return {
            "#": self.number,
            "what": self.what,
            "figure": self.figure,
            "unit": self.unit,
            "reference": self.reference,
            "reference figure": self.reference_figure,
            "ratio": self.ratio,
            "target": self.target,
            "met?": self.met,
            "notes": self.notes,
        }


@dataclass
class Context:
    """Options every benchmark sees."""

    quick: bool = False  # tiny sizes, to check the harness works (figures meaningless)
    rounds: int = 7
    core: int = 0  # the core that "per core" figures are pinned to
    notes: dict[str, str] = field(default_factory=dict)  # method notes, by benchmark name
    profiles: dict[str, str] = field(default_factory=dict)
    profile: bool = False

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


# --- timing ------------------------------------------------------------------------------------


@dataclass
class Measured:
    """Rates (per second) of each round, subject and reference interleaved."""

    subject: list[float]
    reference: list[float] = field(default_factory=list)

    @property
    def subject_median(self) -> float:
        return statistics.median(self.subject)

    @property
    def reference_median(self) -> float | None:
        return statistics.median(self.reference) if self.reference else None

    def round_ratios(self) -> list[float]:
        return [s / r for s, r in zip(self.subject, self.reference, strict=False) if r]

    def spread(self) -> str:
        """The rounds' range, for the notes: noisy machines show it here."""
        text = f"subject rounds {min(self.subject):,.0f}–{max(self.subject):,.0f}/s"
        if self.reference:
            ratios = self.round_ratios()
            text += (
                f", reference rounds {min(self.reference):,.0f}–{max(self.reference):,.0f}/s, "
                f"per-round ratio {min(ratios):.2f}–{max(ratios):.2f} "
                f"(median {statistics.median(ratios):.2f})"
            )
        return text + f", {len(self.subject)} rounds"


def rate(operation: Callable[[], object], count: int) -> float:
    """Run ``operation`` ``count`` times; operations per second."""
    start = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - start)


def alternate(
    rounds: int,
    subject: Callable[[], float],
    reference: Callable[[], float] | None = None,
) -> Measured:
    """``rounds`` rounds of subject then reference (each returns a rate); the order flips every
    round so that neither always runs first after the other."""
    measured = Measured(subject=[])
    for number in range(rounds):
        pair = [("subject", subject), ("reference", reference)]
        if number % 2:
            pair.reverse()
        for name, function in pair:
            if function is None:
                continue
            value = function()
            (measured.subject if name == "subject" else measured.reference).append(value)
    return measured


@contextlib.contextmanager
def pinned(core: int):
    """Run this process on one core only (restored afterwards)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def profile_text(operation: Callable[[], object], count: int, *, lines: int = 45) -> str:
    """A pyinstrument call tree of ``count`` runs of ``operation`` (the first ``lines``)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(count):
        operation()
    profiler.stop()
    text = profiler.output_text(unicode=True, color=False)
    kept = [line for line in text.splitlines() if line.strip()][:lines]
    return "\n".join(kept)


def share(part: Callable[[], object], whole: Callable[[], object], count: int) -> float:
    """How much of ``whole``'s time ``part`` takes, timed separately (a fraction)."""
    return (1 / rate(part, count)) / (1 / rate(whole, count))


# --- the Node reference ------------------------------------------------------------------------


def node_available() -> bool:
    return (NODE_DIR / "node_modules" / "@digitalbazaar" / "vc").is_dir()


def node_verify(
    credential: Path, controllers: Path, *, iterations: int, warmup: int, core: int | None
) -> dict:
    """Run bench/node/verify.mjs once; its JSON answer (per_second, median_ms)."""
    command = [
        "node",
        str(NODE_DIR / "verify.mjs"),
        "--credential",
        str(credential),
        "--controllers",
        str(controllers),
        "--contexts",
        str(CONTEXTS),
        "--iterations",
        str(iterations),
        "--warmup",
        str(warmup),
    ]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=NODE_DIR)
    if done.returncode != 0:
        raise RuntimeError(f"the Node reference failed: {done.stderr.strip() or done.stdout}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- Django on the bench database ----------------------------------------------------------------


def _database_exists(connection, name: str) -> bool:
    return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


def setup_django(*, fresh: bool = True, verbose: bool = True) -> None:
    """Django with ``cms.settings.test`` (DEBUG off) on PostgreSQL ``roadwise_bench`` (dropped
    and re-created when ``fresh``), Celery sending to the local Redis (db 13), migrated."""
    import psycopg

    assert BENCH_DATABASE != "test"
    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as connection:
        exists = _database_exists(connection, BENCH_DATABASE)
        if exists and fresh:
            connection.execute(f'DROP DATABASE "{BENCH_DATABASE}" WITH (FORCE)')
            exists = False
        if not exists:
            connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    os.environ["DJANGO_SETTINGS_MODULE"] = "cms.settings.test"
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DATABASE_CONN_MAX_AGE"] = "600"
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    os.environ["ROADWISE_EAGER_TASKS"] = "0"  # issuing enqueues its PDF task on Redis
    os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-media"))
    import django

    django.setup()
    from django.core.management import call_command

    if verbose:
        print(f"migrating {BENCH_DATABASE} …", flush=True)
    call_command("migrate", verbosity=0, interactive=False)


def purge_broker() -> None:
    """Drop the PDF-rendering tasks issuing queued (no worker consumes the bench's Redis db)."""
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


# --- data: organisations, a course, drivers who completed it -----------------------------------

_counter = {"n": 0}


def _unique(prefix: str) -> str:
    _counter["n"] += 1
    return f"{prefix}-{os.getpid()}-{_counter['n']}"


def make_course(*, co_developed: bool = False):
    """A published course of a new school (and a carmaker co-developer when asked)."""
    from cms.models import Organization
    from tests.courses.builders import build_course

    slug = _unique("school")
    school = Organization.objects.create(
        kind=Organization.Kind.SCHOOL,
        name=f"鹏城交通职业学院 {slug}",
        name_en=f"Pengcheng Transport College {slug}",
        slug=slug,
    )
    built = build_course(organization=school, title="新能源汽车安全", certificate_valid_days=365)
    if co_developed:
        slug = _unique("carmaker")
        carmaker = Organization.objects.create(
            kind=Organization.Kind.CARMAKER,
            name=f"远航新能源汽车 {slug}",
            name_en=f"Yuanhang NEV {slug}",
            slug=slug,
        )
        built.course.co_developers.add(carmaker)
        built.course.save()
    return built.course


def make_completions(course, count: int) -> list:
    """``count`` drivers, each enrolled in and having completed ``course`` (bulk inserts: the
    learning path itself is not what these benchmarks measure)."""
    from django.utils import timezone

    from cms.models import User
    from courses.models import Completion, Enrollment

    base = User.objects.count()
    users = User.objects.bulk_create(
        User(
            mobile=f"+86139{base + i:08d}",
            display_name=f"司机{base + i}",
            password="!",  # noqa: S106 - an unusable password
        )
        for i in range(count)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(
            user=user,
            course=course,
            status=Enrollment.Status.COMPLETED,
            source=Enrollment.Source.FREE,
        )
        for user in users
    )
    now = timezone.now()
    return Completion.objects.bulk_create(
        Completion(
            enrollment=enrollment,
            user=enrollment.user,
            course=course,
            score_percent=90,
            completed_at=now,
        )
        for enrollment in enrollments
    )


def issue_credentials(course, count: int) -> list:
    """``count`` credentials of ``course``, issued by the credentials service."""
    from credentials.services import credential_issue

    return [credential_issue(completion=c) for c in make_completions(course, count)]


def issue_credentials_unqueued(course, count: int) -> list:
    """As :func:`issue_credentials`, without queueing their PDF tasks anywhere (benchmarks that
    render the files queue them themselves, on their own Redis db)."""
    from unittest import mock

    with mock.patch("credentials.services._render_files_later"):
        return issue_credentials(course, count)


def make_platform_key(slug_prefix: str = "bench-platform") -> str:
    """A new platform organisation and the plaintext of a new API key of it."""
    from cms.api_keys import platform_api_key_create
    from cms.models import Organization

    slug = _unique(slug_prefix)
    platform = Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name=f"基准平台 {slug}", name_en=f"Bench {slug}", slug=slug
    )
    _key, raw = platform_api_key_create(organization=platform, name="bench")
    return raw
