"""An SMS sender that fails a set number of times first, like a provider having a bad minute.

Also used by the real-worker test, so the count comes from the environment."""

import os

from cms.sms import OutboxSmsSender, SmsSendError


class FlakySmsSender(OutboxSmsSender):
    failures_left = int(os.environ.get("ROADWISE_FLAKY_SMS_FAILURES", "0"))

    def send(self, *, mobile: str, body: str) -> str:
        if FlakySmsSender.failures_left > 0:
            FlakySmsSender.failures_left -= 1
            raise SmsSendError("provider busy")
        return super().send(mobile=mobile, body=body)
