"""Platforms' reward API: one-off awards, and the totals paid to their drivers."""

from datetime import date, datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import StrictInt, StrictStr

from cms import api_scopes as scopes
from cms.api_auth import needs, platform_key_auth
from cms.api_routes import NoNul, api_errors
from cms.audit import api_key_actor
from rewards import awards, selectors
from rewards.models import Award
from rewards.rules import _bounds, month_end

router = Router(auth=platform_key_auth, tags=["rewards"])


def _messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _month(value: str, *, allow_future: bool) -> date:
    try:
        return selectors.parse_month(value, allow_future=allow_future)
    except selectors.FutureMonth as exc:
        raise HttpError(404, _messages(exc)) from None
    except ValidationError as exc:
        raise HttpError(422, _messages(exc)) from None


# --- awards --------------------------------------------------------------------------------


class AwardIn(Schema):
    id: Annotated[StrictStr, NoNul] = Field(
        description="Your own id for this award (1–100 characters). Sending the same award "
        "again under the same id pays nothing more."
    )
    driver: Annotated[StrictStr, NoNul] = Field(
        description="Your id for the driver: linked, link not ended."
    )
    amount_fen: StrictInt = Field(
        description="A whole number of fen, from 1 to the site's limit for a single award."
    )
    currency: Annotated[StrictStr, NoNul] = Field(
        "CNY", description="Three capital letters (ISO 4217)."
    )
    reason: Annotated[StrictStr, NoNul] = Field(
        description="Why: shown to the driver (1–500 characters)."
    )


class AwardTransactionOut(Schema):
    idempotency_key: str
    posted_at: datetime


class AwardOut(Schema):
    id: str
    driver: str
    amount_fen: int
    currency: str
    reason: str
    awarded_at: datetime
    transaction: AwardTransactionOut


class Message(Schema):
    detail: str


class ConflictOut(Schema):
    detail: str
    award: AwardOut = Field(description="The award already given under this id.")


class UnderfundedOut(Schema):
    detail: str
    shortfall_fen: int = Field(description="Deposit at least this much, then send it again.")
    balance_fen: int = Field(description="What your funding account holds now.")


def _award_out(award: Award) -> dict:
    return {
        "id": award.external_id,
        "driver": awards.award_platform_driver_id(award),
        "amount_fen": award.amount_fen,
        "currency": award.currency,
        "reason": award.reason,
        "awarded_at": award.created_at,
        "transaction": {
            "idempotency_key": award.transaction.idempotency_key,
            "posted_at": award.transaction.posted_at,
        },
    }


@router.post(
    "/awards",
    auth=needs(scopes.AWARDS_WRITE),
    response={
        200: AwardOut,
        201: AwardOut,
        402: UnderfundedOut,
        **api_errors(400, 401),
        403: Message,
        409: ConflictOut,
        **api_errors(422),
    },
    summary="Give a linked driver a one-off award, paid from your funding",
    description="201: the award is paid (one ledger transaction from your funding account to "
    "the driver). 200: this id was awarded before with the same driver, amount, currency and "
    "reason; nothing more is paid and the first award is returned. 409: this id was used for "
    "a different award; nothing changes. 422: a field is wrong, or the driver is not linked "
    "to your platform (or ended the link). 402 Payment Required: your funding account does "
    "not hold enough; `shortfall_fen` says how much more to deposit; nothing is written.",
)
def award_create(request: HttpRequest, payload: AwardIn):
    try:
        award, created = awards.award_grant(
            platform=request.platform,
            platform_driver_id=payload.driver,
            external_id=payload.id,
            amount_fen=payload.amount_fen,
            reason=payload.reason,
            currency=payload.currency,
            actor_label=api_key_actor(request.api_key),
        )
    except awards.AwardConflict as exc:
        return Status(409, {"detail": str(exc), "award": _award_out(exc.award)})
    except awards.AwardUnderfunded as exc:
        return Status(
            402,
            {
                "detail": str(exc),
                "shortfall_fen": exc.shortfall_fen,
                "balance_fen": exc.balance_fen,
            },
        )
    except ValidationError as exc:
        return Status(422, {"detail": _messages(exc)})
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    return Status(201 if created else 200, _award_out(award))


class AwardsQuery(Schema):
    month: str = Field(description="A calendar month in China time, YYYY-MM.")


@router.get(
    "/awards",
    auth=needs(scopes.REWARDS_READ),
    response={200: list[AwardOut], **api_errors(401, 422)},
    summary="Your one-off awards given in a month (China time), newest first",
    description="`month` is YYYY-MM (422 otherwise). Each award with the ledger transaction "
    "that paid it.",
)
def award_list(request: HttpRequest, filters: Query[AwardsQuery]):
    first = _month(filters.month, allow_future=True)
    start, end = _bounds(first, month_end(first))
    return [
        _award_out(award)
        for award in Award.objects.filter(
            platform=request.platform, created_at__gte=start, created_at__lt=end
        )
        .select_related("transaction")
        .order_by("-created_at", "-pk")
    ]


# --- totals --------------------------------------------------------------------------------


class RewardsByKindOut(Schema):
    quality: int
    safety: int
    skill_allowance: int
    tier: int


class DriverTotalsOut(Schema):
    driver: str = Field(description="Your id for the driver.")
    linked_in_month: bool
    trips: int
    trip_earnings_fen: int
    rewards_fen: RewardsByKindOut = Field(description="Reward lines posted, per rule kind.")
    rewards_total_fen: int
    rewards_pending_fen: int = Field(
        description="Reward lines computed but not yet posted (the run waits for funding)."
    )
    awards: int
    awards_fen: int
    corrections: int
    corrections_fen: int = Field(description="Dispute corrections posted (negative: taken back).")
    total_paid_fen: int = Field(description="Rewards posted + awards + corrections.")


class GrandTotalsOut(Schema):
    drivers: int
    trips: int
    trip_earnings_fen: int
    rewards_fen: RewardsByKindOut
    rewards_total_fen: int
    rewards_pending_fen: int
    awards: int
    awards_fen: int
    corrections: int
    corrections_fen: int
    total_paid_fen: int


class RunOut(Schema):
    status: str = Field(description="not_run, running or finished.")
    started_at: datetime | None
    finished_at: datetime | None


class TotalsOut(Schema):
    month: str
    period_start: date
    period_end: date
    currency: str
    run: RunOut
    drivers: list[DriverTotalsOut]
    totals: GrandTotalsOut


@router.get(
    "/reward-totals/{month}",
    auth=needs(scopes.REWARDS_READ),
    response={200: TotalsOut, **api_errors(401), 404: Message, 422: Message},
    summary="What you paid your drivers in a month (China time), per driver and in total",
    description="`month` is YYYY-MM (422 otherwise); a month that has not started yet is 404. "
    "The current month's figures are so far. Drivers are named by your own ids.",
)
def reward_totals(request: HttpRequest, month: str):
    first = _month(month, allow_future=False)
    return selectors.platform_totals(platform=request.platform, period_start=first)
