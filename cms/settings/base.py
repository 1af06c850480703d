"""Settings shared by every environment. Anything that differs per machine comes from
the environment (see README.md, "Configuration"), with defaults that run on a laptop."""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("ROADWISE_VAR_DIR", str(BASE_DIR / "var")))

# A development-only key; production.py refuses to start with it.
INSECURE_DEFAULT_SECRET_KEY = "roadwise-insecure-development-key-change-me"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "cms",
    "courses",
    "credentials",
    "rewards",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "cms.users_app.RoadwiseUsersAppConfig",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail_localize",
    "wagtail_localize.locales",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    # Only so that /api/v1/docs serves ninja's bundled Swagger UI rather than a CDN's.
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (cms/security.py).
    "cms.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compressed for phones on a poor signal (issue 7: HTML went over the wire as is;
    # WhiteNoise serves static files pre-compressed). Django pads compressed responses
    # against BREACH and CSRF tokens are masked per response.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "cms.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cms.middleware.UserTimezoneMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last: whole course pages for visitors without a session (courses/page_cache.py).
    "courses.page_cache.AnonymousPageCacheMiddleware",
]

ROOT_URLCONF = "cms.urls"
WSGI_APPLICATION = "cms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

# --- database: DATABASE_URL, or a SQLite file under var/ -------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'roadwise.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (runserver, a worker) may share the file: wait rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache: Redis when REDIS_CACHE_URL is set, else memory of this process ---------------
_cache_url = env_str("REDIS_CACHE_URL")
CACHES = {
    "default": (
        # Django's RedisCache, answering "not cached" while Redis is away (cms/cache.py).
        {"BACKEND": "cms.cache.TolerantRedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Course pages: whole pages for anonymous visitors, routes and the parts every driver sees
# alike, in the cache above (courses/page_cache.py); ROADWISE_PAGE_CACHE=0 turns it off.
ROADWISE_PAGE_CACHE = env_bool("ROADWISE_PAGE_CACHE", True)
ROADWISE_PAGE_CACHE_SECONDS = env_int("ROADWISE_PAGE_CACHE_SECONDS", 600)

# --- identity ---------------------------------------------------------------------------
AUTH_USER_MODEL = "cms.User"
AUTHENTICATION_BACKENDS = ["cms.auth.MobileModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Mobile numbers without a country code are read as numbers of this region.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "CN")

# One-time codes sent by SMS.
SMS_SENDER = env_str("SMS_SENDER", "cms.sms.ConsoleSmsSender")
SMS_RETRY_SECONDS = env_int("SMS_RETRY_SECONDS", 30)
OTP_LENGTH = 6
OTP_TTL_SECONDS = env_int("OTP_TTL_SECONDS", 600)
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_SECONDS = env_int("OTP_RESEND_SECONDS", 60)
OTP_MAX_PER_HOUR = env_int("OTP_MAX_PER_HOUR", 5)

# --- API rate limits and sign-in throttling (counters in the cache above: cms/throttling.py)
# Requests a minute per platform API key (a key may override it; 0 = unlimited). The default
# is above what one key's bulk callers reach (benchmark 3 verifies about 80 a second).
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 6000)
# Failed password sign-ins before a pause, per account and per address, in a window.
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 50)
# One-time codes asked for, and wrong codes typed, per address an hour (numbers have their
# own limits: OTP_MAX_PER_HOUR and OTP_MAX_ATTEMPTS).
OTP_REQUESTS_PER_IP_PER_HOUR = env_int("OTP_REQUESTS_PER_IP_PER_HOUR", 30)
OTP_FAILURES_PER_IP_PER_HOUR = env_int("OTP_FAILURES_PER_IP_PER_HOUR", 30)
# Proxies in front of the site that append to X-Forwarded-For (0: use REMOTE_ADDR).
ROADWISE_TRUSTED_PROXIES = env_int("ROADWISE_TRUSTED_PROXIES", 0)
# Django's defaults, written down because the tests hold them: the session cookie is not
# readable by script and not sent on cross-site POSTs.
SESSION_COOKIE_SAMESITE = "Lax"

# --- languages and time -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True  # stored in UTC
TIME_ZONE = "Asia/Shanghai"  # shown in Shanghai time unless a user picks their own

# --- files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env_str("AWS_STORAGE_BUCKET_NAME"):
    # Media on S3-compatible storage (docs/deployment.md); django-storages reads the
    # AWS_* variables itself.
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
    AWS_S3_CUSTOM_DOMAIN = env_str("AWS_S3_CUSTOM_DOMAIN") or None
    AWS_QUERYSTRING_AUTH = env_bool("AWS_QUERYSTRING_AUTH", False)
    AWS_DEFAULT_ACL = None
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# No broker configured: run tasks in this process, at once, so a laptop needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Periodic tasks (`celery -A cms worker -B` or a separate `celery -A cms beat`).
CELERY_BEAT_SCHEDULE = {
    "issue-missing-credentials": {
        "task": "credentials.tasks.issue_missing_credentials",
        "schedule": 600.0,
    },
    "refresh-status-lists": {
        "task": "credentials.tasks.refresh_status_lists",
        "schedule": 3600.0,
    },
    # Starts (or resumes) last month's reward runs once REWARDS_RUN_AFTER_DAYS have passed.
    "run-due-rewards": {
        "task": "rewards.tasks.run_due_rewards",
        "schedule": 3600.0,
    },
    # Stripe events whose processing failed (or never ran) are tried again.
    "retry-stripe-events": {
        "task": "cms.tasks.stripe_events_retry",
        "schedule": 600.0,
    },
    # Drivers' payouts left pending by a Stripe error or a lost task; in-transit ones that no
    # webhook settled.
    "retry-payouts": {"task": "rewards.tasks.payouts_retry", "schedule": 300.0},
    # Refunds of funding top-ups the ledger could not book yet (the funding was spent).
    "retry-unposted-refunds": {"task": "rewards.tasks.unposted_refunds_retry", "schedule": 3600.0},
    # Stripe's balance transactions against the ledger (last two days); differences are errors.
    "reconcile-stripe": {"task": "rewards.tasks.reconcile_stripe", "schedule": 86400.0},
    # Signed webhooks to platforms whose delivery failed and whose next attempt is due.
    "retry-platform-webhooks": {"task": "cms.tasks.platform_webhooks_retry", "schedule": 60.0},
}
# Days into a month before last month's rewards run (platforms send late events meanwhile).
REWARDS_RUN_AFTER_DAYS = 3

# Demo content of each app, run in this order by `manage.py seed_demo` after the site's own.
DEMO_SEEDERS = [
    "courses.demo.seed_demo",
    "credentials.demo.seed_demo",
    "rewards.demo.seed_demo",
]

# --- Payments through Stripe (docs/decisions/0009-payments-through-stripe.md) --------------
# Both keys empty: payments are off (paid courses, seat purchases, funding top-ups and payouts
# are unavailable; the webhook answers 503). STRIPE_WEBHOOK_SECRET may hold several
# comma-separated signing secrets (the platform endpoint's, the Connect endpoint's, or an old
# and a new one while rotating).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE") or "https://api.stripe.com"
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 10)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
# Offered on the Checkout page; wechat_pay is sent with payment_method_options client=web.
STRIPE_CHECKOUT_PAYMENT_METHODS = env_list(
    "STRIPE_CHECKOUT_PAYMENT_METHODS", ["card", "alipay", "wechat_pay"]
)
# Drivers' payouts through Stripe Connect Express accounts (rewards.payouts): the accounts'
# country, the service agreement ("recipient" for cross-border payouts) and the smallest payout.
STRIPE_CONNECT_COUNTRY = env_str("STRIPE_CONNECT_COUNTRY", "US")
STRIPE_CONNECT_SERVICE_AGREEMENT = env_str("STRIPE_CONNECT_SERVICE_AGREEMENT", "full")
PAYOUT_MINIMUM_FEN = env_int("PAYOUT_MINIMUM_FEN", 1000)

# --- Wagtail ------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Roadwise"
WAGTAILADMIN_BASE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# --- Credentials --------------------------------------------------------------------------
# Encrypts issuers' private keys at rest. A development-only value; production.py refuses it.
# Comma-separated to rotate it: the first encrypts, every one decrypts.
INSECURE_DEFAULT_CREDENTIALS_KEY = "roadwise-insecure-development-credentials-key-change-me"  # noqa: S105
CREDENTIALS_KEY_ENCRYPTION_KEY = env_str(
    "CREDENTIALS_KEY_ENCRYPTION_KEY", INSECURE_DEFAULT_CREDENTIALS_KEY
)
# The host (and port) of issuers' did:web DIDs, by default that of SITE_URL.
DID_WEB_HOST = env_str("DID_WEB_HOST", urlsplit(WAGTAILADMIN_BASE_URL).netloc)
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# --- uploads (cms/uploads.py; docs/decisions/0014): checked by content, served inert --------
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
# Also Pillow's limit for the whole process (CmsConfig.ready): a bomb is refused on upload and
# can never be decoded for a rendition either.
WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40_000_000
WAGTAILIMAGES_EXTENSIONS = ["avif", "gif", "jpg", "jpeg", "png", "webp"]  # no SVG: it can script
WAGTAILDOCS_EXTENSIONS = ["pdf", "docx", "xlsx", "pptx", "txt", "csv"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 20 * 1024 * 1024
WAGTAILDOCS_DOCUMENT_FORM_BASE = "cms.uploads.DocumentForm"  # content must match the extension
# Always through Wagtail's view (also with S3), which sends nosniff and a CSP of default-src
# 'none'; only PDFs inline, everything else as an attachment.
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_INLINE_CONTENT_TYPES = ["application/pdf"]
WAGTAILDOCS_BLOCK_EMBEDDED_CONTENT = True
# --- end uploads
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_PASSWORD_RESET_ENABLED = False  # resets go through SMS codes on the site

# --- security headers and Content Security Policy -------------------------------------------
# docs/decisions/0013-content-security-policy.md; cms/security.py picks a policy per response.
X_FRAME_OPTIONS = "DENY"  # Wagtail's preview views opt back into SAMEORIGIN themselves
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Powerful browser features the site does not use, off for it and for anything it frames.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "usb",
    )
)  # fmt: skip
_SELF, _NONE, _INLINE = "'self'", "'none'", "'unsafe-inline'"


