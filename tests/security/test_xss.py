"""Hostile payloads in every field that one user types and another user's browser shows.

Each field gets a payload tagged with the field's name; each page is read as a browser would
(lxml's HTML parser) and must (1) show the payload as text, so the test is not vacuous, and
(2) contain nothing that would run it: no script with our marker, no ``on…`` attribute with it,
no ``javascript:`` link, no unescaped ``<img src=x``. tests/e2e/test_xss_browser.py runs the
most valuable pages in Chromium and checks that the marker never gets set."""

import re
import subprocess
from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import translation

from cms.models import Organization
from courses.models import LessonPage
from credentials import services as credential_services
from credentials.models import Credential
from rewards import disputes
from rewards.models import ServiceEvent
from tests.courses.builders import add_lesson, build_course, catalogue, single_choice
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory, OperatorFactory
from tests.rewards.test_statements import (
    OCT_1,
    OCT_31,
    QUALITY,
    award,
    china,
    deposit,
    driver_linked,
    make_platform,
    publish,
    report,
    run_month,
)

pytestmark = pytest.mark.django_db

MARKER = "__xss"


def payload(tag: str) -> str:
    """At most 64 characters for a two-letter tag (a display name's limit): breaks out of an
    attribute, out of a <script> block, and opens one."""
    return f'{tag}"><img src=x onerror={MARKER}=1></script><script>{MARKER}=2</script>'


# Extra trouble for the longer fields: template syntax, a JS line terminator, a JS URL, quotes.
EXTRA = "{{7*7}}{% debug %}\u2028\u2029'`javascript:alert(1)"


def long_payload(tag: str) -> str:
    return payload(tag) + EXTRA


# --- what a browser would run -------------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcdoc"}


def soup_of(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.content.decode(), "lxml")


def assert_inert(response) -> BeautifulSoup:
    html = response.content.decode()
    soup = BeautifulSoup(html, "lxml")
    for script in soup.find_all("script"):
        assert MARKER not in script.get_text(), script
    for element in soup.find_all(True):
        for name, value in element.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower().startswith("on"):
                assert MARKER not in value, element
            if name.lower() in URL_ATTRIBUTES:
                assert not re.match(r"\s*(javascript|vbscript|data):", value, re.I), element
        if element.name in ("iframe", "object", "embed", "svg", "math"):
            assert MARKER not in str(element), element
    assert "<img src=x" not in html
    assert f"<script>{MARKER}" not in html
    return soup


def shown(soup: BeautifulSoup, text: str) -> bool:
    """``text`` is on the page as text (or as an attribute's value, e.g. an input's)."""
    if text in soup.get_text():
        return True
    return any(
        text in (" ".join(v) if isinstance(v, list) else str(v))
        for element in soup.find_all(True)
        for v in element.attrs.values()
    )


def check(response, *texts: str) -> BeautifulSoup:
    soup = assert_inert(response)
    for text in texts:
        assert shown(soup, text), f"{text!r} is not on the page"
    return soup


# --- a world where every author, driver and platform is hostile ---------------------------------


@dataclass
class Hostile:
    school: Organization
    driver: object
    credential: Credential
    course: object
    lesson: LessonPage


def _hostile_lesson(built):
    lesson = add_lesson(
        built.course,
        long_payload("LT"),
        [
            ("heading", {"text": payload("HD"), "level": "h2"}),
            # Rich text that did not come through the editor (an import, a seeder, a script).
            (
                "paragraph",
                '<p>RT<script>__xss=3</script><img src=x onerror="__xss=4">'
                '<a href="javascript:__xss=5">link</a><a href="https://example.com/ok">ok</a></p>',
            ),
            ("checklist", {"title": payload("CL"), "steps": [payload("ST")]}),
            (
                "callout",
                {"kind": "tip", "text": '<p>CO<a href=" javascript:__xss=6">x</a></p>'},
            ),
            single_choice(payload("QQ"), [payload("A1"), payload("A2")], correct=1),
        ],
    )
    lesson_body = list(lesson.body.raw_data)
    lesson_body[-1]["value"]["explanation"] = '<p>EX<svg onload="__xss=7"></svg></p>'
    lesson.body = lesson_body
    lesson.save_revision().publish()
    return LessonPage.objects.get(pk=lesson.pk)


