"""What drivers do with courses: enrolments, lesson progress, quiz attempts, completions,
and the sponsored seats (voucher codes) that pay for some enrolments."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cms.models import Organization


class SeatPool(models.Model):
    """N seats on one course, bought by a platform or carmaker for drivers to redeem."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsor = models.ForeignKey(
        Organization,
        verbose_name=_("sponsor"),
        on_delete=models.PROTECT,
        related_name="seat_pools",
        limit_choices_to={"kind__in": [Organization.Kind.PLATFORM, Organization.Kind.CARMAKER]},
    )
    course = models.ForeignKey(
        "courses.CoursePage",
        verbose_name=_("course"),
        on_delete=models.PROTECT,
        related_name="seat_pools",
    )
    seats = models.PositiveIntegerField(_("seats"))
    payment = models.OneToOneField(
        "cms.CheckoutPayment",
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="seat_pool",
        help_text=_("The sponsor's Stripe payment; empty for seats an operator added."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sponsored seats")
        verbose_name_plural = _("sponsored seats")

    def __str__(self) -> str:
        return f"{self.sponsor} · {self.course} · {self.seats}"


class Voucher(models.Model):
    """One seat: a code a driver types once.

    When the sponsor's seat purchase is refunded in full, the codes nobody had redeemed are
    withdrawn (``voided_at``): they stay listed, but can never be redeemed. Codes already
    redeemed keep their driver's access."""

    pool = models.ForeignKey(SeatPool, on_delete=models.CASCADE, related_name="vouchers")
    code = models.CharField(_("code"), max_length=20, unique=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("redeemed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vouchers",
    )
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    voided_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        constraints = [
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | Q(redeemed_at__isnull=True),
                name="voucher_withdrawn_is_never_redeemed",
            )
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        # Redeeming (courses.services) loads the voucher with its row locked and saves it:
        # a code withdrawn meanwhile is refused here, with a message for the driver.
        if self.voided_at is not None and self.redeemed_at is not None:
            raise ValidationError(
                _("That code was withdrawn: its seats were refunded to the sponsor."),
                code="voucher_withdrawn",
            )
        super().save(*args, **kwargs)


class Enrollment(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
        ACTIVE = "active", _("Studying")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        FREE = "free", _("Free course")
        VOUCHER = "voucher", _("Sponsored seat")
        PURCHASE = "purchase", _("Purchase")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrollments"
    )
    course = models.ForeignKey(
        "courses.CoursePage", on_delete=models.PROTECT, related_name="enrollments"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    source = models.CharField(_("how"), max_length=10, choices=Source.choices)
    voucher = models.OneToOneField(
        Voucher, on_delete=models.PROTECT, null=True, blank=True, related_name="enrollment"
    )
    payment = models.ForeignKey(
        "cms.CheckoutPayment",
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="course_enrollments",
        help_text=_("The driver's latest Stripe payment for this course (source: purchase)."),
    )
    last_lesson = models.ForeignKey(
        "courses.LessonPage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_enrollment_per_course")
        ]
        indexes = [models.Index(fields=["course", "status"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.course}"


class LessonProgress(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="progress")
    lesson = models.ForeignKey(
        "courses.LessonPage", on_delete=models.PROTECT, related_name="progress"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    video_seconds_watched = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("lesson progress")
        verbose_name_plural = _("lesson progress")
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "lesson"], name="one_progress_per_lesson")
        ]

    def __str__(self) -> str:
        return f"{self.enrollment} · {self.lesson_id}"


class QuizAttempt(models.Model):
    """One graded submission of a lesson's questions. ``results`` keeps, per question,
    what was chosen, whether it was right and the points: what the driver is shown."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="attempts")
    lesson = models.ForeignKey(
        "courses.LessonPage", on_delete=models.PROTECT, related_name="attempts"
    )
    number = models.PositiveSmallIntegerField()
    answers = models.JSONField(default=dict)
    results = models.JSONField(default=list)
    score = models.PositiveIntegerField()
    max_score = models.PositiveIntegerField()
    percent = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("quiz attempt")
        verbose_name_plural = _("quiz attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "lesson", "number"], name="attempt_numbers_unique"
            )
        ]
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.enrollment} · {self.lesson_id} #{self.number}"


class Completion(models.Model):
    """A driver finished a course: all lessons done, every quiz passed. Recorded once;
    the credentials app turns it into a certificate."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.PROTECT, related_name="completion"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="completions"
    )
    course = models.ForeignKey(
        "courses.CoursePage", on_delete=models.PROTECT, related_name="completions"
    )
    score_percent = models.PositiveSmallIntegerField(_("score (%)"))
    completed_at = models.DateTimeField(_("completed at"))

    class Meta:
        verbose_name = _("completion")
        verbose_name_plural = _("completions")
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_completion_per_course"),
            models.CheckConstraint(
                condition=Q(score_percent__lte=100), name="completion_score_is_a_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.course}"
