"""Demo content for a fresh laptop: organisations, people, and the home and partner pages
in Chinese and English, with logos drawn locally by Pillow. Idempotent: each thing is
created only when it is missing, so running it again changes nothing."""

import base64
import hashlib
import hmac
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.files.images import ImageFile
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from wagtail.images.models import Image
from wagtail.models import Locale, Page, Site

from cms.api_keys import api_key_format, api_key_hash, platform_api_key_store
from cms.models import (
    HomePage,
    Organization,
    PartnerIndexPage,
    PartnerPage,
    PlatformApiKey,
    User,
)

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "roadwise-demo-2026"  # noqa: S105 - printed for the demo on purpose
AUTHORS_GROUP = "Organisation members"
DEMO_PLATFORM = "kuaixing"
DEMO_API_KEY_PREFIX = "demo0001"
DEMO_API_KEY_NAME = "Demo key"


@dataclass(frozen=True)
class DemoOrg:
    slug: str
    kind: str
    name: str
    name_en: str
    city: str
    city_en: str
    tagline: str
    tagline_en: str
    about: str
    about_en: str
    colour: tuple[int, int, int]
    initials: str


ORGS = [
    DemoOrg(
        "pengcheng-transport",
        Organization.Kind.SCHOOL,
        "鹏城交通职业技术学院",
        "Pengcheng Transport Vocational College",
        "深圳",
        "Shenzhen",
        "二十年道路运输职业教育，安全驾驶与服务礼仪课程。",
        "Twenty years of road transport training: safe driving and service courses.",
        "<p>学院面向网约车驾驶员开设安全驾驶、防御性驾驶和乘客服务课程，"
        "由持证教练和行业专家授课。</p>",
        "<p>The college teaches ride-hailing drivers safe and defensive driving and "
        "passenger service, with certified instructors and industry experts.</p>",
        (11, 110, 79),
        "PC",
    ),
    DemoOrg(
        "jiangnan-auto",
        Organization.Kind.SCHOOL,
        "江南汽车技工学校",
        "Jiangnan Automotive Technical School",
        "杭州",
        "Hangzhou",
        "汽车维修与急救培训，理论与实操结合。",
        "Vehicle care and first-aid training, theory with practice.",
        "<p>学校提供车辆日常检查、应急处置和急救培训，帮助驾驶员在路上更安心。</p>",
        "<p>The school trains drivers in daily vehicle checks, emergencies and first "
        "aid, so they drive with more confidence.</p>",
        (30, 90, 160),
        "JN",
    ),
    DemoOrg(
        "yuanhang-nev",
        Organization.Kind.CARMAKER,
        "远航新能源汽车",
        "Yuanhang New Energy Vehicles",
        "合肥",
        "Hefei",
        "电动车驾驶、充电与电池保养的官方课程。",
        "Official courses on EV driving, charging and battery care.",
        "<p>远航与职业院校合作开发新能源汽车课程：续航规划、充电安全、三电系统保养。</p>",
        "<p>Yuanhang co-develops EV courses with vocational schools: range planning, "
        "charging safety, battery and drivetrain care.</p>",
        (0, 122, 153),
        "YH",
    ),
    DemoOrg(
        "huachi-motors",
        Organization.Kind.CARMAKER,
        "华驰汽车",
        "Huachi Motors",
        "广州",
        "Guangzhou",
        "智能驾驶辅助系统的正确使用。",
        "Using driver-assistance systems the right way.",
        "<p>华驰汽车为驾驶员讲解驾驶辅助系统的能力边界与正确使用方法。</p>",
        "<p>Huachi Motors explains what driver-assistance systems can and cannot do, "
        "and how to use them well.</p>",
        (160, 40, 40),
        "HC",
    ),
    DemoOrg(
        "kuaixing",
        Organization.Kind.PLATFORM,
        "快行出行",
        "Kuaixing Mobility",
        "北京",
        "Beijing",
        "",
        "",
        "",
        "",
        (230, 120, 0),
        "KX",
    ),
]

