"""Authentication by mobile number, however the person typed it; both sign-in forms (the
site's and Wagtail's /admin/login/) come through here, so failed attempts are counted here
(cms/sign_in.py): a locked number or address gets SignInThrottled, which the forms show."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from cms import sign_in
from cms.phone import normalize_mobile
from cms.throttling import client_ip


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
        ip = client_ip(request) if request is not None else None
        sign_in.password_attempt_begin(mobile=mobile, ip=ip)
        user = super().authenticate(request, username=mobile, password=password, **kwargs)
        if user is None:
            sign_in.password_attempt_failed(ip=ip)
        else:
            sign_in.password_attempt_succeeded(mobile=mobile)
        return user
