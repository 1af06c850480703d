from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from cms import webhooks
from cms.api import api_v1
from cms.views import accounts, health, privacy
from courses.views import service_worker
from courses.wagtail_hooks import page_types_usage_report, page_types_usage_report_results

account_patterns = (
    [
        path("signup/", accounts.signup, name="signup"),
        path("signup/verify/", accounts.signup_verify, name="signup_verify"),
        path("login/", accounts.login_view, name="login"),
        path("login/code/", accounts.login_code, name="login_code"),
        path("login/code/verify/", accounts.login_code_verify, name="login_code_verify"),
        path("logout/", accounts.logout_view, name="logout"),
        path("password-reset/", accounts.password_reset, name="password_reset"),
        path(
            "password-reset/verify/",
            accounts.password_reset_verify,
            name="password_reset_verify",
        ),
        path("data/", privacy.your_data, name="privacy"),
        path("data/export/", privacy.export, name="privacy_export"),
        path("data/delete/", privacy.delete_account, name="privacy_delete"),
    ],
    "accounts",
)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # The offline-reading service worker: at the root, so that it serves / and /en/ alike.
    path("sw.js", service_worker, name="service_worker"),
    # Wagtail's "Page types usage" report names the last edited page of each type in every
    # school's section: operators only (courses/wagtail_hooks.py). Before the admin's routes.
    path(
        "admin/reports/page-types-usage/",
        page_types_usage_report,
        name="page_types_usage_report",
    ),
    path(
        "admin/reports/page-types-usage/results/",
        page_types_usage_report_results,
        name="page_types_usage_report_results",
    ),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/v1/", api_v1.urls),
    # Stripe posts events here; outside the language prefixes (see cms/webhooks.py).
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
    path("", include("credentials.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# The site in Chinese at /, in English at /en/.
urlpatterns += i18n_patterns(
    path("accounts/", include(account_patterns)),
    path("learn/", include("courses.urls")),
    path("", include("credentials.site_urls")),
    path("rewards/", include("rewards.urls")),
    path("", include(wagtail_urls)),
    prefix_default_language=False,
)
