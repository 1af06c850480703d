"""Settings of the Celery workers the fault tests start: the test settings, with a short
visibility timeout so that a message whose worker was killed (SIGKILL, no chance to reject it)
is handed to the next worker within seconds instead of an hour. Everything else is production's
configuration (acks_late, reject_on_worker_lost, prefetch 1)."""

from cms.settings.test import *  # noqa: F403

VISIBILITY_TIMEOUT_SECONDS = 5
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
    "unacked_restore_throttle": 1,  # look for such messages on every sweep (10 s)
}
