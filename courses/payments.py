"""Buying a course (a driver) and buying sponsored seats (a platform or carmaker) through
Stripe Checkout. The Stripe plumbing is cms.payments; this module holds the course rules
and listens to its signals (connected in courses.apps).

A driver's purchase
    ``purchase_start`` puts the driver's enrolment in ``pending_payment`` (source
    ``purchase``) and starts a Checkout Session whose ``reference`` is the enrolment's
    ``public_id``. Access starts only when Stripe's webhook says the money arrived
    (``checkout_paid``): never on the buyer's return to the site. A session that expires
    cancels the pending enrolment, and the driver may buy again. While a session is still
    open, buying again sends the driver back to the same session (no second charge).

Refunds of a course
    A full refund ends access: the enrolment is cancelled and lessons and quizzes refuse the
    driver as if never enrolled. Progress, quiz attempts and a Completion stay recorded; a
    certificate already issued is not revoked by a refund (the school revokes credentials).
    A partial refund (a goodwill discount) keeps access. Only the payment the enrolment
    points at changes access: refunding a duplicate payment changes nothing.

Sponsored seats
    ``seat_purchase_start`` starts a session for N seats (``quantity``, ``metadata``:
    course and seats). When it is paid, the seats are created with ``seat_pool_create`` and
    linked to the payment (``SeatPool.payment`` is one-to-one, so a replayed signal creates
    nothing). A full refund withdraws every code nobody has redeemed yet
    (``Voucher.voided_at``: they can never be redeemed); drivers who already redeemed one
    keep their place. A partial refund changes no codes.

Receivers run inside the webhook's transaction, once per transition, and are idempotent
anyway; each one filters on ``payment.purpose``. The ledger side (sales, refunds) is the
rewards app's, listening to the same signals."""

import logging
import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cms.models import CheckoutPayment, Organization, PaymentAlert, User
from cms.payments import (
    CHECKOUT_LIFETIME,
    PaymentError,
    PaymentsNotConfigured,
    checkout_expire,
    checkout_expired,
    checkout_paid,
    checkout_refunded,
    checkout_start,
    payment_alert,
    payments_configured,
)
from courses.models import CoursePage, Enrollment, SeatPool, Voucher
from courses.models.pages import default_locale_page

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_SEATS_PER_PURCHASE",
    "PaymentError",
    "PaymentsNotConfigured",
    "payments_configured",
    "purchase_abandon",
    "purchase_start",
    "purchase_state",
    "seat_courses",
    "seat_purchase_start",
    "seat_purchases",
    "seat_sponsor",
]

COURSE = CheckoutPayment.Purpose.COURSE
SEATS = CheckoutPayment.Purpose.SEATS
MAX_SEATS_PER_PURCHASE = 500
# An open session is offered again for this long; after that it is closed at Stripe and a new
# one started (a session lives CHECKOUT_LIFETIME).
SESSION_REUSE = CHECKOUT_LIFETIME - timedelta(minutes=10)
HAS_PLACE = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)
# A purchase waiting with no payment yet is being started by another request; after this long
# that request is taken to have died, and a new start may begin.
START_GRACE = timedelta(minutes=2)


def _canonical(course: CoursePage) -> CoursePage:
    return default_locale_page(course).specific


# --- a driver buys a course ---------------------------------------------------------------