# (mobile, display name, organisation slug or None, is operator)
PEOPLE = [
    ("+8613800000001", "平台运营 李娜", None, True),
    ("+8613800000011", "鹏城学院 陈老师", "pengcheng-transport", False),
    ("+8613800000012", "江南技校 周老师", "jiangnan-auto", False),
    ("+8613800000013", "远航培训 黄工", "yuanhang-nev", False),
    ("+8613800000014", "华驰培训 吴工", "huachi-motors", False),
    ("+8613800000021", "快行运营 赵敏", "kuaixing", False),
    ("+8613900000001", "王建国", None, False),
    ("+8613900000002", "张伟", None, False),
    ("+8613900000003", "刘芳", None, False),
    ("+8613900000004", "马强", None, False),
    ("+8613900000005", "Chen Hao", None, False),
]

HOME = {
    "zh-hans": {
        "title": "首页",
        "hero_title": "学技能，拿证书，好服务有回报",
        "hero_text": "为网约车司机打造的职业技能平台：在手机上学习职业院校和车企的课程，"
        "获得任何平台都能核验的证书，优质服务和认证技能都有透明的奖励。",
        "partners_title": "合作伙伴",
        "partners_intro": "<p>与我们一起为司机开设课程的职业院校和汽车企业。</p>",
        "tip": "<p>课程可以在手机上随时学习，进度自动保存。</p>",
    },
    "en": {
        "title": "Home",
        "hero_title": "Learn skills, earn certificates, get rewarded for good service",
        "hero_text": "A career platform for ride-hailing drivers: study courses from "
        "vocational schools and carmakers on your phone, earn certificates any platform "
        "can verify, and see transparent rewards for quality service and certified skills.",
        "partners_title": "Partners",
        "partners_intro": "<p>The vocational schools and carmakers who teach drivers with us.</p>",
        "tip": "<p>Study on your phone whenever you have a moment; progress is saved.</p>",
    },
}


