"""One-off awards: a platform pays a linked driver a bonus of its own, from its funding.

An award is one ledger transaction (platform funding → driver payable, kind ``award``, key
``award:{platform}:{id}``) and its `rewards.models.Award` row, written together or not at all.
The platform's own id makes it idempotent: sending the same award again pays nothing more and
returns the first one; the same id with other content is refused (`AwardConflict`).
"""

import re
import uuid
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import platform_webhooks
from cms.audit import audit
from cms.models import Organization, User
from rewards.ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    balance,
    driver_payable_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import Award, DriverLink, Transaction
from rewards.policy import effective_policy

EXTERNAL_ID_MAX_LENGTH = 100
DRIVER_ID_MAX_LENGTH = 64
REASON_MAX_LENGTH = 500
CURRENCY = re.compile(r"[A-Z]{3}")
CHINA = ZoneInfo("Asia/Shanghai")


class AwardConflict(Exception):
    """The platform's award id was already used for a different award; nothing changed."""

    def __init__(self, message: str, *, award: Award):
        super().__init__(message)
        self.award = award


class DriverNotLinked(ValidationError):
    """No driver has an active link to this platform under that id (``ended``: there was one,
    and the driver ended it)."""

    def __init__(self, message: str, *, ended: bool):
        super().__init__(message, code="link_ended" if ended else "not_linked")
        self.ended = ended


class AwardUnderfunded(InsufficientFunds):
    """The platform's funding account does not hold enough for the award; nothing was written."""

    def __init__(self, message: str, *, account, shortfall_fen: int, balance_fen: int):
        super().__init__(message, account=account, shortfall_fen=shortfall_fen)
        self.balance_fen = balance_fen


def award_idempotency_key(platform: Organization, external_id: str) -> str:
    return f"award:{platform.public_id}:{external_id}"


def _clean(*, platform_driver_id, external_id, amount_fen, reason, currency) -> dict:
    """The request's fields, checked (all problems at once, by field)."""
    errors: dict[str, str] = {}

    def text(name: str, value, max_length: int) -> str:
        if not isinstance(value, str) or not value.strip():
            errors[name] = _("Give %(field)s (1 to %(max)d characters).") % {
                "field": name,
                "max": max_length,
            }
            return ""
        value = value.strip()
        if len(value) > max_length:
            errors[name] = _("%(field)s is longer than %(max)d characters.") % {
                "field": name,
                "max": max_length,
            }
        return value

    cleaned = {
        "external_id": text("id", external_id, EXTERNAL_ID_MAX_LENGTH),
        "driver": text("driver", platform_driver_id, DRIVER_ID_MAX_LENGTH),
        "reason": text("reason", reason, REASON_MAX_LENGTH),
        "amount_fen": amount_fen,
        "currency": currency,
    }
    # bool is an int to Python, and a float is never money here.
    if type(amount_fen) is not int or amount_fen < 1:
        errors["amount_fen"] = _("amount_fen is a whole number of fen, 1 or more.")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        errors["currency"] = _("currency is a three-letter ISO code in capitals, such as CNY.")
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_platform(platform: Organization) -> None:
    if platform.kind != Organization.Kind.PLATFORM or not platform.is_active:
        raise PermissionDenied(_("Only an active ride-hailing platform gives awards."))


def _linked_driver_id(platform: Organization, platform_driver_id: str) -> int:
    link = (
        DriverLink.objects.filter(
            platform=platform, platform_driver_id=platform_driver_id, unlinked_at=None
        )
        .values_list("driver_id", flat=True)
        .first()
    )
    if link is not None:
        return link
    if DriverLink.objects.filter(platform=platform, platform_driver_id=platform_driver_id).exists():
        raise DriverNotLinked(
            _(
                "Driver %(driver)s has ended their link with your platform: awards to them "
                "are refused until they link their account again."
            )
            % {"driver": platform_driver_id},
            ended=True,
        )
    raise DriverNotLinked(
        _("Driver %(driver)s has not linked their Roadwise account to your platform.")
        % {"driver": platform_driver_id},
        ended=False,
    )


def _find(platform: Organization, external_id: str) -> Award | None:
    return (
        Award.objects.select_related("transaction")
        .filter(platform=platform, external_id=external_id)
        .first()
    )


def award_platform_driver_id(award: Award) -> str:
    """The platform's id of the driver, as the platform sent it with the award."""
    return (award.transaction.metadata or {}).get("driver", "")


def _replay(award: Award, cleaned: dict) -> Award:
    """The award already given under this id, if the request is the same; else a conflict."""
    same = (
        award_platform_driver_id(award) == cleaned["driver"]
        and award.amount_fen == cleaned["amount_fen"]
        and award.currency == cleaned["currency"]
        and award.reason == cleaned["reason"]
    )
    if not same:
        raise AwardConflict(
            _(
                "The award id %(id)s was already used for a different award (driver "
                "%(driver)s, %(amount)d fen %(currency)s); an award is never changed. Use a new "
                "id for a new award."
            )
            % {
                "id": award.external_id,
                "driver": award_platform_driver_id(award),
                "amount": award.amount_fen,
                "currency": award.currency,
            },
            award=award,
        )
    return award


