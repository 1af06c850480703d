"""Wagtail's user forms, extended with what Roadwise knows about a person."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.users.forms import UserCreationForm, UserEditForm

from cms.models import Organization
from cms.phone import normalize_mobile

ROADWISE_USER_FIELDS = ["display_name", "organization", "timezone"]


class _RoadwiseUserFields(forms.ModelForm):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.filter(is_active=True),
        required=False,
        label=_("Organisation"),
        help_text=_("Authors belong to a school or carmaker, platform staff to a platform."),
    )

    def clean_mobile(self):
        return normalize_mobile(self.cleaned_data.get("mobile", ""))


class RoadwiseUserCreationForm(_RoadwiseUserFields, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = [*UserCreationForm.Meta.fields, *ROADWISE_USER_FIELDS]


class RoadwiseUserEditForm(_RoadwiseUserFields, UserEditForm):
    class Meta(UserEditForm.Meta):
        fields = [*UserEditForm.Meta.fields, *ROADWISE_USER_FIELDS]