def _csp_media_origins() -> list[str]:
    """Where uploaded images, videos and documents are served from, when not from this site:
    CSP_MEDIA_ORIGINS, or the S3 bucket's domain or MEDIA_URL's origin."""
    if origins := env_list("CSP_MEDIA_ORIGINS", []):
        return origins
    if domain := env_str("AWS_S3_CUSTOM_DOMAIN"):
        return [f"https://{domain}"]
    if (parts := urlsplit(MEDIA_URL)).netloc:
        return [f"{parts.scheme or 'https'}://{parts.netloc}"]
    if bucket := env_str("AWS_STORAGE_BUCKET_NAME"):
        endpoint = urlsplit(env_str("AWS_S3_ENDPOINT_URL"))
        if endpoint.netloc:
            return [f"{endpoint.scheme}://{endpoint.netloc}"]
        return [f"https://{bucket}.s3.amazonaws.com"]
    return []


_MEDIA = _csp_media_origins()
# Lesson videos embedded from a video site (wagtail.embeds renders the provider's iframe).
_VIDEO_FRAMES = env_list(
    "CSP_FRAME_ORIGINS",
    ["https://www.youtube.com", "https://www.youtube-nocookie.com", "https://player.vimeo.com"],
)
# The drivers' site: nothing inline, nothing from elsewhere but media and embedded videos.
# (form-action also gets Stripe's Checkout and Connect pages, added per request.)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:", *_MEDIA],
        "media-src": [_SELF, *_MEDIA],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "worker-src": [_SELF],
        "manifest-src": [_SELF],
        "frame-src": _VIDEO_FRAMES or [_NONE],
        "object-src": [_NONE],
        "base-uri": [_SELF],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    }
}
# The Wagtail admin, relaxed where Wagtail 8 needs it (measured in Chromium, see the ADR):
# inline <script> initialisers in its templates and from its vendor.js, inline event handlers
# (Jcrop, the image focal point), <style> elements its vendor.js inserts (the page editor);
# blob: thumbnails while uploading images; and its own preview in a frame.
ROADWISE_CSP_ADMIN = {
    **CONTENT_SECURITY_POLICY["DIRECTIVES"],
    "script-src": [_SELF, _INLINE],
    "style-src": [_SELF, _INLINE],
    "img-src": [_SELF, "data:", "blob:", *_MEDIA],
    "frame-src": [_SELF, *_VIDEO_FRAMES],
    "frame-ancestors": [_SELF],
}
# /api/v1/docs: ninja's bundled Swagger UI keeps to the site's policy (its scripts are files,
# its settings a JSON block, its styles set from script), less the video frames.
ROADWISE_CSP_API_DOCS = {**CONTENT_SECURITY_POLICY["DIRECTIVES"], "frame-src": [_NONE]}
# JSON, and anything else the API answers: a document that loads nothing and is never framed.
ROADWISE_CSP_NONE = {"default-src": [_NONE], "frame-ancestors": [_NONE]}

# --- logging: one line per record on stderr ------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "wagtail": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
