"""Sign-up, sign-in (password or SMS code), sign-out and password reset, phone-first.

Each flow has two steps: the mobile number (a code is sent), then the code. The number
travels between the steps in the session, never in the URL."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from cms import services, sign_in
from cms.forms import (
    CodeLoginForm,
    MobileAuthenticationForm,
    MobileForm,
    PasswordResetVerifyForm,
    SignupVerifyForm,
)
from cms.models import OneTimeCode
from cms.phone import mask_mobile
from cms.throttling import client_ip

SESSION_KEY = "roadwise_pending_mobile"


def _pending_mobile(request, purpose: str) -> str | None:
    pending = request.session.get(SESSION_KEY) or {}
    return pending.get("mobile") if pending.get("purpose") == purpose else None


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/" if get_language() == "zh-hans" else f"/{get_language()}/"


_CODE_ERRORS = {"wrong_code", "expired", "too_many_attempts"}
_PASSWORD_ERRORS = {
    "password_too_short",
    "password_too_common",
    "password_entirely_numeric",
    "password_too_similar",
}


def _add_errors(form, error: ValidationError, field: str | None = None) -> None:
    """Put a service's errors next to the field they are about."""
    for item in error.error_list:
        target = field
        if item.code in _CODE_ERRORS and "code" in form.fields:
            target = "code"
        elif item.code in _PASSWORD_ERRORS and "password1" in form.fields:
            target = "password1"
        form.add_error(target, item.messages[0])


def _request_code_step(request, *, purpose: str, template: str, next_url: str, title: str):
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        try:
            sign_in.code_request_check(ip=client_ip(request))
            services.otp_request(mobile=mobile, purpose=purpose, language=get_language())
        except ValidationError as exc:
            _add_errors(form, exc, "mobile")
        else:
            request.session[SESSION_KEY] = {"mobile": mobile, "purpose": purpose}
            messages.info(
                request,
                _("If %(mobile)s can receive it, a code is on its way by SMS.")
                % {"mobile": mask_mobile(mobile)},
            )
            return redirect(next_url)
    return render(request, template, {"form": form, "title": title})


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    return _request_code_step(
        request,
        purpose=OneTimeCode.Purpose.SIGNUP,
        template="registration/mobile_step.html",
        next_url=reverse("accounts:signup_verify"),
        title=_("Create your Roadwise account"),
    )


def _resend(request, purpose: str, mobile: str) -> None:
    try:
        sign_in.code_request_check(ip=client_ip(request))
        services.otp_request(mobile=mobile, purpose=purpose, language=get_language())
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.info(request, _("A new code is on its way."))


@sensitive_post_parameters("password1", "password2", "code")
@require_http_methods(["GET", "POST"])
def signup_verify(request):
    purpose = OneTimeCode.Purpose.SIGNUP
    mobile = _pending_mobile(request, purpose)
    if mobile is None:
        return redirect("accounts:signup")
    if request.method == "POST" and "resend" in request.POST:
        _resend(request, purpose, mobile)
        return redirect("accounts:signup_verify")
    form = SignupVerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_in.code_attempt_check(ip=client_ip(request))
            user = services.driver_signup(
                mobile=mobile,
                code=form.cleaned_data["code"],
                password=form.cleaned_data["password1"],
                display_name=form.cleaned_data["display_name"],
            )
        except ValidationError as exc:
            sign_in.code_attempt_failed(ip=client_ip(request), error=exc)
            _add_errors(form, exc)
        else:
            request.session.pop(SESSION_KEY, None)
            login(request, user)
            messages.success(request, _("Welcome to Roadwise, %(name)s!") % {"name": user})
            return redirect(_safe_next(request))
    return render(
        request,
        "registration/code_step.html",
        {"form": form, "masked_mobile": mask_mobile(mobile), "title": _("Confirm your number")},
    )


@sensitive_post_parameters("password")
def login_view(request):
    return auth_views.LoginView.as_view(
        template_name="registration/login.html",
        authentication_form=MobileAuthenticationForm,
        redirect_authenticated_user=True,
    )(request)


@require_http_methods(["GET", "POST"])
def login_code(request):
    return _request_code_step(
        request,
        purpose=OneTimeCode.Purpose.LOGIN,
        template="registration/mobile_step.html",
        next_url=reverse("accounts:login_code_verify"),
        title=_("Sign in with an SMS code"),
    )


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def login_code_verify(request):
    purpose = OneTimeCode.Purpose.LOGIN
    mobile = _pending_mobile(request, purpose)
    if mobile is None:
        return redirect("accounts:login_code")
    if request.method == "POST" and "resend" in request.POST:
        _resend(request, purpose, mobile)
        return redirect("accounts:login_code_verify")
    form = CodeLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_in.code_attempt_check(ip=client_ip(request))
            user = services.login_code_check(mobile=mobile, code=form.cleaned_data["code"])
        except ValidationError as exc:
            sign_in.code_attempt_failed(ip=client_ip(request), error=exc)
            _add_errors(form, exc, "code")
        else:
            request.session.pop(SESSION_KEY, None)
            login(request, user, backend="cms.auth.MobileModelBackend")
            return redirect(_safe_next(request))
    return render(
        request,
        "registration/code_step.html",
        {"form": form, "masked_mobile": mask_mobile(mobile), "title": _("Enter your code")},
    )


logout_view = auth_views.LogoutView.as_view()


@require_http_methods(["GET", "POST"])
def password_reset(request):
    return _request_code_step(
        request,
        purpose=OneTimeCode.Purpose.PASSWORD_RESET,
        template="registration/mobile_step.html",
        next_url=reverse("accounts:password_reset_verify"),
        title=_("Reset your password"),
    )


@sensitive_post_parameters("password1", "password2", "code")
@require_http_methods(["GET", "POST"])
def password_reset_verify(request):
    purpose = OneTimeCode.Purpose.PASSWORD_RESET
    mobile = _pending_mobile(request, purpose)
    if mobile is None:
        return redirect("accounts:password_reset")
    if request.method == "POST" and "resend" in request.POST:
        _resend(request, purpose, mobile)
        return redirect("accounts:password_reset_verify")
    form = PasswordResetVerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_in.code_attempt_check(ip=client_ip(request))
            services.password_reset_with_code(
                mobile=mobile,
                code=form.cleaned_data["code"],
                new_password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            sign_in.code_attempt_failed(ip=client_ip(request), error=exc)
            _add_errors(form, exc)
        else:
            request.session.pop(SESSION_KEY, None)
            messages.success(request, _("Your password is changed. Sign in with it now."))
            return redirect("accounts:login")
    return render(
        request,
        "registration/code_step.html",
        {"form": form, "masked_mobile": mask_mobile(mobile), "title": _("Choose a new password")},
    )