def purchase_start(
    *, user: User, course: CoursePage, success_url: str, cancel_url: str
) -> CheckoutPayment:
    """Start (or resume) the driver's purchase of a paid course: the enrolment waits for
    payment, and the returned payment's ``session_url`` is where the driver pays.

    Raises ValidationError (not open, free, prerequisites, already enrolled),
    PaymentsNotConfigured, or PaymentError (Stripe failed; nothing is left pending)."""
    from courses.services import missing_prerequisites

    course = _canonical(course)
    if not course.live:
        raise ValidationError(_("This course is not open for enrolment."), code="not_live")
    if course.is_free:
        raise ValidationError(_("This course is free: enrol without paying."), code="free")
    missing = missing_prerequisites(user=user, course=course)
    if missing:
        # Translators: separates course titles in a list ("、" in Chinese).
        names = _(", ").join(c.localized.title for c in missing)
        raise ValidationError(
            _("Complete these courses first: %(courses)s") % {"courses": names},
            code="prerequisites",
        )
    if not payments_configured():
        raise PaymentsNotConfigured()

    stale = None
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("payment")
            .filter(user=user, course=course)
            .first()
        )
        if enrollment is not None and enrollment.status in HAS_PLACE:
            raise ValidationError(
                _("You are already enrolled in this course."), code="already_enrolled"
            )
        if enrollment is not None and enrollment.status == Enrollment.Status.PENDING_PAYMENT:
            open_payment = enrollment.payment
            if (
                open_payment is not None
                and open_payment.status == CheckoutPayment.Status.PENDING
                and open_payment.session_url
                and open_payment.created_at > timezone.now() - SESSION_REUSE
            ):
                return open_payment  # the same session: paying twice is not possible
            if open_payment is None and enrollment.updated_at > timezone.now() - START_GRACE:
                # Another request (a double tap) is asking Stripe for a session right now.
                raise ValidationError(
                    _("Your purchase is already being started. Try again in a moment."),
                    code="purchase_busy",
                )
        if enrollment is None:
            try:
                with transaction.atomic():
                    enrollment = Enrollment.objects.create(
                        user=user,
                        course=course,
                        status=Enrollment.Status.PENDING_PAYMENT,
                        source=Enrollment.Source.PURCHASE,
                    )
            except IntegrityError:  # a double tap: the other request created it
                raise ValidationError(
                    _("Your purchase is already being started. Try again in a moment."),
                    code="purchase_busy",
                ) from None
        else:  # cancelled (expired, refunded) or pending with a session no longer offered
            if (
                enrollment.status == Enrollment.Status.PENDING_PAYMENT
                and enrollment.payment is not None
                and enrollment.payment.status == CheckoutPayment.Status.PENDING
            ):
                stale = enrollment.payment  # closed at Stripe below, before a new one starts
            enrollment.status = Enrollment.Status.PENDING_PAYMENT
            enrollment.source = Enrollment.Source.PURCHASE
            # Forgetting the payment makes a double tap wait (START_GRACE); should the old
            # session have been paid meanwhile, its webhook still opens this enrolment.
            enrollment.payment = None
            enrollment.save(update_fields=["status", "source", "payment", "updated_at"])

    try:
        stale_status = checkout_expire(stale) if stale is not None else "expired"
    except PaymentError:
        Enrollment.objects.filter(
            pk=enrollment.pk, status=Enrollment.Status.PENDING_PAYMENT
        ).update(status=Enrollment.Status.CANCELLED, updated_at=timezone.now())
        raise
    if stale_status != "expired":
        raise ValidationError(
            _(
                "Your earlier payment for this course went through or is under way. The "
                "course opens as soon as it is confirmed; you are not charged twice."
            ),
            code="purchase_paid",
        )

    # Stripe is called outside any transaction: no row stays locked while it answers.
    try:
        payment = checkout_start(
            purpose=COURSE,
            amount_fen=course.price_fen,
            currency=course.currency,
            description=course.title,
            success_url=success_url,
            cancel_url=cancel_url,
            reference=str(enrollment.public_id),
            user=user,
            metadata={"course": str(course.pk), "enrollment": str(enrollment.public_id)},
        )
    except Exception:
        # No session: the enrolment must not stay waiting for a payment that cannot come.
        Enrollment.objects.filter(
            pk=enrollment.pk, status=Enrollment.Status.PENDING_PAYMENT
        ).update(status=Enrollment.Status.CANCELLED, updated_at=timezone.now())
        raise
    Enrollment.objects.filter(pk=enrollment.pk).update(payment=payment)
    return payment


def purchase_abandon(*, user: User, course: CoursePage) -> bool:
    """The driver enrols another way (a seat code, or the course became free) while a
    purchase is waiting: the waiting enrolment is cancelled so the other way can take it.
    Should the old session be paid after all, the payment is logged as a duplicate for an
    operator to refund (see ``_course_paid``)."""
    # The enrolment forgets the payment: should that payment be paid and refunded later, it
    # is a duplicate, and its refund must not take away the place the other way gave.
    updated = Enrollment.objects.filter(
        user=user, course=_canonical(course), status=Enrollment.Status.PENDING_PAYMENT
    ).update(status=Enrollment.Status.CANCELLED, payment=None, updated_at=timezone.now())
    return updated > 0


def purchase_for_session(*, user: User, session_id: str) -> CheckoutPayment | None:
    """The buyer's course payment for a Checkout Session id (the return from Stripe)."""
    if not session_id:
        return None
    return CheckoutPayment.objects.filter(purpose=COURSE, user=user, session_id=session_id).first()


