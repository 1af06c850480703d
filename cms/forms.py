"""Forms of the sign-up, sign-in and password-reset pages. They check shape only;
the services decide."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from cms.phone import normalize_mobile

_MOBILE_ATTRS = {"autocomplete": "tel", "inputmode": "tel", "placeholder": "138 0013 8000"}
_CODE_ATTRS = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "pattern": "[0-9]*",
    "maxlength": "6",
}


class StackedForm(forms.Form):
    """Labels sit above their fields, so they need no trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MobileField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mobile number"))
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("widget", forms.TextInput(attrs=_MOBILE_ATTRS))
        super().__init__(**kwargs)

    def clean(self, value):
        return normalize_mobile(super().clean(value))


class CodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Code from the SMS"))
        kwargs.setdefault("min_length", 4)
        kwargs.setdefault("max_length", 8)
        kwargs.setdefault("widget", forms.TextInput(attrs=_CODE_ATTRS))
        super().__init__(**kwargs)


class MobileForm(StackedForm):
    mobile = MobileField()


class NewPasswordMixin(StackedForm):
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords are not the same."))
        return cleaned


class SignupVerifyForm(NewPasswordMixin):
    code = CodeField()
    display_name = forms.CharField(
        label=_("Your name"),
        max_length=64,
        help_text=_("Shown on your certificates."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    field_order = ["code", "display_name", "password1", "password2"]


class PasswordResetVerifyForm(NewPasswordMixin):
    code = CodeField()
    field_order = ["code", "password1", "password2"]


class CodeLoginForm(StackedForm):
    code = CodeField()


class MobileAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, with the username field presented as a mobile number."""

    username = forms.CharField(
        label=_("Mobile number"), max_length=32, widget=forms.TextInput(attrs=_MOBILE_ATTRS)
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That mobile number and password do not match an account."),
    }
