"""Mobile numbers: drivers type them in many shapes; we store one, E.164 (+8613812345678)."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def normalize_mobile(raw: str, *, region: str | None = None) -> str:
    """Return ``raw`` as an E.164 mobile number, or raise ValidationError saying why not."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a mobile number."), code="required")
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid", params={"value": text}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid mobile number."), code="invalid", params={"value": text}
        )
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            _("“%(value)s” is not a mobile number; SMS codes need one."),
            code="not_mobile",
            params={"value": text},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str) -> str:
    """+8613812345678 -> +86 138****5678: enough to recognise, not enough to call."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "****"
    national = str(number.national_number)
    if len(national) <= 4:
        return f"+{number.country_code} ****"
    keep_head = 3 if len(national) > 7 else 1
    masked = national[:keep_head] + "*" * (len(national) - keep_head - 4) + national[-4:]
    return f"+{number.country_code} {masked}"
