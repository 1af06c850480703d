"""The platforms' credential API: keys, verification (single and batch), consented listing."""

import json

import pytest
from django.test import Client

from cms.api_keys import platform_api_key_create, platform_api_key_revoke
from credentials import services
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory, UserFactory

pytestmark = pytest.mark.django_db
VERIFY = "/api/v1/credentials/verify"


@pytest.fixture
def credential(completion):
    return services.credential_issue(completion=completion)


@pytest.fixture
def api_key(platform):
    return platform_api_key_create(organization=platform, name="tests")


@pytest.fixture
def api(api_key):
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")


def post(client, body):
    return client.post(VERIFY, data=json.dumps(body), content_type="application/json")


def test_verifying_needs_a_live_platform_key(credential, api_key):
    body = {"credential": credential.document}
    assert post(Client(), body).status_code == 401
    assert post(Client(HTTP_AUTHORIZATION="Bearer rw_nope_nope"), body).status_code == 401
    platform_api_key_revoke(api_key=api_key[0])
    response = post(
        Client(HTTP_AUTHORIZATION=f"Bearer {api_key[1]}", HTTP_ACCEPT_LANGUAGE="en"), body
    )
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]


def test_one_credential_as_document_text_id_or_qr(api, credential):
    for value in (
        json.loads(credential.document),
        credential.document,
        f"urn:uuid:{credential.public_id}",
        credential.compact,
    ):
        response = post(api, {"credential": value})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["verified"] is True
        assert set(body["checks"]) == {"proof", "issuer", "status", "validity", "schema"}
        assert all(check["result"] == "pass" for check in body["checks"].values())
        assert body["credential"]["number"] == credential.number
        assert body["credential"]["holder"] == "王建国"


def test_a_tampered_or_revoked_credential_is_not_verified(api, credential):
    tampered = json.loads(credential.document)
    tampered["credentialSubject"]["identifier"][0]["identityHash"] = "李四"
    body = post(api, {"credential": tampered}).json()
    assert body["verified"] is False
    assert body["checks"]["proof"] == {
        "result": "fail",
        "code": "tampered",
        "reason": body["checks"]["proof"]["reason"],
    }
    operator = UserFactory(is_superuser=True)
    services.credential_revoke(credential=credential, actor=operator, reason="证书信息有误")
    body = post(api, {"credential": credential.document}).json()
    assert body["verified"] is False
    assert body["checks"]["status"]["code"] == "revoked"
    assert "证书信息有误" in body["checks"]["status"]["reason"]


def test_a_batch_keeps_order_and_counts(api, credential):
    items = [credential.document, "garbage", credential.compact] * 10
    response = post(api, {"credentials": items})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 30
    assert body["verified"] == 20
    assert [r["verified"] for r in body["results"][:3]] == [True, False, True]


def test_a_batch_answer_has_exactly_the_documented_shape(api, credential):
    """The batch answer is rendered without ninja's response validation (for speed), so it is
    checked here against the documented models, and against the single answer's shape."""
    from credentials.api import BatchResult, VerifyResult

    foreign = json.loads(credential.document)
    foreign["name"] = {"zh": "不是字符串"}  # anything may sit in a foreign credential
    foreign["credentialSubject"]["licenseNumber"] = 12345
    items = [json.loads(credential.document), foreign, "garbage"]
    response = post(api, {"credentials": items})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert BatchResult.model_validate(body).model_dump(by_alias=True) == body
    assert body["results"][1]["verified"] is False
    assert body["results"][1]["credential"]["number"] is None
    assert body["results"][2]["credential"] is None
    single = post(api, {"credential": items[0], "proofs": "fastest"}).json()
    assert VerifyResult.model_validate(single).model_dump(by_alias=True) == single
    assert single == body["results"][0]
    assert set(single["checks"]) == {"proof", "issuer", "status", "validity", "schema"}


def test_a_batch_of_1000_is_accepted_and_1001_refused(api, credential):
    ids = [f"urn:uuid:{credential.public_id}"] * 1000
    response = post(api, {"credentials": ids})
    assert response.status_code == 200
    assert response.json()["verified"] == 1000
    response = post(api, {"credentials": [*ids, ids[0]]})
    assert response.status_code == 422
    assert "1000" in response.content.decode()


@pytest.mark.parametrize(
    "body",
    [{}, {"credential": "x", "credentials": ["x"]}, {"credentials": []}, {"credential": 5}],
)
def test_malformed_requests_get_422_with_a_message(api, body):
    response = post(api, body)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_broken_json_is_refused_cleanly(api):
    response = api.post(VERIFY, data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)


def test_a_platform_lists_a_drivers_credentials_only_with_consent(
    api, platform, credential, driver
):
    url = f"/api/v1/drivers/{driver.mobile}/credentials"
    assert api.get(url).status_code == 403
    # An unknown number gets the same answer: numbers cannot be probed.
    assert api.get("/api/v1/drivers/+8613999999999/credentials").status_code == 403
    grant = services.consent_grant(holder=driver, platform=platform)
    body = api.get(url).json()
    assert [c["number"] for c in body["credentials"]] == [credential.number]
    assert body["credentials"][0]["status"] == "active"
    assert body["credentials"][0]["document"]["id"] == f"urn:uuid:{credential.public_id}"
    services.consent_withdraw(grant=grant, holder=driver)
    assert api.get(url).status_code == 403


def test_consent_is_per_platform(api, platform, credential, driver):
    from cms.models import Organization

    other = Organization.objects.create(kind="platform", name="别的平台", slug="other-platform")
    services.consent_grant(holder=driver, platform=other)
    assert api.get(f"/api/v1/drivers/{driver.mobile}/credentials").status_code == 403


def test_a_driver_cannot_withdraw_someone_elses_consent(platform, driver):
    grant = services.consent_grant(holder=driver, platform=platform)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.consent_withdraw(grant=grant, holder=DriverFactory())
    assert services.consent_grant(holder=driver, platform=platform) == grant  # idempotent


def test_the_openapi_schema_documents_the_endpoints_and_the_bearer_key(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/credentials/verify" in schema["paths"]
    assert "/api/v1/drivers/{mobile}/credentials" in schema["paths"]
    assert any(
        s.get("scheme") == "bearer" for s in schema["components"]["securitySchemes"].values()
    )
    checks = schema["components"]["schemas"]["ChecksOut"]["properties"]
    assert set(checks) == {"proof", "issuer", "status", "validity", "schema"}


def test_expired_credentials_are_listed_as_expired(api, platform, school):
    from tests.courses.builders import build_course

    driver = DriverFactory()
    built = build_course(organization=school, title="旧课程", certificate_valid_days=1)
    completion = complete_course(driver, built)
    from datetime import timedelta

    type(completion).objects.filter(pk=completion.pk).update(
        completed_at=completion.completed_at - timedelta(days=3)
    )
    completion.refresh_from_db()
    services.credential_issue(completion=completion)
    services.consent_grant(holder=driver, platform=platform)
    body = api.get(f"/api/v1/drivers/{driver.mobile}/credentials").json()
    assert body["credentials"][0]["status"] == "expired"
    verdict = post(api, {"credential": body["credentials"][0]["qr"]}).json()
    assert verdict["checks"]["validity"]["code"] == "expired"
