"""Schemathesis against the platform API's own OpenAPI document (/api/v1/openapi.json), in
process through Django's WSGI handler: every operation, with a live key of a platform that has
realistic data, with no key and with a bogus one. No answer may be a 5xx; answers must match
the documented status codes, content types and schemas.

30 examples per operation in the normal suite (derandomized: the same ones on every run);
FUZZ_EXAMPLES=500 for a long run."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cms import platform_webhooks
from tests.fuzz.conftest import fuzz_settings

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

# Loaded once, at collection, the way a platform's client loads it.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _as_the_test_client_does():
    """The requests run in the test's transaction, as with Django's test client: the WSGI
    handler must not close the connection at the start and end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_outgoing_requests(monkeypatch):
    """A webhook test ping is delivered eagerly: answer it here, never on the network."""
    monkeypatch.setattr(platform_webhooks, "_post", lambda url, body, headers: (204, "", ""))


# identity: the WSGI transport does not undo GZipMiddleware.
PLAIN = {"Accept-Language": "en", "Accept-Encoding": "identity"}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}", **PLAIN}


def expected(case) -> int:
    """401 without a live key; 405 for a method the path does not have (schemathesis tries
    those too), which ninja answers before it looks at the key."""
    return 401 if case.method.upper() == case.operation.method.upper() else 405


@schema.parametrize()
@fuzz_settings(30)
def test_no_operation_answers_5xx_or_off_its_schema(case, world):
    response = case.call(headers=bearer(world.raw_key))
    case.validate_response(response, checks=CHECKS, headers=bearer(world.raw_key))


@schema.parametrize()
@fuzz_settings(10)
def test_without_a_key_every_operation_answers_401(case, db):
    response = case.call(headers=PLAIN)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code == expected(case), response.text
    if response.status_code == 401:
        headers = {name.lower(): value for name, value in response.headers.items()}
        assert headers["www-authenticate"] == ['Bearer realm="Roadwise API"']


@schema.parametrize()
@fuzz_settings(10)
def test_with_a_bogus_or_revoked_key_every_operation_answers_401(case, world):
    from cms.api_keys import platform_api_key_revoke

    platform_api_key_revoke(api_key=world.key)
    for key in (world.raw_key, "rw_00000000_bogus", "rw_" + world.raw_key[3:11] + "_x" * 40):
        response = case.call(headers=bearer(key))
        case.validate_response(response, checks=CHECKS)
        assert response.status_code == expected(case), (key, response.text)
