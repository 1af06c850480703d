"""Demo courses for a fresh laptop: the catalogue, a section per school and carmaker, the
courses of courses/demo_content.py with their lessons and quizzes, and a learning path, all
published in Chinese and translated into English with wagtail-localize.

The English pages are made the way an editor's translation would be: a TranslationSource of
the Chinese page, a StringTranslation for each of its strings, then Translation.save_target.
So the English quizzes get their structure (block ids, correct answers, points) from the
Chinese ones and only their text is translated; a later change to the Chinese page can be
synced into the English one from the admin.

Idempotent: each page, source, string translation and translation is made only when it is
missing, so running it again changes nothing. Run by ``manage.py seed_demo`` when
settings.DEMO_SEEDERS lists "courses.demo.seed_demo", after cms.demo.seed_demo."""

import io
import logging
import re
from typing import Any

from django.core.files.images import ImageFile
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageDraw
from wagtail.blocks import StreamValue
from wagtail.fields import StreamField
from wagtail.images.models import Image
from wagtail.models import Locale, Page
from wagtail_localize.models import (
    StringSegment,
    StringTranslation,
    Translation,
    TranslationSource,
)
from wagtail_localize.segments import StringSegmentValue
from wagtail_localize.segments.extract import extract_segments

from cms.models import HomePage, Organization, User
from courses import demo_content as content
from courses.demo_content import T
from courses.models import (
    CourseIndexPage,
    CoursePage,
    CourseSectionPage,
    LearningPathPage,
    LearningPathStep,
    LessonPage,
)

logger = logging.getLogger(__name__)

SOURCE_LANGUAGE = "zh-hans"
TARGET_LANGUAGE = "en"
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Cover colours per category (the demo draws covers; authors upload real ones).
_CATEGORY_COLOURS = {
    "safe_driving": (11, 110, 79),
    "service_quality": (196, 98, 16),
    "ev_technology": (0, 122, 153),
    "regulations": (70, 70, 140),
    "first_aid": (180, 40, 50),
    "career_finance": (120, 90, 30),
}


def _text(text: T, language: str) -> str:
    return text.zh if language == SOURCE_LANGUAGE else text.en


# --- block values ----------------------------------------------------------------------


def _question(block: dict, language: str) -> dict:
    value = {
        "question": _text(block["question"], language),
        "points": block["points"],
        "explanation": f"<p>{_text(block['explanation'], language)}</p>",
    }
    if block["type"] == "true_false":
        value["answer"] = block["answer"]
    else:
        value["choices"] = [
            {"text": _text(text, language), "correct": correct}
            for text, correct in block["choices"]
        ]
    return value


def _lesson_body(blocks: list[dict], language: str) -> list[tuple[str, Any]]:
    body: list[tuple[str, Any]] = []
    for block in blocks:
        kind = block["type"]
        if kind == "heading":
            body.append(("heading", {"text": _text(block["text"], language), "level": "h2"}))
        elif kind == "paragraph":
            body.append(("paragraph", _text(block["html"], language)))
        elif kind == "callout":
            body.append(
                ("callout", {"kind": block["kind"], "text": _text(block["html"], language)})
            )
        elif kind == "checklist":
            body.append(
                (
                    "checklist",
                    {
                        "title": _text(block["title"], language),
                        "steps": [_text(step, language) for step in block["steps"]],
                    },
                )
            )
        elif kind in ("single_choice", "multiple_choice", "true_false"):
            body.append((kind, _question(block, language)))
        else:
            raise ValueError(f"Unknown demo block type {kind!r}")
    return body


def _description(course: dict, language: str) -> list[tuple[str, Any]]:
    return [("paragraph", _text(course["description"], language))]


def _course_fields(course: dict, language: str) -> dict:
    """The translatable fields of a course page."""
    fields = {
        "title": _text(course["title"], language),
        "summary": _text(course["summary"], language),
        "body": _description(course, language),
    }
    if course["vehicle_models"]:
        fields["vehicle_models"] = _text(course["vehicle_models"], language)
    return fields


def _lesson_fields(lesson: dict, language: str) -> dict:
    return {
        "title": _text(lesson["title"], language),
        "body": _lesson_body(lesson["body"], language),
    }


# --- covers ------------------------------------------------------------------------------


