"""Drivers dispute a reward line, or an upheld complaint that cost them a reward; operators
resolve the dispute. An upheld dispute with a correction posts one adjustment to the ledger
(key ``dispute:{public_id}``); every step is in Wagtail's audit log (actions ``DISPUTE_*``,
registered in `cms.audit`). The model is `rewards.models.Dispute`.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import audit
from cms.models import User
from rewards import rules
from rewards.ledger import (
    InsufficientFunds,
    driver_payable_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import Dispute, RewardLine, RuleVersion, ServiceEvent
from rewards.rules import CHINA, _bounds, month_end

MIN_REASON = 10
MAX_REASON = 2000
MAX_RESOLUTION = 2000

DISPUTE_OPEN = "rewards.dispute.open"
DISPUTE_UPHOLD = "rewards.dispute.uphold"
DISPUTE_REJECT = "rewards.dispute.reject"

# Rules whose pay an upheld complaint can cost a driver (recomputed for a complaint dispute).
COMPLAINT_KINDS = (RuleVersion.Kind.QUALITY, RuleVersion.Kind.TIER)


def _already_open() -> ValidationError:
    return ValidationError(
        _(
            "You already have an open dispute about this. An operator will answer it; you can "
            "see it under “My disputes”."
        ),
        code="already_open",
    )


def dispute_open(
    *,
    driver: User,
    reason: str,
    reward_line: RewardLine | None = None,
    complaint: ServiceEvent | None = None,
) -> Dispute:
    """The driver disputes one of their reward lines, or one of their upheld complaints.
    Refused (ValidationError, PermissionDenied for someone else's) when it is not theirs, the
    complaint is not upheld, the reason is not 10 to 2,000 characters, or a dispute of the same
    line or complaint is open already."""
    if (reward_line is None) == (complaint is None):
        raise ValidationError(_("A dispute is about one reward line or one complaint."))
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            _("Please explain in at least %(min)d characters what is wrong.") % {"min": MIN_REASON},
            code="reason_short",
        )
    if len(reason) > MAX_REASON:
        raise ValidationError(
            _("Please keep the reason to at most %(max)d characters.") % {"max": MAX_REASON},
            code="reason_long",
        )
    if reward_line is not None:
        reward_line = RewardLine.objects.select_related("run").get(pk=reward_line.pk)
        if reward_line.driver_id != driver.pk:
            raise PermissionDenied(_("You can dispute only your own rewards."))
        platform_id, period_start = reward_line.run.platform_id, reward_line.run.period_start
        taken = Dispute.objects.filter(reward_line=reward_line, status=Dispute.Status.OPEN)
    else:
        complaint = ServiceEvent.objects.get(pk=complaint.pk)
        if complaint.driver_id != driver.pk:
            raise PermissionDenied(_("You can dispute only complaints about you."))
        if complaint.kind != ServiceEvent.Kind.COMPLAINT:
            raise ValidationError(_("Only a complaint can be disputed this way."))
        if complaint.outcome != ServiceEvent.Outcome.UPHELD:
            raise ValidationError(
                _("Only an upheld complaint can be disputed: this one did not count against you.")
            )
        platform_id = complaint.platform_id
        period_start = timezone.localtime(complaint.occurred_at, CHINA).date().replace(day=1)
        taken = Dispute.objects.filter(complaint=complaint, status=Dispute.Status.OPEN)
    if taken.exists():
        raise _already_open()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                driver=driver,
                platform_id=platform_id,
                period_start=period_start,
                reward_line=reward_line,
                complaint=complaint,
                reason=reason,
            )
            audit(
                DISPUTE_OPEN,
                dispute,
                user=driver,
                data={
                    "reason": reason,
                    "reward_line": reward_line.pk if reward_line else None,
                    "complaint": complaint.pk if complaint else None,
                },
            )
    except IntegrityError:
        # A concurrent request opened the same dispute first (the partial unique constraints).
        if taken.exists():
            raise _already_open() from None
        raise
    return dispute


# --- the suggested correction --------------------------------------------------------------


def _recompute(dispute: Dispute, versions, start, end, without: ServiceEvent) -> int | None:
    """What ``versions`` pay the driver for the month with ``without`` left out of the upheld
    complaints, through the rules' own computation (the fatigue guard applied); None when this
    version of `rewards.rules` offers no way to recompute a kind."""
    driver_id = dispute.driver_id
    figures = (
        rules._service_figures(dispute.platform, start, end, [driver_id]).get(driver_id)
        or rules._empty_figures()
    )
    counted = (
        without.kind == ServiceEvent.Kind.COMPLAINT
        and without.outcome == ServiceEvent.Outcome.UPHELD
        and start <= without.occurred_at < end
    )
    if counted and figures["upheld_complaints"] > 0:
        figures = {
            **figures,
            "upheld_complaints": figures["upheld_complaints"] - 1,
            "ids": {
                **figures["ids"],
                "upheld_complaints": [
                    pk for pk in figures["ids"]["upheld_complaints"] if pk != without.pk
                ],
            },
        }
    by_kind = getattr(rules, "BY_SERVICE", None)
    fatigue = None
    if by_kind is not None:
        from rewards.fatigue import empty_fatigue, fatigue_for
        from rewards.policy import effective_policy

        policy = effective_policy(dispute.platform)
        fatigue = fatigue_for(
            platform=dispute.platform, driver_ids=[driver_id], start=start, end=end, policy=policy
        ).get(driver_id) or empty_fatigue(policy)
    total = 0
    for version in versions:
        if by_kind is not None and version.kind in by_kind:
            total += by_kind[version.kind](version, figures, fatigue)[0]
        elif by_kind is None and version.kind == RuleVersion.Kind.QUALITY:
            total += rules._quality(version, figures)[0]
        else:
            return None
    return total


def suggested_correction(dispute: Dispute) -> int | None:
    """For a complaint dispute: what the platform's quality (and tier) rules for that month
    would have paid with the complaint dismissed, minus what was paid under them (and minus
    earlier upheld corrections of the same complaint), in fen. None for a line dispute (the
    operator decides) or when it cannot be recomputed."""
    if dispute.complaint_id is None:
        return None
    complaint = dispute.complaint
    period_start = dispute.period_start
    start, end = _bounds(period_start, month_end(period_start))
    if (
        not rules._linked_drivers(dispute.platform, end)
        .filter(driver_id=dispute.driver_id)
        .exists()
    ):
        return 0  # not linked at the end of the month: no rule paid or would pay them
    versions = [
        version
        for version in rules.applicable_versions(dispute.platform, period_start)
        if version.kind in COMPLAINT_KINDS
    ]
    if not versions:
        return 0
    would = _recompute(dispute, versions, start, end, complaint)
    if would is None:
        return None
    paid = sum(
        RewardLine.objects.filter(
            driver_id=dispute.driver_id,
            run__platform=dispute.platform,
            run__period_start=period_start,
            rule_version__in=versions,
        ).values_list("amount_fen", flat=True)
    )
    corrected = sum(
        Dispute.objects.filter(
            complaint_id=dispute.complaint_id,
            status=Dispute.Status.UPHELD,
            correction_fen__isnull=False,
        )
        .exclude(pk=dispute.pk)
        .values_list("correction_fen", flat=True)
    )
    return would - paid - corrected


# --- resolving -----------------------------------------------------------------------------


def _currency(dispute: Dispute) -> str:
    if dispute.reward_line_id is not None:
        return dispute.reward_line.currency
    for version in rules.applicable_versions(dispute.platform, dispute.period_start):
        if version.kind in COMPLAINT_KINDS:
            return version.currency
    return "CNY"


def dispute_resolve(
    *,
    dispute: Dispute,
    operator: User,
    uphold: bool,
    resolution: str,
    correction_fen: int | None = None,
) -> Dispute:
    """An operator upholds or rejects an open dispute, saying why. Upheld with a non-zero
    correction, one adjustment is posted: positive, the platform's funding pays the driver;
    negative, it is taken back from what the driver is owed. A resolved dispute is never
    resolved again; when the account paying the correction has too little, nothing changes."""
    if not (operator is not None and operator.is_active and operator.is_superuser):
        raise PermissionDenied(_("Only an operator resolves disputes."))
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError(_("Say how the dispute is resolved: the driver reads it."))
    if len(resolution) > MAX_RESOLUTION:
        raise ValidationError(
            _("The resolution has at most %(max)d characters.") % {"max": MAX_RESOLUTION}
        )
    if correction_fen is not None and type(correction_fen) is not int:
        raise ValidationError(_("The correction is a whole number of fen."))
    if not uphold and correction_fen:
        raise ValidationError(_("A rejected dispute corrects nothing: leave the correction empty."))
    with transaction.atomic():
        current = (
            Dispute.objects.select_for_update(of=("self",))
            .select_related("platform", "driver", "reward_line")
            .get(pk=dispute.pk)
        )
        if current.status != Dispute.Status.OPEN:
            raise ValidationError(
                _("This dispute was already %(status)s on %(date)s; it is not resolved again.")
                % {
                    "status": current.get_status_display(),
                    "date": timezone.localtime(current.resolved_at).strftime("%Y-%m-%d %H:%M"),
                },
                code="resolved",
            )
        posted = None
        if uphold and correction_fen:
            currency = _currency(current)
            funding = platform_funding_account(current.platform, currency)
            payable = driver_payable_account(current.driver, currency)
            legs = [(funding, -correction_fen), (payable, correction_fen)]
            try:
                posted = post_transaction(
                    idempotency_key=f"dispute:{current.public_id}",
                    kind="adjustment",
                    legs=legs,
                    description=(
                        f"Dispute {current.public_id} upheld ({current.period_start:%Y-%m}): "
                        f"{resolution}"
                    )[:1000],
                    created_by=operator,
                    metadata={
                        "dispute": str(current.public_id),
                        "period": current.period_start.strftime("%Y-%m"),
                        "reward_line": current.reward_line_id,
                        "complaint": current.complaint_id,
                    },
                )
            except InsufficientFunds as exc:
                if exc.account.pk == funding.pk:
                    message = _(
                        "%(platform)s’s reward funding lacks %(shortfall)s fen for this "
                        "correction. Nothing was changed and the dispute stays open: ask the "
                        "platform to deposit, then resolve it again."
                    ) % {"platform": current.platform.display_name, "shortfall": exc.shortfall_fen}
                else:
                    message = _(
                        "The driver is owed less than the correction takes back (%(shortfall)s "
                        "fen short). Nothing was changed and the dispute stays open."
                    ) % {"shortfall": exc.shortfall_fen}
                raise ValidationError(message, code="insufficient_funds") from exc
        current.status = Dispute.Status.UPHELD if uphold else Dispute.Status.REJECTED
        current.resolved_at = timezone.now()
        current.resolved_by = operator
        current.resolution = resolution
        current.correction_fen = correction_fen if uphold else None
        current.correction_transaction = posted
        current.save(
            update_fields=[
                "status",
                "resolved_at",
                "resolved_by",
                "resolution",
                "correction_fen",
                "correction_transaction",
            ]
        )
        audit(
            DISPUTE_UPHOLD if uphold else DISPUTE_REJECT,
            current,
            user=operator,
            data={
                "decision": "uphold" if uphold else "reject",
                "resolution": resolution,
                "correction_fen": current.correction_fen,
                "transaction": posted.idempotency_key if posted else None,
            },
        )
    return current