def purchase_state(payment: CheckoutPayment) -> dict:
    """What the buyer's purchase page says: ``waiting``, ``paid``, ``expired``, ``failed``
    or ``refunded``, with the enrolment and the course."""
    enrollment = (
        Enrollment.objects.filter(public_id=_uuid(payment.reference))
        .select_related("course")
        .first()
    )
    course = enrollment.course if enrollment else None
    has_place = enrollment is not None and enrollment.status in HAS_PLACE
    status = payment.status
    if status == CheckoutPayment.Status.PENDING:
        state = "waiting"
    elif status in (CheckoutPayment.Status.EXPIRED, CheckoutPayment.Status.FAILED):
        state = "failed" if status == CheckoutPayment.Status.FAILED else "expired"
    elif status == CheckoutPayment.Status.REFUNDED and not has_place:
        state = "refunded"
    elif has_place:
        state = "paid"
    else:
        # Paid, but the enrolment is not (yet) open: the webhook is still being processed.
        state = "waiting"
    return {"state": state, "enrollment": enrollment, "course": course, "payment": payment}


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _course_enrollment(payment: CheckoutPayment) -> Enrollment | None:
    public_id = _uuid(payment.reference)
    enrollment = (
        Enrollment.objects.select_for_update().filter(public_id=public_id).first()
        if public_id
        else None
    )
    if enrollment is None:
        logger.error("Course payment %s: no enrolment %s", payment.public_id, payment.reference)
    return enrollment


def _course_paid(payment: CheckoutPayment) -> None:
    enrollment = _course_enrollment(payment)
    if enrollment is None:
        return
    if enrollment.status in HAS_PLACE:
        if enrollment.payment_id != payment.pk:
            payment_alert(
                PaymentAlert.Kind.DUPLICATE_PAYMENT,
                str(payment.public_id),
                f"Course payment {payment.public_id} ({payment.description}, charge "
                f"{payment.charge_id or '-'}) arrived for enrolment {enrollment.public_id}, "
                f"which already has a place ({enrollment.source}): refund it in Stripe.",
                amount_fen=payment.amount_fen,
                currency=payment.currency,
            )
        return
    # Waiting (or cancelled meanwhile, e.g. a failed second attempt): the money arrived,
    # so the driver gets the place this payment bought.
    has_completion = hasattr(enrollment, "completion")
    enrollment.status = Enrollment.Status.COMPLETED if has_completion else Enrollment.Status.ACTIVE
    enrollment.source = Enrollment.Source.PURCHASE
    enrollment.payment = payment
    enrollment.save(update_fields=["status", "source", "payment", "updated_at"])


def _course_expired(payment: CheckoutPayment) -> None:
    enrollment = _course_enrollment(payment)
    if (
        enrollment is not None
        and enrollment.payment_id == payment.pk
        and enrollment.status == Enrollment.Status.PENDING_PAYMENT
    ):
        enrollment.status = Enrollment.Status.CANCELLED
        enrollment.save(update_fields=["status", "updated_at"])


def _course_refunded(payment: CheckoutPayment, full: bool) -> None:
    enrollment = _course_enrollment(payment)
    if (
        enrollment is None
        or enrollment.payment_id != payment.pk
        or enrollment.source != Enrollment.Source.PURCHASE
    ):
        return  # a duplicate payment refunded: the driver's place is paid by another
    if not full:
        return  # a partial refund (a discount, a goodwill gesture) keeps the place
    if enrollment.status == Enrollment.Status.CANCELLED:
        return
    # The Completion, progress and any certificate stay: refunds do not revoke credentials.
    enrollment.status = Enrollment.Status.CANCELLED
    enrollment.save(update_fields=["status", "updated_at"])


# --- a sponsor buys seats -----------------------------------------------------------------


def seat_sponsor(user) -> Organization | None:
    """The active platform or carmaker a user buys seats for; None for anyone else."""
    if not (user.is_authenticated and user.is_active and user.organization_id):
        return None
    organization = user.organization
    if organization.is_active and organization.kind in (
        Organization.Kind.PLATFORM,
        Organization.Kind.CARMAKER,
    ):
        return organization
    return None


def seat_courses():
    """Courses a sponsor can buy seats on: published, paid, in the default language. (A
    free course needs no seats: drivers enrol at once.)"""
    from wagtail.models import Locale

    return (
        CoursePage.objects.live()
        .public()
        .filter(locale=Locale.get_default(), price_fen__gt=0)
        .order_by("title")
    )


