"""Pluggable SMS senders. Settings name one with SMS_SENDER (a dotted path); the default
writes messages to the log, so that a laptop needs no SMS provider."""

import logging
import sys
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("roadwise.sms")


class SmsSendError(Exception):
    """The provider refused or failed to take the message; it may be retried."""


class SmsSender:
    """Interface: ``send`` hands one message to the provider and returns its message id."""

    def send(self, *, mobile: str, body: str) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsSender(SmsSender):
    """Development: print the message where the person running the site can see it."""

    def send(self, *, mobile: str, body: str) -> str:
        message_id = f"console-{uuid.uuid4()}"
        logger.info("SMS to %s: %s", mobile, body)
        print(f"[SMS to {mobile}] {body}", file=sys.stderr, flush=True)  # noqa: T201
        return message_id


@dataclass(frozen=True)
class SentSms:
    mobile: str
    body: str
    message_id: str


outbox: list[SentSms] = []


class OutboxSmsSender(SmsSender):
    """Tests: keep messages in ``cms.sms.outbox`` (like django.core.mail.outbox)."""

    def send(self, *, mobile: str, body: str) -> str:
        message_id = f"outbox-{uuid.uuid4()}"
        outbox.append(SentSms(mobile=mobile, body=body, message_id=message_id))
        return message_id


def get_sms_sender() -> SmsSender:
    return import_string(settings.SMS_SENDER)()