def _notify_platform(award: Award, platform_driver_id: str) -> None:
    """A signed `reward.posted` webhook to the platform that gave the award, and no other."""
    data = lambda: {  # noqa: E731 - built only if the platform listens
        "driver": {
            "id": str(User.objects.values_list("public_id", flat=True).get(pk=award.driver_id)),
            "platform_driver_id": platform_driver_id,
        },
        "reward": {
            "id": award.external_id,
            "kind": "award",
            "amount_fen": award.amount_fen,
            "currency": award.currency,
            "month": timezone.localdate(award.created_at, CHINA).strftime("%Y-%m"),
        },
    }
    platform_webhooks.webhook_emit(award.platform_id, platform_webhooks.EVENT_REWARD_POSTED, data)


def award_grant(
    *,
    platform: Organization,
    platform_driver_id: str,
    external_id: str,
    amount_fen: int,
    reason: str,
    currency: str = "CNY",
    actor_label: str | None = None,
) -> tuple[Award, bool]:
    """Pay a one-off award to the driver linked to ``platform`` as ``platform_driver_id``.

    Returns ``(award, created)``: ``created`` is False when this id was awarded before with the
    same driver, amount, currency and reason (nothing more is paid). Raises, writing nothing:
    `ValidationError` (a field is wrong; by field), `DriverNotLinked` (a `ValidationError`),
    `AwardConflict` (the id was used for another award), `AwardUnderfunded` (the platform's
    funding is short; ``shortfall_fen`` says by how much), `PermissionDenied` (not an active
    platform). ``actor_label``: who sent it, for the audit log (the API passes its key).
    """
    _check_platform(platform)
    cleaned = _clean(
        platform_driver_id=platform_driver_id,
        external_id=external_id,
        amount_fen=amount_fen,
        reason=reason,
        currency=currency,
    )
    external_id = cleaned["external_id"]
    existing = _find(platform, external_id)
    if existing is not None:
        # A replay is answered even if the driver has since unlinked or the limit changed.
        return _replay(existing, cleaned), False

    max_fen = effective_policy(platform).max_reward_fen
    if cleaned["amount_fen"] > max_fen:
        raise ValidationError(
            {
                "amount_fen": _("An award is at most %(max)d fen (the site's limit).")
                % {"max": max_fen}
            }
        )
    driver_id = _linked_driver_id(platform, cleaned["driver"])
    public_id = uuid.uuid4()
    key = award_idempotency_key(platform, external_id)
    try:
        with transaction.atomic():
            # Opened here, so that a refused award leaves no new empty account behind.
            funding = platform_funding_account(platform, cleaned["currency"])
            payable = driver_payable_account(User.objects.get(pk=driver_id), cleaned["currency"])
            posted = post_transaction(
                idempotency_key=key,
                kind=Transaction.Kind.AWARD,
                legs=[(funding, -cleaned["amount_fen"]), (payable, cleaned["amount_fen"])],
                # A record in the books, like the runs' descriptions: not translated.
                description=f"One-off award {external_id}: {cleaned['reason']}",
                metadata={
                    "award": str(public_id),
                    "platform": str(platform.public_id),
                    "external_id": external_id,
                    "driver": cleaned["driver"],
                },
            )
            # A concurrent identical request committed first: its transaction came back.
            existing = _find(platform, external_id)
            if existing is not None:
                return _replay(existing, cleaned), False
            award = Award.objects.create(
                public_id=public_id,
                platform=platform,
                external_id=external_id,
                driver_id=driver_id,
                amount_fen=cleaned["amount_fen"],
                currency=cleaned["currency"],
                reason=cleaned["reason"],
                transaction=posted,
            )
            audit(
                "roadwise.award.grant",
                award,
                actor_label=actor_label or f"platform {platform.slug}",
                title=f"Award {external_id} ({platform.slug})",
                data={
                    "platform": platform.slug,
                    "external_id": external_id,
                    "driver": driver_id,
                    "amount_fen": award.amount_fen,
                    "currency": award.currency,
                    "reason": award.reason,
                    "transaction": posted.idempotency_key,
                },
            )
            _notify_platform(award, cleaned["driver"])
    except InsufficientFunds as exc:
        held = balance(exc.account)
        raise AwardUnderfunded(
            _(
                "Your funding account holds %(held)d fen %(currency)s; this award needs "
                "%(amount)d fen. Deposit at least %(shortfall)d fen more, then send the award "
                "again."
            )
            % {
                "held": held,
                "currency": cleaned["currency"],
                "amount": cleaned["amount_fen"],
                "shortfall": exc.shortfall_fen,
            },
            account=exc.account,
            shortfall_fen=exc.shortfall_fen,
            balance_fen=held,
        ) from exc
    except (IdempotencyConflict, IntegrityError):
        # A concurrent request under the same id won the race; answer as if it came first.
        existing = _find(platform, external_id)
        if existing is None:
            raise
        return _replay(existing, cleaned), False
    return award, True
