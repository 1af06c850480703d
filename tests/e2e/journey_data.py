"""What exists before the driver arrives, for the end-to-end journeys: the site in Chinese and
English, a course from the demo catalogue (with its English translation, made with
wagtail-localize as the demo does), and a ride-hailing platform with an API key, funding and
published reward rules.

Everything goes through the same functions the demo and the admin use. Only history is
written directly (rule versions published months ago, a driver linked months ago), the way
rewards/demo.py seeds it: a test cannot wait for a month to pass."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from wagtail.models import Locale, Page, Site

from cms.api_keys import platform_api_key_create
from cms.demo import HOME, ORGS
from cms.models import HomePage, Organization, User
from courses import demo as course_demo
from courses import demo_content
from courses.grading import answer_key
from courses.models import CoursePage, CourseSectionPage, LessonPage
from rewards import ledger, rules
from rewards.models import DriverLink, RuleVersion

CHINA = rules.CHINA
PLATFORM_SLUG = "kuaixing"  # 快行出行, the demo platform
FUNDING_FEN = 1_000_000  # ¥10,000
QUALITY_FEN = 30_000  # ¥300
SAFETY_FEN = 10_000  # ¥100
MIN_TRIPS = 10


@dataclass
class Website:
    home: HomePage
    zh: Locale
    en: Locale


@dataclass
class Platform:
    organization: Organization
    api_key: str  # "rw_…", as the platform's servers send it
    quality: RuleVersion
    safety: RuleVersion


def _organization(slug: str) -> Organization:
    spec = next(org for org in ORGS if org.slug == slug)
    organization, _ = Organization.objects.get_or_create(
        slug=slug, defaults={"kind": spec.kind, "name": spec.name, "name_en": spec.name_en}
    )
    return organization


def site() -> Website:
    """The home page in Chinese (the default site's root) and its English translation."""
    zh = Locale.objects.get_or_create(language_code="zh-hans")[0]
    en = Locale.objects.get_or_create(language_code="en")[0]
    root = Page.get_first_root_node()
    for child in root.get_children():  # Wagtail's placeholder welcome page
        if not isinstance(child.specific, HomePage):
            child.delete()
    text = HOME["zh-hans"]
    home = HomePage(
        title=text["title"],
        slug="home",
        locale=zh,
        hero_title=text["hero_title"],
        hero_text=text["hero_text"],
    )
    root.add_child(instance=home)
    home.save_revision().publish()
    Site.objects.all().delete()
    Site.objects.create(
        hostname="localhost", port=80, root_page=home, is_default_site=True, site_name="Roadwise"
    )
    english = home.copy_for_translation(en).specific
    english.title = HOME["en"]["title"]
    english.hero_title = HOME["en"]["hero_title"]
    english.hero_text = HOME["en"]["hero_text"]
    english.save_revision().publish()
    return Website(home=home, zh=zh, en=en)


def course(where: Website, spec: dict, **settings) -> CoursePage:
    """A course of courses/demo_content.py (its provider's section too), published in Chinese
    and English; ``settings`` are the course's own settings (e.g. no wait between attempts).
    Returns the Chinese page."""
    index = course_demo._catalogue(where.home, where.en)
    organization = _organization(spec["provider"])
    for slug in spec["co_developers"]:
        _organization(slug)
    section = CourseSectionPage.objects.filter(organization=organization, locale=where.zh).first()
    if section is None:
        section = course_demo._add(
            index,
            CourseSectionPage(title=organization.name, slug=organization.slug,
                              organization=organization),
        )  # fmt: skip
        course_demo._translate(section, {"title": organization.name_en}, where.en)
    page = course_demo._course(spec, section, {}, where.en)
    if settings:
        CoursePage.objects.filter(translation_key=page.translation_key).update(**settings)
    return CoursePage.objects.get(pk=page.pk)


def defensive_driving(where: Website) -> CoursePage:
    """The free level-1 course, with no wait between quiz attempts (the demo waits 30 minutes)."""
    return course(where, demo_content.DEFENSIVE_DRIVING, cooldown_minutes=0)


def first_aid(where: Website) -> CoursePage:
    """A paid course (¥99.00)."""
    return course(where, demo_content.FIRST_AID)


def quiz_answers(course: CoursePage) -> tuple[dict, dict]:
    """(right, wrong) answers to the course's quiz: question id -> chosen input values."""
    lesson = next(page for page in course.lessons().specific() if page.has_quiz)
    right, wrong = {}, {}
    for question in answer_key(lesson):
        allowed = question.choice_ids or ("true", "false")
        right[question.id] = sorted(question.correct)
        wrong[question.id] = [next(c for c in allowed if c not in question.correct)]
    return right, wrong


def lesson_count(course: CoursePage) -> int:
    return LessonPage.objects.live().descendant_of(course).count()


# --- the platform ----------------------------------------------------------------------------


def month_start(months_ago: int, today: date | None = None) -> date:
    """The first day of the calendar month ``months_ago`` before this one (China time)."""
    month = (today or timezone.localdate(timezone.now(), CHINA)).replace(day=1)
    for _ in range(months_ago):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def platform(*, effective_from: date) -> Platform:
    """快行出行 with an API key, ¥10,000 of reward funding, and two rules (quality service and
    safe driving) published with notice before ``effective_from``."""
    organization = _organization(PLATFORM_SLUG)
    _key, raw = platform_api_key_create(organization=organization, name="e2e journey")
    ledger.post_transaction(
        idempotency_key="e2e:kuaixing:deposit",
        kind="deposit",
        legs=[
            (ledger.platform_funding_account(organization), FUNDING_FEN),
            (ledger.external_account(), -FUNDING_FEN),
        ],
        description="快行出行 funds its driver reward programme",
    )
    quality = _published(
        organization,
        kind="quality",
        name="优质服务奖 Quality service",
        params={"min_trips": MIN_TRIPS, "min_average_rating": "4.8", "max_upheld_complaints": 0},
        amount_fen=QUALITY_FEN,
        effective_from=effective_from,
    )
    safety = _published(
        organization,
        kind="safety",
        name="安全驾驶奖 Safe driving",
        params={"max_incidents": 0, "min_trips": MIN_TRIPS},
        amount_fen=SAFETY_FEN,
        effective_from=effective_from,
    )
    return Platform(organization=organization, api_key=raw, quality=quality, safety=safety)


def _published(organization: Organization, **fields) -> RuleVersion:
    version = rules.rule_version_create(platform=organization, **fields)
    published_on = version.effective_from - timedelta(days=version.notice_days)
    rules.rule_version_publish(version=version, actor=None, today=published_on)
    RuleVersion.objects.filter(pk=version.pk).update(
        published_at=datetime.combine(published_on, time(10), tzinfo=CHINA)
    )
    version.refresh_from_db()
    return version


def link_since(organization: Organization, driver: User, since: date) -> None:
    """The driver's link (made on the site just now) dated back to ``since``: they have driven
    for the platform for months (history, as rewards/demo.py seeds it)."""
    DriverLink.objects.filter(platform=organization, driver=driver, unlinked_at=None).update(
        linked_at=datetime.combine(since, time(9), tzinfo=CHINA)
    )


def service_events(ref: str, month: date, *, trips: int, incident: bool) -> list[dict]:
    """A month of a driver's service as the platform sends it: ``trips`` trips on different
    days, each rated 5 stars, and optionally one minor safety incident."""
    rows = []
    for n in range(trips):
        when = datetime.combine(month + timedelta(days=n % 25), time(9 + n % 8), tzinfo=CHINA)
        trip = f"{ref}-{month:%Y%m}-trip-{n:03d}"
        rows.append({"id": trip, "driver": ref, "type": "trip",
                     "occurred_at": when.isoformat(), "fare_fen": 2_000 + 150 * n})  # fmt: skip
        rows.append({"id": f"{trip}-rating", "driver": ref, "type": "rating", "rating": 5,
                     "occurred_at": (when + timedelta(minutes=30)).isoformat(),
                     "trip_id": trip})  # fmt: skip
    if incident:
        when = datetime.combine(month + timedelta(days=14), time(18), tzinfo=CHINA)
        rows.append({"id": f"{ref}-{month:%Y%m}-incident", "driver": ref,
                     "type": "safety_incident", "severity": "minor",
                     "occurred_at": when.isoformat()})  # fmt: skip
    return rows