def seat_purchase_start(
    *,
    user: User,
    sponsor: Organization,
    course: CoursePage,
    seats: int,
    success_url: str,
    cancel_url: str,
) -> CheckoutPayment:
    """Start the sponsor's payment for ``seats`` seats on ``course``; the codes are made
    when Stripe confirms the payment."""
    course = _canonical(course)
    if seat_sponsor(user) != sponsor:
        raise ValidationError(
            _("Only a platform's or a carmaker's own staff can buy its seats."), code="sponsor"
        )
    if not course.live:
        raise ValidationError(_("This course is not open for enrolment."), code="not_live")
    if course.is_free:
        raise ValidationError(
            _("This course is free: drivers enrol without a code, so seats need no payment."),
            code="free",
        )
    if not 1 <= seats <= MAX_SEATS_PER_PURCHASE:
        raise ValidationError(
            _("Seats must be between 1 and %(max)d.") % {"max": MAX_SEATS_PER_PURCHASE},
            code="seats",
        )
    if not payments_configured():
        raise PaymentsNotConfigured()
    return checkout_start(
        purpose=SEATS,
        amount_fen=course.price_fen * seats,
        currency=course.currency,
        quantity=seats,
        description=ngettext(
            "%(seats)d sponsored seat: %(course)s", "%(seats)d sponsored seats: %(course)s", seats
        )
        % {"seats": seats, "course": course.title},
        success_url=success_url,
        cancel_url=cancel_url,
        reference=str(uuid.uuid4()),
        user=user,
        organization=sponsor,
        metadata={"course": str(course.pk), "seats": str(seats)},
    )


def seat_purchases(sponsor: Organization | None):
    """A sponsor's seat payments, newest first (every sponsor's for None)."""
    payments = CheckoutPayment.objects.filter(purpose=SEATS).select_related(
        "organization", "seat_pool__course"
    )
    if sponsor is not None:
        payments = payments.filter(organization=sponsor)
    return payments.order_by("-created_at", "-pk")


def seat_purchase_course(payment: CheckoutPayment) -> CoursePage | None:
    try:
        course_id = int(payment.metadata.get("course"))
    except (TypeError, ValueError):
        return None
    return CoursePage.objects.filter(pk=course_id).first()


def _seats_paid(payment: CheckoutPayment) -> None:
    from courses.services import seat_pool_create

    if SeatPool.objects.filter(payment=payment).exists():
        return  # a replay: the seats exist
    course = seat_purchase_course(payment)
    sponsor = payment.organization
    if course is None or sponsor is None:
        logger.error("Seat payment %s: no course or sponsor; no seats made", payment.public_id)
        return
    pool = seat_pool_create(sponsor=sponsor, course=course, seats=payment.quantity)
    pool.payment = payment
    pool.save(update_fields=["payment"])  # one-to-one: a concurrent replay fails here


def _seats_refunded(payment: CheckoutPayment, full: bool) -> None:
    if not full:
        return  # a partial refund keeps every code; withdraw seats by a full refund only
    pool = SeatPool.objects.filter(payment=payment).first()
    if pool is None:
        return
    Voucher.objects.filter(pool=pool, redeemed_at__isnull=True, voided_at__isnull=True).update(
        voided_at=timezone.now()
    )


# --- signal receivers (connected in courses.apps) -----------------------------------------


def on_checkout_paid(sender, payment: CheckoutPayment, **kwargs) -> None:
    if payment.purpose == COURSE:
        _course_paid(payment)
    elif payment.purpose == SEATS:
        _seats_paid(payment)


def on_checkout_expired(sender, payment: CheckoutPayment, **kwargs) -> None:
    if payment.purpose == COURSE:
        _course_expired(payment)


def on_checkout_refunded(sender, payment: CheckoutPayment, full: bool = False, **kwargs) -> None:
    if payment.purpose == COURSE:
        _course_refunded(payment, full)
    elif payment.purpose == SEATS:
        _seats_refunded(payment, full)


def connect_receivers() -> None:
    checkout_paid.connect(on_checkout_paid, dispatch_uid="courses.payments.paid")
    checkout_expired.connect(on_checkout_expired, dispatch_uid="courses.payments.expired")
    checkout_refunded.connect(on_checkout_refunded, dispatch_uid="courses.payments.refunded")
