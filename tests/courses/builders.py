"""Build course page trees for tests: a catalogue, sections per organisation, courses
with lessons and quizzes. Quiz answers are chosen by their position, so tests read well."""

from dataclasses import dataclass

from wagtail.models import Locale, Page, Site

from cms.models import HomePage, Organization
from courses.models import (
    CourseIndexPage,
    CoursePage,
    CourseSectionPage,
    LessonPage,
)
from tests.factories import OrganizationFactory


def home_page() -> HomePage:
    """The site's home page, made the default site's root (so pages have URLs)."""
    home = HomePage.objects.filter(locale=Locale.get_default()).first()
    if home is None:
        root = Page.get_first_root_node()
        home = root.add_child(instance=HomePage(title="首页", slug="home-test", hero_title="Hi"))
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.save()
    return home


def catalogue() -> CourseIndexPage:
    index = CourseIndexPage.objects.filter(locale=Locale.get_default()).first()
    if index is None:
        index = home_page().add_child(instance=CourseIndexPage(title="课程", slug="courses"))
    return index


def section(organization: Organization | None = None) -> CourseSectionPage:
    organization = organization or OrganizationFactory()
    existing = CourseSectionPage.objects.filter(organization=organization).first()
    if existing:
        return existing
    return catalogue().add_child(
        instance=CourseSectionPage(
            title=organization.name, slug=organization.slug, organization=organization
        )
    )


def single_choice(question: str, answers: list[str], correct: int, points: int = 1):
    return (
        "single_choice",
        {
            "question": question,
            "points": points,
            "explanation": f"<p>Because {answers[correct]}.</p>",
            "choices": [{"text": a, "correct": i == correct} for i, a in enumerate(answers)],
        },
    )


def multiple_choice(question: str, answers: list[str], correct: set[int], points: int = 2):
    return (
        "multiple_choice",
        {
            "question": question,
            "points": points,
            "explanation": "<p>All the right ones.</p>",
            "choices": [{"text": a, "correct": i in correct} for i, a in enumerate(answers)],
        },
    )


def true_false(question: str, answer: bool, points: int = 1):
    return (
        "true_false",
        {"question": question, "points": points, "explanation": "", "answer": answer},
    )


def add_lesson(course: CoursePage, title: str, body: list, *, parent: Page | None = None):
    lesson = LessonPage(title=title, slug=f"lesson-{LessonPage.objects.count() + 1}", body=body)
    (parent or course).add_child(instance=lesson)
    lesson.save_revision().publish()
    return lesson


@dataclass
class BuiltCourse:
    course: CoursePage
    reading: LessonPage  # a text lesson
    quiz: LessonPage  # a lesson with three questions: 1 + 2 + 1 points


def build_course(
    *,
    organization: Organization | None = None,
    title: str = "防御性驾驶",
    price_fen: int = 0,
    pass_mark: int = 75,
    attempt_limit: int = 3,
    cooldown_minutes: int = 0,
    category: str = "safe_driving",
    publish: bool = True,
    **fields,
) -> BuiltCourse:
    fields.setdefault("summary", f"{title}：课程简介")
    course = CoursePage(
        title=title,
        slug=f"course-{CoursePage.objects.count() + 1}",
        category=category,
        price_fen=price_fen,
        pass_mark=pass_mark,
        attempt_limit=attempt_limit,
        cooldown_minutes=cooldown_minutes,
        **fields,
    )
    section(organization).add_child(instance=course)
    if publish:
        course.save_revision().publish()
    reading = add_lesson(
        course,
        "安全距离",
        [
            ("heading", {"text": "保持车距", "level": "h2"}),
            ("paragraph", "<p>雨天把车距加倍。</p>"),
        ],
    )
    quiz = add_lesson(
        course,
        "小测验",
        [
            ("paragraph", "<p>回答下面的问题。</p>"),
            single_choice("雨天车距应该？", ["不变", "加倍", "减半"], correct=1),
            multiple_choice("哪些是安全习惯？", ["系安全带", "看手机", "检查盲区"], {0, 2}),
            true_false("疲劳驾驶是安全的。", False),
        ],
    )
    return BuiltCourse(course=course, reading=reading, quiz=quiz)


def question_blocks(lesson: LessonPage) -> list:
    return lesson.questions


def choice_ids(question_block) -> list[str]:
    return [child.id for child in question_block.value["choices"].bound_blocks]
