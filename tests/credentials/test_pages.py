"""The drivers' certificate pages, sharing, consents and the public verification pages."""

import json
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from cms.models import Organization
from credentials import services
from credentials.models import ConsentGrant, Credential
from credentials.rendering.badge import unbake_png
from credentials.site_views import verdict_of
from credentials.verification import Verifier
from tests.courses.builders import build_course
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory, OperatorFactory

pytestmark = pytest.mark.django_db


def issue(completion) -> Credential:
    return services.credential_issue(completion=completion)


@pytest.fixture
def credential(completion, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issued = issue(completion)
    issued.refresh_from_db()
    return issued


@pytest.fixture
def owner(client, driver):
    client.force_login(driver)
    return client


def zh(name, **kwargs) -> str:
    with translation.override("zh-hans"):
        return reverse(name, kwargs=kwargs)


def verdict_title(html: str) -> str:
    match = re.search(r'<h1 id="verdict-title" class="verdict-title">(.*?)</h1>', html, re.S)
    assert match, html
    return match.group(1).strip()


def verdict(html: str) -> str:
    """The verdict's key (the title is translated; the key is not)."""
    match = re.search(r'data-verdict="([a-z_]+)"', html)
    assert match, html
    return match.group(1)


def english(client, url_name, **kwargs):
    with translation.override("en"):
        url = reverse(url_name, kwargs=kwargs)
    assert url.startswith("/en/")
    return url


# --- the list and the detail page ----------------------------------------------------------


def test_list_needs_login(client):
    response = client.get(zh("certificates:list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_list_shows_only_own_certificates(
    owner, credential, school, django_capture_on_commit_callbacks
):
    other = DriverFactory(display_name="李四")
    other_course = build_course(organization=school, title="夜间驾驶")
    other_credential = issue(complete_course(other, other_course))
    html = owner.get(zh("certificates:list")).content.decode()
    assert credential.number in html
    assert other_credential.number not in html
    assert "新能源汽车安全" in html
    assert "鹏城交通职业学院" in html and "远航新能源汽车" in html  # issuer and co-signer


def test_list_status_badges_and_renewal(owner, credential, driver, school):
    refresher = build_course(organization=school, title="新能源汽车安全复训")
    course = credential.course
    course.renewal_course = refresher.course
    course.save()
    Credential.objects.filter(pk=credential.pk).update(
        valid_until=timezone.now() - timedelta(days=1)
    )
    html = owner.get(zh("certificates:list")).content.decode()
    assert "cert-status-expired" in html
    assert refresher.course.url in html

    Credential.objects.filter(pk=credential.pk).update(
        valid_until=timezone.now() + timedelta(days=10)
    )
    html = owner.get(zh("certificates:list")).content.decode()
    assert "cert-status-expiring" in html
    assert refresher.course.url not in html

    services.credential_revoke(
        credential=credential, actor=OperatorFactory(), reason="证件信息有误"
    )
    html = owner.get(zh("certificates:list")).content.decode()
    assert "cert-status-revoked" in html
    assert "证件信息有误" in html


def test_expired_without_renewal_course_links_to_the_course(owner, credential):
    Credential.objects.filter(pk=credential.pk).update(
        valid_until=timezone.now() - timedelta(days=1)
    )
    html = owner.get(zh("certificates:list")).content.decode()
    assert credential.course.url in html


def test_list_query_count_does_not_grow(client, driver, school, django_assert_max_num_queries):
    client.force_login(driver)
    courses = [build_course(organization=school, title=f"课程{i}") for i in range(5)]
    issue(complete_course(driver, courses[0]))
    with django_assert_max_num_queries(100) as one:
        assert client.get(zh("certificates:list")).status_code == 200
    for built in courses[1:]:
        issue(complete_course(driver, built))
    assert Credential.objects.filter(holder=driver).count() == 5
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(zh("certificates:list"))
    assert response.content.decode().count("cert-card ") == 5


def test_detail_is_owner_only(owner, credential, client):
    response = owner.get(zh("certificates:detail", public_id=credential.public_id))
    assert response.status_code == 200
    html = response.content.decode()
    assert credential.number in html
    assert "<svg" in html  # the compact QR
    assert credential.share_token in html

    client.force_login(DriverFactory())
    assert client.get(zh("certificates:detail", public_id=credential.public_id)).status_code == 404
    for kind in ("credential.json", "certificate.pdf", "badge.png"):
        url = zh("certificates:download", public_id=credential.public_id, kind=kind)
        assert client.get(url).status_code == 404


def test_downloads(owner, credential):
    def get(kind):
        url = zh("certificates:download", public_id=credential.public_id, kind=kind)
        return owner.get(url)

    response = get("credential.json")
    assert response["Content-Type"] == "application/ld+json"
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content) == json.loads(credential.document)

    response = get("certificate.pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")

    response = get("badge.png")
    baked = unbake_png(b"".join(response.streaming_content))
    assert baked == json.loads(credential.document)

    assert get("secrets.txt").status_code == 404


def test_missing_files_are_rendered_on_demand(owner, completion):
    issued = issue(completion)  # no on_commit callbacks: no files yet
    assert not issued.pdf
    url = zh("certificates:download", public_id=issued.public_id, kind="certificate.pdf")
    response = owner.get(url)
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    issued.refresh_from_db()
    assert issued.pdf and issued.badge


# --- sharing -------------------------------------------------------------------------------


def test_new_share_link_retires_the_old_one(owner, credential, client):
    old = credential.share_token
    assert client.get(zh("certificates:shared", token=old)).status_code == 200
    response = owner.post(
        zh("certificates:share", public_id=credential.public_id), {"action": "renew"}
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.share_token and credential.share_token != old
    anonymous = Client()
    response = anonymous.get(zh("certificates:shared", token=old))
    assert response.status_code == 404
    assert "data-link-missing" in response.content.decode()
    assert anonymous.get(zh("certificates:shared", token=credential.share_token)).status_code == 200


def test_turning_sharing_off_and_on(owner, credential):
    old = credential.share_token
    url = zh("certificates:share", public_id=credential.public_id)
    owner.post(url, {"action": "disable"})
    credential.refresh_from_db()
    assert credential.share_token == ""
    anonymous = Client()
    assert anonymous.get(zh("certificates:shared", token=old)).status_code == 404
    assert anonymous.get("/verify//").status_code == 404
    html = owner.get(zh("certificates:detail", public_id=credential.public_id)).content.decode()
    assert 'value="renew"' in html and 'value="disable"' not in html
    owner.post(url, {"action": "renew"})
    credential.refresh_from_db()
    assert credential.share_token


def test_share_is_post_only_owner_only_and_csrf_protected(credential, client, driver):
    url = zh("certificates:share", public_id=credential.public_id)
    client.force_login(DriverFactory())
    assert client.post(url, {"action": "disable"}).status_code == 403
    client.force_login(driver)
    assert client.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(driver)
    assert strict.post(url, {"action": "disable"}).status_code == 403
    credential.refresh_from_db()
    assert credential.share_token


def test_shared_downloads(credential):
    anonymous = Client()
    token = credential.share_token
    response = anonymous.get(
        zh("certificates:shared_download", token=token, kind="credential.json")
    )
    assert json.loads(response.content) == json.loads(credential.document)
    response = anonymous.get(
        zh("certificates:shared_download", token=token, kind="certificate.pdf")
    )
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    url = zh("certificates:shared_download", token=token, kind="badge.exe")
    assert anonymous.get(url).status_code == 404
    url = zh("certificates:shared_download", token="nope", kind="credential.json")
    assert anonymous.get(url).status_code == 404


# --- consent -------------------------------------------------------------------------------


def test_consent_grant_and_withdraw(owner, driver, platform, school):
    url = zh("certificates:consents")
    html = owner.get(url).content.decode()
    assert platform.name in html
    assert school.name not in html  # only platforms
    owner.post(url, {"action": "grant", "platform": platform.pk})
    grant = ConsentGrant.objects.get(holder=driver, platform=platform, withdrawn_at=None)
    assert services.platform_has_consent(platform=platform, holder=driver)
    owner.post(url, {"action": "withdraw", "grant": grant.pk})
    grant.refresh_from_db()
    assert grant.withdrawn_at is not None
    assert not services.platform_has_consent(platform=platform, holder=driver)
    html = owner.get(url).content.decode()
    # the history, in the time zone pages are shown in (Shanghai), not UTC
    assert timezone.localtime(grant.withdrawn_at).strftime("%Y-%m-%d") in html
    # A school is not a platform.
    assert owner.post(url, {"action": "grant", "platform": school.pk}).status_code == 404


def test_no_cross_user_withdraw(client, driver, platform):
    grant = services.consent_grant(holder=driver, platform=platform)
    client.force_login(DriverFactory())
    response = client.post(zh("certificates:consents"), {"action": "withdraw", "grant": grant.pk})
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.withdrawn_at is None


def test_inactive_platforms_are_not_offered(owner):
    Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="停运平台", slug="gone", is_active=False
    )
    assert "停运平台" not in owner.get(zh("certificates:consents")).content.decode()


# --- verification --------------------------------------------------------------------------


def post_verify(client, **data):
    return client.post(zh("certificates:verify"), data)


def test_verify_page_is_public_and_not_indexed(client):
    html = client.get(zh("certificates:verify")).content.decode()
    assert '<meta name="robots" content="noindex">' in html
    assert "csrfmiddlewaretoken" in html


def test_verify_pasted_json_is_valid(client, credential):
    response = post_verify(client, text=credential.document)
    assert response.status_code == 200
    html = response.content.decode()
    assert verdict(html) == "valid"
    assert credential.number in html and "王建国" in html
    assert html.count('class="check check-pass"') == 5


def test_verify_tampered_json(client, credential):
    document = json.loads(credential.document)
    document["credentialSubject"]["identifier"][0]["identityHash"] = "王建民"
    html = post_verify(client, text=json.dumps(document, ensure_ascii=False)).content.decode()
    assert verdict(html) == "tampered"


def test_verify_revoked_shows_the_reason(client, credential):
    services.credential_revoke(credential=credential, actor=OperatorFactory(), reason="考试作弊")
    html = post_verify(client, text=credential.document).content.decode()
    assert verdict(html) == "revoked"
    assert "考试作弊" in html


def test_verify_qr_text(client, credential):
    assert credential.compact.startswith("RW1:")
    html = post_verify(client, text=credential.compact).content.decode()
    assert verdict(html) == "valid"


def test_verify_credential_id(client, credential):
    html = post_verify(client, text=str(credential.public_id)).content.decode()
    assert verdict(html) == "valid"


def test_verify_baked_png_upload(client, credential):
    png = credential.badge.read()
    upload = SimpleUploadedFile("badge.png", png, content_type="image/png")
    html = client.post(zh("certificates:verify"), {"file": upload}).content.decode()
    assert verdict(html) == "valid"


def test_verify_json_file_upload(client, credential):
    upload = SimpleUploadedFile("c.json", credential.document.encode(), "application/json")
    html = client.post(zh("certificates:verify"), {"file": upload}).content.decode()
    assert verdict(html) == "valid"


@pytest.mark.parametrize(
    "data",
    [
        {"text": "garbage"},
        {"text": "{not json"},
        {"text": "RW1:nonsense"},
        {"text": "[1, 2]"},
        {"file": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")},
        {"file": SimpleUploadedFile("x.bin", b"\xff\xfe\x00garbage", "application/octet-stream")},
    ],
)
def test_verify_garbage_is_a_clear_answer(client, db, data):
    response = client.post(zh("certificates:verify"), data)
    assert response.status_code == 200
    assert verdict(response.content.decode()) in ("not_credential", "unverified")


def test_verify_plain_png_without_credential(client, db):
    from tests.credentials.test_rendering import _png

    upload = SimpleUploadedFile("plain.png", _png(), "image/png")
    response = client.post(zh("certificates:verify"), {"file": upload})
    assert verdict(response.content.decode()) == "not_credential"


def test_verify_empty_form_asks_again(client, db):
    response = client.post(zh("certificates:verify"), {"text": ""})
    assert response.status_code == 200
    assert "verdict-title" not in response.content.decode()
    assert "errorlist" in response.content.decode()


def test_verify_too_large_upload(client, db):
    big = SimpleUploadedFile("big.json", b"{" + b" " * (3 * 1024 * 1024) + b"}", "application/json")
    response = client.post(zh("certificates:verify"), {"file": big})
    assert response.status_code == 413


def test_verify_post_is_csrf_protected(credential):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(zh("certificates:verify"), {"text": credential.document}).status_code == 403


def test_verify_in_english(client, credential):
    url = english(client, "certificates:verify")
    html = client.get(url).content.decode()
    assert "Check a certificate" in html
    html = client.post(url, {"text": credential.document}).content.decode()
    assert verdict(html) == "valid"
    assert verdict_title(html) == "Valid"
    assert "What we checked" in html


def test_shared_page_verifies(client, credential):
    response = client.get(zh("certificates:shared", token=credential.share_token))
    html = response.content.decode()
    assert verdict(html) == "valid"
    assert '<meta name="robots" content="noindex">' in html
    assert credential.number in html
    assert response["X-Robots-Tag"] == "noindex"


def test_unknown_and_empty_tokens_never_match(client, credential):
    Credential.objects.filter(pk=credential.pk).update(share_token="")
    response = client.get(zh("certificates:shared", token="doesnotexist"))
    assert response.status_code == 404
    assert '<meta name="robots" content="noindex">' in response.content.decode()


def test_verdicts_follow_the_checks(credential):
    report = Verifier().document(json.loads(credential.document), credential=credential)
    assert verdict_of(report).key == "valid"
    future = Verifier(now=timezone.now() + timedelta(days=400))
    report = future.document(json.loads(credential.document), credential=credential)
    assert verdict_of(report).key in ("expired", "no_status")  # status lists expire too
    report = Verifier().any("not a credential")
    assert verdict_of(report).key == "not_credential"


def test_expired_verdict(credential):
    from credentials import verification

    report = Verifier().document(json.loads(credential.document), credential=credential)
    report.checks["validity"] = verification.Check("fail", "expired", "Expired on 2020-01-01.")
    assert verdict_of(report).key == "expired"
    report.checks["status"] = verification.Check("unknown", "status_unavailable", "…")
    assert verdict_of(report).key == "expired"
    report.checks["validity"] = verification.Check("pass", "valid", "")
    assert verdict_of(report).key == "no_status"
