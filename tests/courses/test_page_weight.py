"""Page weight budgets (issue 7): drivers study on phones with a poor signal, so the main pages
stay small. Budgets come from bench/page_weight.py (docs/page-weight.md), with headroom:

- HTML: the demo's pages measured 2.9 to 9.5 KB before compression, except the certificate
  page (23.5 KB, most of it the inline QR code SVG). A budget of 20 KB (about twice the largest
  ordinary page) and 40 KB for the certificate page catches a page that starts inlining data,
  repeating a large block per item, or shipping a script or style sheet inline.
- No <script> in <head> without defer, async or type=module: a script there blocks the first
  paint until it has come over a poor connection.
- Every <img> on course and lesson pages has width and height (no jump while loading) and a
  srcset (a phone picks the rendition for its screen), unless it is an SVG.
- No web fonts: the site CSS uses the phone's own fonts (a CJK web font is megabytes).
- Style sheets and scripts: site.css measured 12.6 KB (2.8 KB compressed) and the lesson page's
  scripts 8.8 KB; budgets of 20 KB and 16 KB.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from courses import services as learning
from credentials import services as issuing
from rewards import statements
from tests.courses.builders import add_lesson, build_course, catalogue, home_page
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db
ROOT = Path(settings.BASE_DIR)
KB = 1024
HTML_BUDGET = 20 * KB
HTML_BUDGETS = {"certificate": 40 * KB}  # the QR code is an inline SVG
CSS_BUDGET = 20 * KB
LESSON_JS_BUDGET = 16 * KB


class _Tags(HTMLParser):
    """The tags of a page, each with its attributes and whether it sits in <head>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict, bool]] = []
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self.in_head = True
        self.tags.append((tag, dict(attrs), self.in_head))

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


def _tags(html: str) -> list[tuple[str, dict, bool]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture
def pages(django_capture_on_commit_callbacks) -> dict[str, tuple[Client, str]]:
    """The main pages, as a signed-in driver gets them: name -> (client, path)."""
    driver = DriverFactory(display_name="王建国")
    built = build_course(title="防御性驾驶")
    image = Image.objects.create(title="车距", file=get_test_image_file(size=(1600, 900)))
    picture = (
        "image",
        {"image": image, "alt_text": "两车之间的安全距离", "decorative": False},
    )
    pictured = add_lesson(built.course, "看图学车距", [("paragraph", "<p>看这张图。</p>"), picture])
    built.course.body = [picture]
    built.course.save_revision().publish()
    learning.enrollment_create(user=driver, course=built.course)
    learning.lesson_complete(user=driver, lesson=pictured)
    with django_capture_on_commit_callbacks(execute=True):
        credential = issuing.credential_issue(completion=complete_course(driver, built))
    client = Client()
    client.force_login(driver)
    learning.lesson_visit(user=driver, lesson=pictured)
    month = statements.this_month().strftime("%Y-%m")
    return {
        "home": (client, home_page().url),
        "catalogue": (client, catalogue().url),
        "course": (client, built.course.url),
        "lesson": (client, built.reading.url),
        "lesson with an image": (client, pictured.url),
        "dashboard": (client, reverse("courses:dashboard")),
        "certificate": (client, reverse("certificates:detail", args=[credential.public_id])),
        "verification": (Client(), reverse("certificates:verify")),
        "statement": (client, reverse("rewards:statement", args=[month])),
    }


def _get(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def test_the_main_pages_stay_within_their_budgets(pages):
    for name, (client, path) in pages.items():
        html = _get(client, path)
        budget = HTML_BUDGETS.get(name, HTML_BUDGET)
        assert len(html.encode()) <= budget, f"{name} ({path}): {len(html.encode())} bytes"
        for tag, attrs, in_head in _tags(html):
            if tag == "script" and in_head and "src" in attrs:
                assert "defer" in attrs or "async" in attrs or attrs.get("type") == "module", (
                    f"{name}: a blocking script in <head>: {attrs}"
                )
            if tag == "script" and in_head and "src" not in attrs:
                assert attrs.get("type") in ("application/json", "application/ld+json"), (
                    f"{name}: an inline script in <head>"
                )
            if tag == "link" and attrs.get("rel") == "stylesheet":
                assert attrs["href"].startswith(settings.STATIC_URL), f"{name}: {attrs}"
            if tag == "link" and attrs.get("as") == "font":
                pytest.fail(f"{name}: a web font is preloaded: {attrs}")


def test_images_on_course_and_lesson_pages_are_responsive_renditions(pages):
    seen = 0
    for name in ("course", "lesson", "lesson with an image"):
        client, path = pages[name]
        for tag, attrs, _in_head in _tags(_get(client, path)):
            if tag != "img":
                continue
            seen += 1
            assert attrs.get("width") and attrs.get("height"), f"{name}: {attrs}"
            if not attrs["src"].endswith(".svg"):
                assert attrs.get("srcset"), f"{name}: {attrs}"
                assert attrs.get("sizes"), f"{name}: {attrs}"
                assert attrs.get("loading") == "lazy", f"{name}: {attrs}"
    assert seen == 2  # the course's and the lesson's image: the test saw what it checks


def test_the_site_css_uses_the_phones_own_fonts_and_stays_small():
    for css in sorted((ROOT / "static" / "css").glob("*.css")):
        text = css.read_text(encoding="utf-8")
        assert "@font-face" not in text, css.name
        assert not re.search(r"url\([^)]*\.(woff2?|ttf|otf|eot)", text), css.name
        assert "@import" not in text, css.name  # a second round trip before anything shows
        assert css.stat().st_size <= CSS_BUDGET, f"{css.name}: {css.stat().st_size} bytes"
    lesson_js = sum(
        (ROOT / "static" / "js" / name).stat().st_size for name in ("lesson.js", "offline.js")
    )
    assert lesson_js <= LESSON_JS_BUDGET, lesson_js


def test_pages_are_compressed_and_hashed_static_files_cached_for_long():
    assert "django.middleware.gzip.GZipMiddleware" in settings.MIDDLEWARE
    # Production serves hashed, pre-compressed static files, which WhiteNoise sends with
    # Cache-Control: max-age of ten years, immutable (the test settings keep plain names).
    production = (ROOT / "cms" / "settings" / "production.py").read_text(encoding="utf-8")
    assert "whitenoise.storage.CompressedManifestStaticFilesStorage" in production
    home_page()
    response = Client().get("/learn/offline/", headers={"accept-encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
