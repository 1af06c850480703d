"""Authentication by mobile number, however the person typed it."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from cms.phone import normalize_mobile


class MobileModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        mobile = kwargs.pop("mobile", None) or username
        if mobile is None or password is None:
            return None
        try:
            mobile = normalize_mobile(mobile)
        except ValidationError:
            # Still run the hasher once, so a bad number takes as long as a wrong password.
            mobile = "+0"
        return super().authenticate(request, username=mobile, password=password, **kwargs)