@pytest.fixture
def hostile(django_capture_on_commit_callbacks):
    school = Organization.objects.create(
        kind=Organization.Kind.SCHOOL,
        name=payload("ON"),
        name_en=payload("OE"),
        slug="hostile-school",
        website="javascript:alert(1)",  # refused by the admin form; stored by a script
    )
    built = build_course(organization=school, title=long_payload("CT"), summary=long_payload("CS"))
    driver = DriverFactory(display_name=payload("DN"))
    completion = complete_course(driver, built)
    with django_capture_on_commit_callbacks(execute=True):
        credential = credential_services.credential_issue(completion=completion)
    credential.refresh_from_db()
    lesson = _hostile_lesson(built)
    return Hostile(
        school=school, driver=driver, credential=credential, course=built.course, lesson=lesson
    )


def en(name, **kwargs) -> str:
    with translation.override("en"):
        return reverse(name, kwargs=kwargs)


# --- certificates: the driver's pages, the public verification, the PDF ---------------------------


def test_the_certificate_pages_show_the_hostile_name_as_text(client, hostile):
    client.force_login(hostile.driver)
    credential = hostile.credential
    check(client.get(en("certificates:list")), payload("CT"))
    check(
        client.get(en("certificates:detail", public_id=credential.public_id)),
        payload("DN"),
        payload("CT"),
    )


def test_the_public_verification_pages_show_the_hostile_name_as_text(client, hostile):
    credential = hostile.credential
    check(client.get(en("certificates:shared", token=credential.share_token)), payload("DN"))
    check(client.post(en("certificates:verify"), {"text": credential.document}), payload("DN"))
    check(client.post(en("certificates:verify"), {"text": str(credential.public_id)}))


@pytest.mark.parametrize(
    "text",
    [payload("VP"), long_payload("VP"), "</script><script>__xss=1</script>", "{{7*7}}"],
)
def test_text_pasted_into_the_check_form_is_not_reflected_as_markup(client, db, text):
    check(client.post(en("certificates:verify"), {"text": text}))


