"""The platform API is documented: every operation in the OpenAPI document, interactive docs
that need no internet, and docs/platform-api.md whose every curl example really works."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from cms import platform_webhooks
from cms.api_keys import platform_api_key_create
from cms.models import Organization
from credentials import services as credentials
from rewards import services as rewards
from tests.cms.test_platform_webhooks import Receiver
from tests.courses.builders import build_course
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory

DOC = Path(settings.BASE_DIR) / "docs" / "platform-api.md"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.mark.django_db
def test_every_operation_has_a_summary_a_description_tags_and_its_errors(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    operations = [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) >= 14
    for method, path, operation in operations:
        where = f"{method} {path}"
        assert operation.get("summary", "").strip(), where
        assert len(operation.get("description", "").strip()) > 20, where
        assert operation.get("tags"), where
        codes = {int(code) for code in operation["responses"]}
        assert any(200 <= code < 300 for code in codes), where
        assert 401 in codes, where  # every endpoint needs a key
        errors = codes & {400, 402, 403, 404, 409, 422}
        if operation.get("parameters") or operation.get("requestBody"):
            assert 422 in errors or 403 in errors, where
        for code in codes - {204}:
            assert "content" in operation["responses"][str(code)], (where, code)
    webhook_paths = {path for _method, path, _operation in operations if "webhooks" in path}
    assert webhook_paths == {
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/webhooks/{webhook_id}/test",
    }


@pytest.mark.django_db
def test_the_interactive_docs_need_no_internet(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert sources
    external = [s for s in sources if re.match(r"^(https?:)?//", s)]
    assert external == [], external
    assert "cdn." not in page and "jsdelivr" not in page and "unpkg" not in page
    assert '"validatorUrl": null' in page  # no badge fetched from validator.swagger.io


# --- the walk-through ----------------------------------------------------------------------


def curl_examples() -> list[str]:
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return [block for block in blocks if "curl " in block]


def test_the_walk_through_has_curl_examples_that_fail_loudly():
    examples = curl_examples()
    assert len(examples) >= 10
    for example in examples:
        assert "curl -fsS " in example, example
        assert "$ROADWISE/api/v1/" in example and "Bearer $KEY" in example, example


@pytest.fixture
def seeded(monkeypatch):
    """What the examples need: a platform and its key, a driver who granted it consent and is
    linked as KX-1001, with a certificate; a webhook subscription to a local receiver."""
    monkeypatch.setattr(credentials, "_render_files_later", lambda credential_id: None)
    platform = Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )
    school = Organization.objects.create(
        kind=Organization.Kind.SCHOOL, name="鹏城交通职业学院", slug="pengcheng"
    )
    _api_key, raw = platform_api_key_create(organization=platform, name="docs")
    driver = DriverFactory(mobile="+8613900000001")
    credentials.consent_grant(holder=driver, platform=platform)
    request = rewards.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="KX-1001"
    )
    rewards.link_request_decide(request=request, driver=driver, approve=True)
    completion = complete_course(driver, build_course(organization=school, title="安全驾驶"))
    credential = credentials.credential_issue(completion=completion)
    receiver = Receiver()
    subscription, _secret = platform_webhooks.webhook_subscribe(
        platform=platform, url=receiver.url("/seeded"), events=["reward.posted"]
    )
    yield {
        "KEY": raw,
        "CREDENTIAL_ID": f"urn:uuid:{credential.public_id}",
        "DRIVER_MOBILE": driver.mobile,
        "WEBHOOK_URL": receiver.url("/new"),
        "WEBHOOK_ID": str(subscription.public_id),
        "receiver": receiver,
    }
    receiver.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the curl binary is not installed")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_curl_example_of_the_walk_through_answers_2xx(live_server, seeded):
    env = {
        **os.environ,
        "ROADWISE": live_server.url,
        **{name: value for name, value in seeded.items() if isinstance(value, str)},
    }
    for example in curl_examples():
        result = subprocess.run(  # noqa: S603 - our own documentation's examples
            ["bash", "-euo", "pipefail", "-c", example],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (example, result.stdout, result.stderr)
        assert result.stdout.strip().startswith(("{", "[")) or not result.stdout.strip()
    # The examples' ping reached the seeded subscription's endpoint, signed.
    (ping,) = seeded["receiver"].on("/seeded")
    assert "Roadwise-Signature" in ping["headers"]
