"""An in-process fake of the Stripe API for tests (no network beyond 127.0.0.1).

    from tests.stripe_fake import FakeStripe

    with FakeStripe() as fake:
        client = fake.client(timeout=0.5, max_network_retries=2)
        ...

Or use the `stripe_fake` fixture: import it into a test module or conftest
(``from tests.stripe_fake import stripe_fake  # noqa: F401``).
"""

import pytest

from tests.stripe_fake.server import (
    DEFAULT_API_KEY,
    FakeStripe,
    FakeUsageError,
    StripeFakeError,
    decode_form,
)
from tests.stripe_fake.signing import sign_payload, signed_event, webhook_post_kwargs

__all__ = [
    "DEFAULT_API_KEY",
    "FakeStripe",
    "FakeUsageError",
    "StripeFakeError",
    "decode_form",
    "sign_payload",
    "signed_event",
    "stripe_fake",
    "webhook_post_kwargs",
]


@pytest.fixture
def stripe_fake():
    """A started FakeStripe, stopped after the test."""
    with FakeStripe() as fake:
        yield fake
