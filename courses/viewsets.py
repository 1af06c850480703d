"""Admin views of learning records that operators manage."""

import csv

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CreateView
from wagtail.admin.viewsets.model import ModelViewSet

from courses import services
from courses.models import CoursePage, SeatPool


class SeatPoolForm(forms.ModelForm):
    course = forms.ModelChoiceField(queryset=CoursePage.objects.none(), label=_("Course"))

    class Meta:
        model = SeatPool
        fields = ["sponsor", "course", "seats"]

    def __init__(self, *args, **kwargs):
        kwargs.pop("for_user", None)
        super().__init__(*args, **kwargs)
        from wagtail.models import Locale

        self.fields["course"].queryset = CoursePage.objects.filter(
            locale=Locale.get_default()
        ).order_by("title")


class SeatPoolCreateView(CreateView):
    def save_instance(self):
        data = self.form.cleaned_data
        return services.seat_pool_create(
            sponsor=data["sponsor"], course=data["course"], seats=data["seats"]
        )

    def form_valid(self, form):
        from django.core.exceptions import ValidationError

        try:
            return super().form_valid(form)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
            return self.form_invalid(form)


class CodesColumn(Column):
    """A link to download the pool's voucher codes."""

    def get_value(self, instance):
        url = reverse("seat-pools:codes", args=[instance.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download codes (CSV)"))


class SeatPoolEditForm(forms.ModelForm):
    """After the seats exist, only the sponsor's record can be corrected."""

    class Meta:
        model = SeatPool
        fields = ["sponsor"]

    def __init__(self, *args, **kwargs):
        kwargs.pop("for_user", None)
        super().__init__(*args, **kwargs)


class SeatPoolViewSet(ModelViewSet):
    model = SeatPool
    add_view_class = SeatPoolCreateView
    icon = "tag"
    menu_label = _("Sponsored seats")
    add_to_admin_menu = True
    menu_order = 260
    list_display = [
        "course",
        "sponsor",
        "seats",
        Column("redeemed_count", label=_("Redeemed")),
        "created_at",
        CodesColumn("codes", label=_("Codes")),
    ]
    list_filter = ["sponsor"]

    def get_form_class(self, for_update=False):
        return SeatPoolEditForm if for_update else SeatPoolForm

    def get_queryset(self, request):
        from django.db.models import Count, Q

        return SeatPool.objects.select_related("sponsor", "course").annotate(
            redeemed_count=Count("vouchers", filter=Q(vouchers__redeemed_at__isnull=False))
        )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("<int:pk>/codes.csv", self.codes_csv, name="codes"),
        ]

    def codes_csv(self, request, pk):
        if not self.permission_policy.user_has_permission(request.user, "view"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        pool = get_object_or_404(SeatPool, pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="seats-{pool.public_id}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow([_("code"), _("redeemed at")])
        for code, redeemed_at in pool.vouchers.values_list("code", "redeemed_at"):
            writer.writerow([code, redeemed_at.isoformat() if redeemed_at else ""])
        return response


seat_pool_viewset = SeatPoolViewSet("seat-pools")