def test_the_credential_json_keeps_the_name_as_data(client, hostile):
    """The signed JSON download is data, never a page: served as JSON, as an attachment."""
    client.force_login(hostile.driver)
    url = en(
        "certificates:download", public_id=hostile.credential.public_id, kind="credential.json"
    )
    response = client.get(url)
    assert response["Content-Type"] == "application/ld+json"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_certificate_pdf_shows_the_hostile_name_as_text(client, hostile, tmp_path):
    client.force_login(hostile.driver)
    url = en(
        "certificates:download", public_id=hostile.credential.public_id, kind="certificate.pdf"
    )
    response = client.get(url)
    assert response.status_code == 200
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(b"".join(response.streaming_content))
    text = subprocess.run(  # noqa: S603
        ["/usr/bin/pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    squeezed = re.sub(r"\s+", "", text)
    # The name is printed as its characters (WeasyPrint may wrap it across lines)...
    assert re.sub(r"\s+", "", payload("DN")) in squeezed
    # ...and no image was fetched for it (an <img> would have been a broken picture, not text).
    assert "onerror" in squeezed


# --- courses and lessons by a hostile author, read by drivers -----------------------------------


def test_course_and_lesson_pages_escape_the_authors_text(client, hostile):
    client.force_login(hostile.driver)  # enrolled: the lesson is open to them
    course = check(client.get(hostile.course.url), payload("CT"), payload("CS"))
    assert shown(course, payload("ON")) or shown(course, payload("OE"))
    lesson = check(
        client.get(hostile.lesson.url),
        payload("LT"),
        payload("HD"),
        payload("CL"),
        payload("ST"),
        payload("QQ"),
        payload("A1"),
    )
    html = str(lesson)
    # Rich text that bypassed the editor is cleaned when rendered: the safe part stays.
    assert "RT" in lesson.get_text() and 'href="https://example.com/ok"' in html
    assert "CO" in lesson.get_text()
    for text in ("link", "x"):
        links = [a for a in lesson.find_all("a") if a.get_text() == text]
        assert links and all(not a.get("href") for a in links)


def test_the_quiz_explanation_is_cleaned(client, hostile):
    """Explanations show after an attempt: a wrong answer, then the page with the results."""
    from courses import services as learning
    from tests.courses.builders import choice_ids

    question = hostile.lesson.questions[0]
    learning.quiz_attempt_submit(
        user=hostile.driver,
        lesson=hostile.lesson,
        answers={question.id: [choice_ids(question)[0]]},
    )
    client.force_login(hostile.driver)
    soup = check(client.get(hostile.lesson.url), payload("QQ"))
    explanation = soup.select_one(".explanation")
    assert explanation is not None and explanation.get_text().strip() == "EX"
    assert explanation.find("svg") is None


def test_the_catalogue_and_its_search_escape_titles_and_the_query(client, hostile):
    index = catalogue()
    check(client.get(index.url), payload("CT"))
    for query in (payload("SQ"), '" autofocus onfocus="__xss=1'):
        check(client.get(index.url, {"q": query}), query)
    check(client.get(index.url, {"q": long_payload("SQ")}), payload("SQ"))


def test_the_partner_page_escapes_and_drops_a_javascript_website(client, hostile):
    from cms.models import PartnerIndexPage, PartnerPage
    from tests.courses.builders import home_page

    index = home_page().add_child(instance=PartnerIndexPage(title="Partners", slug="partners-x"))
    page = index.add_child(
        instance=PartnerPage(
            title=payload("PT"),
            slug="hostile-partner",
            organization=hostile.school,
            tagline=payload("TL"),
            description='<p>DE<script>__xss=8</script><a href="javascript:__xss=9">x</a></p>',
        )
    )
    soup = check(client.get(page.url), payload("PT"), payload("TL"))
    assert "DE" in soup.get_text()
    assert not soup.select('a[href^="javascript"]')


def test_a_javascript_website_never_becomes_a_link():
    from cms.sanitising import http_url

    for url in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/",
        "/relative",
        "vbscript:x",
    ):
        assert http_url(url) == ""
    assert http_url("https://school.example/about") == "https://school.example/about"


# --- rewards: platform data and driver disputes, read by drivers and operators ------------------


@pytest.fixture
def hostile_rewards():
    with translation.override("en"):
        platform = make_platform(slug="evil", name=payload("PN"), name_en=payload("PE"))
        publish(
            platform, "quality", QUALITY, amount_fen=5000, effective_from=OCT_1, name=payload("RN")
        )
        deposit(platform, 100_000)
        driver = driver_linked(platform, 7, display_name=payload("DN"))
        report(platform, driver, when=china(2026, 10, 11), trips=110, ratings=[5] * 10, upheld=1)
        complaint = ServiceEvent.objects.get(driver=driver, kind="complaint")
        ServiceEvent.objects.filter(pk=complaint.pk).update(
            external_id=payload("EX"), trip_external_id=payload("TR")
        )
        award(platform, driver, 1000, long_payload("AW"), china(2026, 10, 12), ref=payload("AR"))
        run_month(platform, OCT_1, OCT_31, china(2026, 11, 5))
        complaint.refresh_from_db()
        dispute = disputes.dispute_open(
            driver=driver, reason=long_payload("DR"), complaint=complaint
        )
    return platform, driver, dispute


def test_the_statement_escapes_platform_data(client, hostile_rewards):
    _platform, driver, _dispute = hostile_rewards
    client.force_login(driver)
    check(client.get("/en/rewards/statements/2026-10/"), payload("AW"), payload("TR"))
    check(client.get("/en/rewards/statements/"))
    check(client.get("/en/rewards/disputes/"), long_payload("DR")[:60])


def test_the_dispute_admin_escapes_the_drivers_text(client, hostile_rewards, admin_in_english):
    _platform, _driver, dispute = hostile_rewards
    client.force_login(OperatorFactory())
    listing = check(client.get(reverse("rewards_disputes:list")))
    assert shown(listing, payload("DN")) or shown(listing, payload("PN"))
    check(
        client.get(reverse("rewards_disputes:detail", args=[dispute.public_id])),
        payload("DR"),
        payload("EX"),
        payload("TR"),
    )


# --- what platforms name: API keys and webhooks, shown to operators -----------------------------


def test_api_key_names_and_webhook_urls_are_escaped_in_the_admin(
    client, hostile_rewards, admin_in_english, settings
):
    from cms.api_keys import platform_api_key_create
    from cms.platform_webhooks import webhook_subscribe

    platform, _driver, _dispute = hostile_rewards
    platform_api_key_create(organization=platform, name=payload("KN"))
    hook_url = 'https://hooks.example/x?"><svg/onload=__xss=1><script>__xss=2</script>'

    subscription, _secret = webhook_subscribe(
        platform=platform,
        url=hook_url,
        events=["credential.revoked"],
        description=payload("WD"),
    )
    client.force_login(OperatorFactory())
    check(client.get("/admin/platform-api-keys/"), payload("KN"))
    check(client.get("/admin/platform-webhooks/"), hook_url, payload("WD"))
    check(client.get(f"/admin/platform-webhooks/{subscription.pk}/"), hook_url)


# --- redirects after signing in ------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "https:evil.example",
        " //evil.example",
    ],
)
def test_next_never_leaves_the_site(client, target):
    DriverFactory(mobile="+8613900001234")
    response = client.post(
        "/en/accounts/login/?next=" + target,
        {"username": "13900001234", "password": "correct-horse-battery", "next": target},
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))