def _logo_png(org: DemoOrg) -> bytes:
    size = 256
    img = PILImage.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((8, 8, size - 8, size - 8), radius=48, fill=org.colour)
    draw.line((48, 196, 208, 196), fill=(255, 255, 255), width=10)
    font = ImageFont.load_default(size=104)
    draw.text((size / 2, 112), org.initials, fill=(255, 255, 255), font=font, anchor="mm")
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _road_png() -> bytes:
    """A simple drawn road at dusk, for the home page."""
    width, height = 1200, 600
    img = PILImage.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height // 2):
        t = y / (height / 2)
        draw.line((0, y, width, y), fill=(int(40 + 200 * t), int(90 + 90 * t), int(150 - 40 * t)))
    draw.rectangle((0, height // 2, width, height), fill=(60, 120, 80))
    draw.polygon([(560, 300), (640, 300), (1000, 600), (200, 600)], fill=(55, 55, 60))
    for i in range(6):
        y0 = 310 + i * i * 9
        draw.rectangle((596 - i * 2, y0, 604 + i * 2, y0 + 8 + i * 4), fill=(250, 220, 90))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _image(title: str, filename: str, data: bytes) -> Image:
    existing = Image.objects.filter(title=title).first()
    if existing is not None:
        return existing
    image = Image(title=title)
    image.file.save(filename, ImageFile(io.BytesIO(data), name=filename), save=False)
    image.save()
    return image


def _publish(page: Page) -> None:
    page.save_revision().publish()


def _translate(page: Page, locale: Locale, **fields) -> Page:
    existing = page.get_translation_or_none(locale)
    if existing is not None:
        return existing.specific
    translated = page.copy_for_translation(locale).specific
    for name, value in fields.items():
        setattr(translated, name, value)
    _publish(translated)
    return translated


def _home_body(language: str) -> list:
    road = _image("道路 · Road", "roadwise-road.png", _road_png())
    return [
        ("image", {"image": road, "alt_text": "", "decorative": True}),
        ("callout", {"kind": "tip", "text": HOME[language]["tip"]}),
    ]


def _seed_orgs() -> dict[str, Organization]:
    orgs = {}
    for org in ORGS:
        orgs[org.slug], _ = Organization.objects.get_or_create(
            slug=org.slug,
            defaults={"kind": org.kind, "name": org.name, "name_en": org.name_en},
        )
    return orgs


def _seed_people(orgs: dict[str, Organization]) -> list[User]:
    members, _ = Group.objects.get_or_create(name=AUTHORS_GROUP)
    members.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    people = []
    for mobile, name, org_slug, is_operator in PEOPLE:
        user = User.objects.filter(mobile=mobile).first()
        if user is None:
            create = User.objects.create_superuser if is_operator else User.objects.create_user
            user = create(
                mobile=mobile,
                password=DEMO_PASSWORD,
                display_name=name,
                organization=orgs[org_slug] if org_slug else None,
            )
            if org_slug:
                user.groups.add(members)
        people.append(user)
    return people


def _seed_pages(orgs: dict[str, Organization]) -> HomePage:
    zh = Locale.objects.get_or_create(language_code="zh-hans")[0]
    en = Locale.objects.get_or_create(language_code="en")[0]
    root = Page.get_first_root_node()
    home = HomePage.objects.filter(locale=zh).first()
    if home is None:
        # Replace Wagtail's placeholder welcome page with ours.
        for child in root.get_children().filter(locale=zh):
            if not isinstance(child.specific, HomePage):
                child.delete()
        text = HOME["zh-hans"]
        home = HomePage(
            title=text["title"],
            slug="home",
            locale=zh,
            hero_title=text["hero_title"],
            hero_text=text["hero_text"],
            body=_home_body("zh-hans"),
        )
        root.add_child(instance=home)
        _publish(home)
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost",
            port=80,
            root_page=home,
            is_default_site=True,
            site_name="Roadwise",
        )
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.site_name = "Roadwise"
        site.save()
    en_text = HOME["en"]
    _translate(
        home,
        en,
        title=en_text["title"],
        hero_title=en_text["hero_title"],
        hero_text=en_text["hero_text"],
        body=_home_body("en"),
    )

    index = PartnerIndexPage.objects.child_of(home).first()
    if index is None:
        index = PartnerIndexPage(
            title=HOME["zh-hans"]["partners_title"],
            slug="partners",
            intro=HOME["zh-hans"]["partners_intro"],
        )
        home.add_child(instance=index)
        _publish(index)
    _translate(index, en, title=HOME["en"]["partners_title"], intro=HOME["en"]["partners_intro"])

    for org in ORGS:
        if org.kind == Organization.Kind.PLATFORM:
            continue
        page = PartnerPage.objects.filter(organization=orgs[org.slug], locale=zh).first()
        if page is None:
            logo = _image(f"{org.name} logo", f"logo-{org.slug}.png", _logo_png(org))
            page = PartnerPage(
                title=org.name,
                slug=org.slug,
                organization=orgs[org.slug],
                logo=logo,
                tagline=org.tagline,
                city=org.city,
                description=org.about,
            )
            index.add_child(instance=page)
            _publish(page)
        _translate(
            page,
            en,
            title=org.name_en,
            tagline=org.tagline_en,
            city=org.city_en,
            description=org.about_en,
        )
    return home


def _demo_api_key_secret() -> str:
    # Real keys are random. The demo's is derived from SECRET_KEY, so that seeding again
    # finds the same key (no new row) and can print it again.
    digest = hmac.new(
        settings.SECRET_KEY.encode(), b"roadwise demo platform key", hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def demo_api_key() -> str:
    """The demo platform's API key, as `seed_demo` prints it."""
    return api_key_format(prefix=DEMO_API_KEY_PREFIX, secret=_demo_api_key_secret())


def _seed_api_key(orgs: dict[str, Organization]) -> PlatformApiKey:
    raw = demo_api_key()
    api_key = PlatformApiKey.objects.filter(prefix=DEMO_API_KEY_PREFIX).first()
    if api_key is None:
        api_key, _ = platform_api_key_store(
            organization=orgs[DEMO_PLATFORM],
            name=DEMO_API_KEY_NAME,
            prefix=DEMO_API_KEY_PREFIX,
            secret=_demo_api_key_secret(),
        )
    elif api_key.secret_hash != api_key_hash(raw):
        # SECRET_KEY changed since the last seed: keep the printed key working.
        api_key.secret_hash = api_key_hash(raw)
        api_key.save(update_fields=["secret_hash"])
    return api_key


@transaction.atomic
def seed_demo() -> list[User]:
    orgs = _seed_orgs()
    people = _seed_people(orgs)
    _seed_pages(orgs)
    _seed_api_key(orgs)
    return people
