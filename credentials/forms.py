"""Forms of the certificate pages: checking a certificate, and the admin's status changes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from credentials.services import REASON_MAX_LENGTH

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class VerifyForm(forms.Form):
    """Paste a certificate (JSON, id or QR text) or upload a badge PNG or a .json file."""

    text = forms.CharField(
        label=_("Paste a certificate"),
        help_text=_(
            "The certificate’s JSON, its id, or the text of its QR code (it starts with RW1:)."
        ),
        required=False,
        max_length=MAX_UPLOAD_BYTES,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "autocapitalize": "off"}),
    )
    file = forms.FileField(
        label=_("Or upload a file"),
        help_text=_("A badge image (PNG) or a certificate file (.json), at most 2 MB."),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": ".png,.json,image/png,application/json,application/ld+json"}
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is too large: at most 2 MB."))
        return upload

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("text") and not data.get("file"):
            raise forms.ValidationError(
                _("Paste a certificate or choose a file, then press “Check”.")
            )
        return data


class StatusChangeForm(forms.Form):
    """An operator's or issuer's revocation, suspension or reinstatement, with its reason."""

    ACTIONS = (
        ("revoke", _("Revoke for good")),
        ("suspend", _("Suspend")),
        ("reinstate", _("Lift the suspension")),
    )

    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("Required. The driver and anyone checking the certificate will see it."),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, allowed=None, **kwargs):
        super().__init__(*args, **kwargs)
        if allowed is not None:
            self.fields["action"].choices = [c for c in self.ACTIONS if c[0] in allowed]


class CredentialFilterForm(forms.Form):
    q = forms.CharField(label=_("Search by number or name"), required=False, max_length=150)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Any status")),
            ("active", _("active")),
            ("suspended", _("suspended")),
            ("revoked", _("revoked")),
        ],
    )