def _cover_png(course: dict) -> bytes:
    """A simple drawn cover: the category's colour, a road to the horizon, level dots."""
    width, height = 1200, 675
    colour = _CATEGORY_COLOURS[course["category"]]
    img = PILImage.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(img)
    for y in range(height // 2):
        t = y / (height / 2)
        shade = tuple(int(c + (255 - c) * 0.35 * (1 - t)) for c in colour)
        draw.line((0, y, width, y), fill=shade)
    dark = tuple(int(c * 0.55) for c in colour)
    draw.polygon([(560, 330), (640, 330), (1050, 675), (150, 675)], fill=dark)
    for i in range(6):
        y0 = 345 + i * i * 10
        draw.rectangle((596 - i * 2, y0, 604 + i * 2, y0 + 10 + i * 5), fill=(250, 250, 250))
    for level in range(course["level"]):
        x = 80 + level * 70
        draw.ellipse((x, 70, x + 44, 114), fill=(255, 255, 255))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _cover(course: dict) -> Image:
    title = f"课程封面 · {course['slug']}"
    existing = Image.objects.filter(title=title).first()
    if existing is not None:
        return existing
    filename = f"cover-{course['slug']}.png"
    image = Image(title=title)
    image.file.save(filename, ImageFile(io.BytesIO(_cover_png(course)), name=filename), save=False)
    image.save()
    return image


# --- Chinese pages -------------------------------------------------------------------------


def _child(parent: Page, model: type[Page], slug: str) -> Page | None:
    page = model.objects.child_of(parent).filter(slug=slug).first()
    return page.specific if page is not None else None


def _add(parent: Page, page: Page, user: User | None = None) -> Page:
    """Add ``page`` under ``parent`` and publish it, as ``user`` (an author) if given."""
    page.owner = user
    parent.add_child(instance=page)
    # The author's section permissions may not exist yet (see _wire_permissions).
    page.save_revision(user=user).publish(user=user, skip_permission_checks=True)
    return page


def _author(organization: Organization) -> User | None:
    return User.objects.filter(organization=organization).order_by("pk").first()


# --- English translations with wagtail-localize ------------------------------------------------


def _copy_block_ids(source: Any, target: Any) -> None:
    """Give ``target`` (raw stream data) the block ids of ``source``, which has the same
    structure: stream children and list items alike."""
    if isinstance(source, list):
        if not isinstance(target, list) or len(source) != len(target):
            raise ValueError("The English blocks do not match the Chinese ones.")
        for source_item, target_item in zip(source, target, strict=True):
            _copy_block_ids(source_item, target_item)
    elif isinstance(source, dict):
        if not isinstance(target, dict) or source.keys() != target.keys():
            raise ValueError("The English blocks do not match the Chinese ones.")
        if set(source) == {"type", "value", "id"}:
            if source["type"] != target["type"]:
                raise ValueError(f"Block {source['type']} has {target['type']} in English.")
            target["id"] = source["id"]
            _copy_block_ids(source["value"], target["value"])
        else:
            for key, value in source.items():
                _copy_block_ids(value, target[key])


def _english_instance(page: Page, fields: dict) -> Page:
    """An unsaved copy of ``page`` holding the English ``fields``, with the stream blocks
    given the Chinese blocks' ids, so that its strings sit at the same content paths as the
    Chinese page's (the paths wagtail-localize keys its strings by)."""
    english = type(page).objects.get(pk=page.pk)
    for name, value in fields.items():
        field = page._meta.get_field(name)
        if isinstance(field, StreamField):
            stream = field.stream_block
            raw = stream.get_prep_value(stream.normalize(value))
            _copy_block_ids(getattr(page, name).get_prep_value(), raw)
            value = StreamValue(stream, raw, is_lazy=True)
        setattr(english, name, value)
    return english


def _store_translations(source: TranslationSource, page: Page, fields: dict, locale: Locale):
    """A StringTranslation in ``locale`` for each string of ``source``, taken from the same
    content path of the English copy of ``page``."""
    english = [
        segment
        for segment in extract_segments(_english_instance(page, fields))
        if isinstance(segment, StringSegmentValue)
    ]
    segments = list(
        StringSegment.objects.filter(source=source)
        .select_related("string", "context")
        .order_by("order")
    )
    if [s.context.path for s in segments] != [s.path for s in english]:
        raise ValueError(f"The English text of {page} does not have the Chinese page's shape.")
    for segment, translated in zip(segments, english, strict=True):
        data = translated.string.data
        if data == segment.string.data and _HAN.search(data):
            raise ValueError(f"No English for {segment.context.path} of {page}: {data}")
        existing = StringTranslation.objects.filter(
            translation_of=segment.string, locale=locale, context=segment.context
        ).first()
        if existing is None:
            StringTranslation.objects.create(
                translation_of=segment.string,
                locale=locale,
                context=segment.context,
                data=data,
                translation_type=StringTranslation.TRANSLATION_TYPE_MANUAL,
            )
        elif existing.data != data:
            existing.data = data
            existing.save()


def _translate(page: Page, fields: dict, locale: Locale) -> Page:
    """The English translation of ``page`` (whose parent is already translated), made and
    published with wagtail-localize when it is missing."""
    page = type(page.specific).objects.get(pk=page.pk)
    translated = page.get_translation_or_none(locale)
    source = TranslationSource.objects.get_for_instance_or_none(page)
    if (
        translated is not None
        and source is not None
        and Translation.objects.filter(source=source, target_locale=locale).exists()
    ):
        return translated.specific

    source, _ = TranslationSource.update_or_create_from_instance(page)
    _store_translations(source, page, fields, locale)
    translation, _ = Translation.objects.get_or_create(source=source, target_locale=locale)
    # save_target(publish=True) would publish only when the outermost transaction commits
    # (transaction.on_commit), and seed_demo runs inside one: save, then publish here.
    translation.save_target(publish=False)
    translated = page.get_translation(locale).specific
    translated.get_latest_revision().publish()
    return type(translated).objects.get(pk=translated.pk)


# --- the seeder -------------------------------------------------------------------------------


def _catalogue(home: HomePage, en: Locale) -> CourseIndexPage:
    index = CourseIndexPage.objects.child_of(home).first()
    if index is None:
        index = _add(
            home,
            CourseIndexPage(
                title=content.CATALOGUE["title"].zh,
                slug="courses",
                intro=content.CATALOGUE["intro"].zh,
            ),
        )
    _translate(
        index,
        {"title": content.CATALOGUE["title"].en, "intro": content.CATALOGUE["intro"].en},
        en,
    )
    return index.specific


def _sections(index: CourseIndexPage, zh: Locale, en: Locale) -> dict[str, CourseSectionPage]:
    from cms.demo import ORGS

    sections = {}
    for org in ORGS:
        if org.kind not in (Organization.Kind.SCHOOL, Organization.Kind.CARMAKER):
            continue
        organization = Organization.objects.get(slug=org.slug)
        section = CourseSectionPage.objects.filter(organization=organization, locale=zh).first()
        if section is None:
            section = _add(
                index,
                CourseSectionPage(
                    title=org.name,
                    slug=org.slug,
                    organization=organization,
                    intro=f"<p>{org.tagline}</p>" if org.tagline else "",
                ),
            )
        english = {"title": org.name_en}
        if org.tagline_en:
            english["intro"] = f"<p>{org.tagline_en}</p>"
        _translate(section, english, en)
        sections[org.slug] = section
    return sections


def _course(course: dict, section: CourseSectionPage, courses: dict[str, CoursePage], en):
    existing = _child(section, CoursePage, course["slug"])
    if existing is None:
        organization = section.organization
        page = CoursePage(
            slug=course["slug"],
            cover_image=_cover(course),
            category=course["category"],
            level=course["level"],
            estimated_minutes=course["estimated_minutes"],
            price_fen=course["price_fen"],
            **_course_fields(course, SOURCE_LANGUAGE),
        )
        page.co_developers = list(Organization.objects.filter(slug__in=course["co_developers"]))
        page.prerequisites = [courses[slug] for slug in course["prerequisites"]]
        existing = _add(section, page, _author(organization))
    _translate(existing, _course_fields(course, TARGET_LANGUAGE), en)

    author = _author(section.organization)
    for lesson in course["lessons"]:
        page = _child(existing, LessonPage, lesson["slug"])
        if page is None:
            page = _add(
                existing,
                LessonPage(
                    slug=lesson["slug"],
                    estimated_minutes=lesson["minutes"],
                    **_lesson_fields(lesson, SOURCE_LANGUAGE),
                ),
                author,
            )
        _translate(page, _lesson_fields(lesson, TARGET_LANGUAGE), en)
    return existing


def _learning_path(index: CourseIndexPage, courses: dict[str, CoursePage], en: Locale):
    spec = content.LEARNING_PATH
    path = _child(index, LearningPathPage, spec["slug"])
    if path is None:
        page = LearningPathPage(title=spec["title"].zh, slug=spec["slug"], intro=spec["intro"].zh)
        page.steps = [
            LearningPathStep(course=courses[slug], level_name=level.zh)
            for slug, level in spec["steps"]
        ]
        path = _add(index, page)
    translated = _translate(path, {"title": spec["title"].en, "intro": spec["intro"].en}, en)
    # LearningPathStep is not translatable, so wagtail-localize copies the steps verbatim
    # (course and level name) from the Chinese page; give the English page English names.
    steps = list(translated.steps.all())
    names = [level.en for _slug, level in spec["steps"]]
    if [step.level_name for step in steps] != names:
        for step, name in zip(steps, names, strict=True):
            step.level_name = name
        translated.steps = steps
        translated.save_revision().publish()
    return path


def _wire_permissions(sections: dict[str, CourseSectionPage]) -> None:
    """Give each organisation its groups, permissions, collection and review workflow,
    put its demo authors in its authors group, and make the demo operator an Operator."""
    from courses.authoring import member_groups_sync, operators_group, section_ensure

    for section in sections.values():
        section_ensure(organization=section.organization)
        for author in User.objects.filter(organization=section.organization):
            member_groups_sync(user=author)
    operators = operators_group()
    for operator in User.objects.filter(is_staff=True):
        operator.groups.add(operators)
    _file_covers(sections)


def _file_covers(sections: dict[str, CourseSectionPage]) -> None:
    """Put each organisation's course covers in its collection, where its authors see them."""
    try:
        from courses.authoring import organization_collection
    except ImportError:
        return
    for section in sections.values():
        collection = organization_collection(section.organization)
        if collection is None:
            continue
        covers = CoursePage.objects.child_of(section).values_list("cover_image", flat=True)
        Image.objects.filter(pk__in=[pk for pk in covers if pk]).exclude(
            collection=collection
        ).update(collection=collection)


@transaction.atomic
def seed_demo() -> list[CoursePage]:
    """Create what is missing of the demo catalogue; return the Chinese course pages."""
    zh = Locale.objects.get_or_create(language_code=SOURCE_LANGUAGE)[0]
    en = Locale.objects.get_or_create(language_code=TARGET_LANGUAGE)[0]
    home = HomePage.objects.filter(locale=zh).first()
    if home is None:
        from cms.demo import seed_demo as seed_site

        seed_site()
        home = HomePage.objects.get(locale=zh)

    index = _catalogue(home, en)
    sections = _sections(index, zh, en)
    courses: dict[str, CoursePage] = {}
    for course in content.COURSES:  # prerequisites come earlier in the list
        courses[course["slug"]] = _course(course, sections[course["provider"]], courses, en)
    _learning_path(index, courses, en)
    _wire_permissions(sections)
    _sponsored_seats(courses)
    return list(courses.values())


DEMO_VOUCHERS = 5


def _sponsored_seats(courses: dict[str, CoursePage]) -> None:
    """Seats a platform bought for its drivers: codes like KUAIXING-1001 … KUAIXING-1005."""
    from courses.models import SeatPool, Voucher

    for course in content.COURSES:
        if (
            not course.get("sponsor")
            or SeatPool.objects.filter(course=courses[course["slug"]]).exists()
        ):
            continue
        pool = SeatPool.objects.create(
            sponsor=Organization.objects.get(slug=course["sponsor"]),
            course=courses[course["slug"]],
            seats=DEMO_VOUCHERS,
        )
        Voucher.objects.bulk_create(
            Voucher(pool=pool, code=f"{course['sponsor'].upper()}-{pool.pk}{n:03d}")
            for n in range(1, DEMO_VOUCHERS + 1)
        )
