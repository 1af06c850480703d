"""Sponsored seats bought in the Wagtail admin by a platform's or a carmaker's staff.

Staff of an active platform or carmaker (their user's organisation) choose a paid course
and a number of seats, pay on Stripe Checkout, and once Stripe confirms the payment
(courses.payments) get the voucher codes to hand out: listed here with whether each was
redeemed, and as CSV. Each sponsor sees only its own purchases; operators (superusers) see
every sponsor's, read-only. Anyone else gets no menu item and is turned away.

Operators still create seats without payment in "Sponsored seats" (courses/viewsets.py).

The hooks registered here take effect once this module is imported; courses/wagtail_hooks.py
imports it."""

import csv

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView, View
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton

from cms.models import CheckoutPayment
from courses import payments
from courses.models import CoursePage


def can_view_seat_purchases(user) -> bool:
    return payments.seat_sponsor(user) is not None or bool(
        user.is_authenticated and user.is_active and user.is_superuser
    )


def _price(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


class CourseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.title} · {_price(obj.price_fen)}"


class SeatPurchaseForm(forms.Form):
    course = CourseChoiceField(
        queryset=CoursePage.objects.none(),
        label=gettext_lazy("Course"),
        help_text=gettext_lazy(
            "Paid courses only: drivers enrol in a free course without a code, so its seats "
            "need no payment."
        ),
    )
    seats = forms.IntegerField(
        label=gettext_lazy("Seats"),
        min_value=1,
        max_value=payments.MAX_SEATS_PER_PURCHASE,
        initial=10,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = payments.seat_courses()
        self.fields["seats"].help_text = _(
            "From 1 to %(max)d. Each seat is one code a driver uses once."
        ) % {"max": payments.MAX_SEATS_PER_PURCHASE}


class SeatAccessMixin:
    """Sponsor staff and operators; anyone else is sent back to the admin home."""

    sponsor_only = False

    def dispatch(self, request, *args, **kwargs):
        self.sponsor = payments.seat_sponsor(request.user)
        if self.sponsor_only:
            allowed = self.sponsor is not None
        else:
            allowed = can_view_seat_purchases(request.user)
        if not allowed:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def purchases(self):
        # A sponsor sees its own; an operator (no sponsor organisation) sees all.
        return payments.seat_purchases(self.sponsor)

    def get_purchase(self) -> CheckoutPayment:
        """404 for another sponsor's purchase: as if it did not exist."""
        return get_object_or_404(self.purchases(), public_id=self.kwargs["public_id"])


def _with_courses(purchases: list[CheckoutPayment]) -> list[dict]:
    ids = set()
    for payment in purchases:
        try:
            ids.add(int(payment.metadata.get("course")))
        except (TypeError, ValueError):
            pass
    titles = dict(CoursePage.objects.filter(pk__in=ids).values_list("pk", "title"))
    rows = []
    for payment in purchases:
        try:
            title = titles.get(int(payment.metadata.get("course")), "—")
        except (TypeError, ValueError):
            title = "—"
        rows.append(
            {"payment": payment, "course_title": title, "price": _price(payment.amount_fen)}
        )
    return rows


class SeatPurchaseIndexView(SeatAccessMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "courses/admin/seats.html"
    page_title = gettext_lazy("Buy sponsored seats")
    header_icon = "tag"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_header_buttons(self):
        if self.sponsor is None:
            return []
        return [HeaderButton(_("Buy seats"), url=reverse("seat_purchases:buy"), icon_name="plus")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        purchases = list(self.purchases()[:200])
        context.update(
            sponsor=self.sponsor,
            rows=_with_courses(purchases),
            payments_ready=payments.payments_configured(),
        )
        return context


class SeatPurchaseBuyView(SeatAccessMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "courses/admin/seats_buy.html"
    page_title = gettext_lazy("Buy sponsored seats")
    header_icon = "tag"
    form_class = SeatPurchaseForm
    sponsor_only = True

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("seat_purchases:index"), "label": self.page_title},
            {"url": "", "label": _("Buy seats")},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(sponsor=self.sponsor, payments_ready=payments.payments_configured())
        return context

    def form_valid(self, form):
        return_url = self.request.build_absolute_uri(reverse("seat_purchases:return"))
        try:
            payment = payments.seat_purchase_start(
                user=self.request.user,
                sponsor=self.sponsor,
                course=form.cleaned_data["course"],
                seats=form.cleaned_data["seats"],
                success_url=f"{return_url}?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=self.request.build_absolute_uri(reverse("seat_purchases:index")),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
            return self.form_invalid(form)
        except (payments.PaymentsNotConfigured, payments.PaymentError) as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        response = HttpResponseRedirect(payment.session_url)
        response.status_code = 303
        return response


class SeatPurchaseReturnView(SeatAccessMixin, View):
    """Stripe sends the sponsor back here; on to the purchase's page."""

    sponsor_only = True

    def get(self, request):
        session_id = request.GET.get("session_id", "")
        payment = self.purchases().filter(session_id=session_id).first() if session_id else None
        if payment is None:
            raise Http404
        messages.info(
            request,
            _("Thank you. The codes appear here as soon as the payment is confirmed."),
        )
        return redirect("seat_purchases:detail", public_id=payment.public_id)


class SeatPurchaseDetailView(SeatAccessMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "courses/admin/seats_detail.html"
    header_icon = "tag"

    def get(self, request, *args, **kwargs):
        self.payment = self.get_purchase()
        return super().get(request, *args, **kwargs)

    def get_page_title(self):
        return _("Seat purchase of %(date)s") % {
            "date": timezone.localtime(self.payment.created_at).strftime("%Y-%m-%d")
        }

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("seat_purchases:index"), "label": _("Buy sponsored seats")},
            {"url": "", "label": self.get_page_title()},
        ]

    def pool(self):
        return getattr(self.payment, "seat_pool", None)

    def get_header_buttons(self):
        if self.pool() is None:
            return []
        url = reverse("seat_purchases:codes", args=[self.payment.public_id])
        return [HeaderButton(_("Download codes (CSV)"), url=url, icon_name="download")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pool = self.pool()
        vouchers = list(pool.vouchers.order_by("code")) if pool else []
        [row] = _with_courses([self.payment])
        context.update(
            row=row,
            payment=self.payment,
            pool=pool,
            vouchers=vouchers,
            redeemed=sum(1 for v in vouchers if v.redeemed_at),
            withdrawn=sum(1 for v in vouchers if v.voided_at),
        )
        return context


class SeatPurchaseCodesView(SeatAccessMixin, View):
    def get(self, request, public_id):
        payment = self.get_purchase()
        pool = getattr(payment, "seat_pool", None)
        if pool is None:
            raise Http404
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="seats-{payment.public_id}.csv"'
        response.write("\ufeff")  # Excel opens UTF-8 with a BOM
        writer = csv.writer(response)
        writer.writerow([_("code"), _("state"), _("redeemed at")])
        for voucher in pool.vouchers.order_by("code"):
            if voucher.redeemed_at:
                state = _("redeemed")
            elif voucher.voided_at:
                state = _("withdrawn")
            else:
                state = _("not redeemed")
            redeemed = voucher.redeemed_at.isoformat() if voucher.redeemed_at else ""
            writer.writerow([voucher.code, state, redeemed])
        return response


urlpatterns = [
    path("", SeatPurchaseIndexView.as_view(), name="index"),
    path("buy/", SeatPurchaseBuyView.as_view(), name="buy"),
    path("return/", SeatPurchaseReturnView.as_view(), name="return"),
    path("<uuid:public_id>/", SeatPurchaseDetailView.as_view(), name="detail"),
    path("<uuid:public_id>/codes.csv", SeatPurchaseCodesView.as_view(), name="codes"),
]


class SeatPurchaseMenuItem(MenuItem):
    def is_shown(self, request):
        return payments.seat_sponsor(request.user) is not None


@hooks.register("register_admin_urls")
def register_seat_purchase_urls():
    return [path("seat-purchases/", include((urlpatterns, "seat_purchases")))]


@hooks.register("register_admin_menu_item")
def register_seat_purchase_menu_item():
    return SeatPurchaseMenuItem(
        gettext_lazy("Buy sponsored seats"),
        reverse("seat_purchases:index"),
        name="seat-purchases",
        icon_name="tag",
        order=265,
    )