def test_the_login_page_escapes_next(client, db):
    check(client.get("/en/accounts/login/", {"next": '"><script>__xss=1</script>'}))


# --- what operators and authors see in the admin --------------------------------------------------


def test_the_admin_certificate_pages_and_analytics_escape_names_and_titles(
    client, hostile, admin_in_english
):
    client.force_login(OperatorFactory())
    check(client.get(reverse("credential_admin:index")), payload("DN"))
    check(client.get(reverse("credential_admin:index"), {"q": payload("AQ")}), payload("AQ"))
    check(
        client.get(reverse("credential_admin:detail", args=[hostile.credential.pk])),
        payload("DN"),
    )
    check(client.get(reverse("course_analytics:index")), payload("CT"))
    check(client.get(reverse("wagtailadmin_explore", args=[hostile.course.pk])), payload("LT"))


# --- video embeds: the provider's HTML is reduced to an iframe ------------------------------------


def test_an_embeds_html_is_reduced_to_an_https_iframe():
    from cms.sanitising import clean_embed

    cleaned = clean_embed(
        '<iframe src="https://player.example/v/1" width="640" onload="__xss=1"></iframe>'
        '<script src="https://evil.example/x.js"></script>'
        '<iframe src="javascript:__xss=2"></iframe><iframe srcdoc="<script>__xss=3</script>">'
        '</iframe><img src=x onerror="__xss=4"><object data="x.swf"></object>'
    )
    assert MARKER not in cleaned and "script" not in cleaned
    assert '<iframe src="https://player.example/v/1" width="640"></iframe>' in cleaned
    assert "<object" not in cleaned and "<img" not in cleaned


def test_a_video_blocks_embed_renders_without_script(client, hostile):
    from wagtail.embeds.embeds import get_embed_hash
    from wagtail.embeds.models import Embed

    Embed.objects.create(
        hash=get_embed_hash("https://video.example/watch?v=1"),
        url="https://video.example/watch?v=1",
        max_width=None,
        type="video",
        html='<iframe src="https://video.example/embed/1"></iframe><script>__xss=1</script>',
        title="video",
        thumbnail_url="",
        width=640,
        height=360,
    )
    lesson = add_lesson(
        hostile.course,
        "Video",
        [("video", {"embed": "https://video.example/watch?v=1", "transcript": "<p>TS</p>"})],
    )
    client.force_login(hostile.driver)
    soup = check(client.get(lesson.url))
    iframe = soup.select_one("figure.video iframe")
    assert iframe is not None and iframe["src"] == "https://video.example/embed/1"


# --- uploaded files: an author's document title and file name --------------------------------


def test_a_documents_title_and_file_name_are_escaped_and_served_inert(client, hostile):
    from django.core.files.base import ContentFile
    from wagtail.documents import get_document_model

    document = get_document_model().objects.create(
        title=payload("DT"),
        file=ContentFile(
            b"%PDF-1.7\n%%EOF\n", name='x"><img src=x onerror=__xss=1>\r\nX-Evil: 1.pdf'
        ),
    )
    lesson = add_lesson(
        hostile.course,
        "Handout",
        [("document", {"document": document, "description": payload("DD")})],
    )
    client.force_login(hostile.driver)
    check(client.get(lesson.url), payload("DT"), payload("DD"))
    response = client.get(document.url)
    assert response.status_code == 200
    assert "X-Evil" not in response.headers
    assert (
        "<" not in response["Content-Disposition"] and "\n" not in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
