"""Who may use which URL: one table, every Roadwise URL pattern, every role.

Each row names a URL (by its pattern's name, built with objects of the small world in
access_fixtures.py), a method and what each role gets. The roles are the people of issue 9:
anonymous, a driver and another driver, an author of school A and one of school B, a carmaker
author, the staff of platforms X and Y, and an operator; on the API, no key, a revoked key,
platform X's key and platform Y's key (and an operator's browser session, which the API
must ignore). A role missing from a row is a failure of the table, not a pass.

`test_every_url_pattern_has_a_row` walks the whole URL configuration (the i18n patterns, the
ninja routes, the admin URLs registered by Roadwise's wagtail_hooks) and fails when a
Roadwise pattern has no row: a new URL cannot be added without deciding who may use it.
Wagtail's own admin is left out of that rule by namespace, but the rows below cover the
places in it where tenants meet (pages, images, documents, reports, users and groups).

Where a role must not see another tenant's objects, the row lists their markers
(access_fixtures.SECRET_*) and the test asserts that no other role's answer contains them.

The world is built once for the module, inside a transaction rolled back at the end; each
request runs in a savepoint that is rolled back too, so rows and roles do not see each
other's writes."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation

from credentials.models import StatusList
from tests.security import access_fixtures as fx

pytestmark = pytest.mark.django_db

world = fx.world  # the module's fixture: the world, built once

SITE_ROLES = (
    "anonymous",
    "driver",
    "driver2",
    "author_a",
    "author_b",
    "carmaker",
    "platform_x",
    "platform_y",
    "operator",
)
API_ROLES = ("no_key", "revoked", "platform_x", "platform_y", "operator_session")
DRIVERS = ("driver", "driver2")
AUTHORS = ("author_a", "author_b", "carmaker")
PLATFORMS = ("platform_x", "platform_y")
MEMBERS = AUTHORS + PLATFORMS  # organisation members: they may enter the admin

# --- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    label: str
    check: Callable

    def __repr__(self) -> str:
        return self.label


def _location(response) -> str:
    return response.get("Location", "")


def status(*codes: int) -> Outcome:
    return Outcome("/".join(map(str, codes)), lambda r: r.status_code in codes)


OK = status(200)
NOT_FOUND = status(404)
FORBIDDEN = status(403)
UNAUTHORIZED = status(401)
LOGIN = Outcome("302→login", lambda r: r.status_code == 302 and "/accounts/login/" in _location(r))
ADMIN_LOGIN = Outcome(
    "302→admin login", lambda r: r.status_code == 302 and "/admin/login/" in _location(r)
)
REDIRECT = Outcome(
    "302 (not to a login)",
    lambda r: r.status_code == 302 and "/login/" not in _location(r),
)
# Refused: 403 or 404; or Wagtail's ways of refusing inside the admin: a redirect elsewhere in
# the admin (its home, its login, the explorer of the pages one may see), with a message, or
# 400 from the admin API ("parent page not found"). The secrets check below makes sure the
# refusal shows nothing.
DENY = Outcome(
    "denied",
    lambda r: (
        r.status_code in (400, 403, 404)
        or (r.status_code == 302 and _location(r).startswith("/admin/"))
    ),
)
ANYONE = Outcome("200 or a redirect", lambda r: r.status_code in (200, 302))


def roles(default: Outcome | None = None, **overrides: Outcome) -> dict[str, Outcome]:
    """Site roles: `default` for every role not named; `drivers=`, `authors=`, `platforms=`,
    `members=` name groups of roles."""
    expect = dict.fromkeys(SITE_ROLES, default) if default is not None else {}
    groups = {"drivers": DRIVERS, "authors": AUTHORS, "platforms": PLATFORMS, "members": MEMBERS}
    for name in ("members", "authors", "platforms", "drivers"):
        if name in overrides:
            outcome = overrides.pop(name)
            expect.update(dict.fromkeys(groups[name], outcome))
    expect.update(overrides)
    return expect


def site_login(**overrides) -> dict[str, Outcome]:
    """A page of the signed-in person's own: anyone signed in, never anyone else's data."""
    return roles(OK, anonymous=LOGIN, **overrides)


def operator_only(ok: Outcome = OK) -> dict[str, Outcome]:
    return roles(DENY, anonymous=ADMIN_LOGIN, operator=ok)


def api(ok_x: Outcome, ok_y: Outcome | None = None) -> dict[str, Outcome]:
    return {
        "no_key": UNAUTHORIZED,
        "revoked": UNAUTHORIZED,
        "operator_session": UNAUTHORIZED,
        "platform_x": ok_x,
        "platform_y": ok_y or ok_x,
    }


# --- rows -----------------------------------------------------------------------------------


@dataclass
class Row:
    id: str
    name: str  # the URL pattern's name, namespace:name
    expect: dict[str, Outcome]
    kwargs: Callable = lambda w: {}  # or a list: positional arguments
    method: str = "GET"
    data: Callable | None = None  # form data, or a JSON body for the API
    query: str = ""
    language: str = "zh-hans"
    # Markers of other tenants' data (access_fixtures.SECRET_*) and who may see them.
    secrets: Callable = lambda w: ()
    may_see: tuple = ("operator",)
    # Roles whose answer must show at least one of the markers (so the check can fail).
    shown_to: tuple = ()
    # Further checks of a role's answer: {role: callable(response, world)}.
    checks: dict = field(default_factory=dict)

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api-v1:")


def _pk(name):
    return lambda w: {"pk": getattr(w, name).pk}


def _page(name, attr=None):
    def kwargs(w):
        page = getattr(w, name)
        return {"page_id": (getattr(page, attr) if attr else page).pk}

    return kwargs


def _cred(name, **extra):
    return lambda w: {"public_id": getattr(w, name).public_id, **extra}


def _b_secrets(w):
    return (fx.SECRET_B_COURSE, fx.SECRET_B_DRAFT, fx.SECRET_B_IMAGE, fx.SECRET_B_DOCUMENT)


def _json_has(text):
    return lambda r, w: text in r.content.decode()


def _json_lacks(text):
    return lambda r, w: text not in r.content.decode()


def _status_list_kwargs(w):
    status_list = StatusList.objects.filter(issuer=w.orgs["school_a"]).order_by("pk").first()
    return {"slug": "school-a", "purpose": status_list.purpose, "number": status_list.number}


SITE_ROWS = [
    # --- machine-facing and public -------------------------------------------------------
    Row("healthz", "healthz", roles(ANYONE)),
    Row("service worker", "service_worker", roles(OK)),
    Row(
        "stripe webhook without a signature",
        "stripe_webhook",
        roles(status(400, 503)),
        method="POST",
        data=lambda w: {"id": "evt_forged"},
    ),
    Row("DID document", "credentials:did_document", roles(OK), lambda w: {"slug": "school-a"}),
    Row("status list", "credentials:status_list", roles(OK), _status_list_kwargs),
    Row("offline page", "courses:offline", roles(OK)),
    Row("verify page", "certificates:verify", roles(OK)),
    Row(
        "shared certificate (the holder's link)",
        "certificates:shared",
        roles(OK),
        lambda w: {"token": w.cred1.share_token},
    ),
    Row(
        "shared certificate, a wrong token",
        "certificates:shared",
        roles(NOT_FOUND),
        lambda w: {"token": "not-a-token"},
        secrets=lambda w: (w.cred1.number,),
        may_see=(),
    ),
    Row(
        "shared download",
        "certificates:shared_download",
        roles(OK),
        lambda w: {"token": w.cred1.share_token, "kind": "credential.json"},
    ),
    # --- accounts: anyone -----------------------------------------------------------------
    *[
        Row(f"accounts {name}", f"accounts:{name}", roles(ANYONE))
        for name in (
            "signup",
            "signup_verify",
            "login",
            "login_code",
            "login_code_verify",
            "password_reset",
            "password_reset_verify",
        )
    ],
    Row("logout", "accounts:logout", roles(REDIRECT), method="POST"),
    Row("logout by GET", "accounts:logout", roles(status(405))),
    # --- personal data: only one's own (cms/views/privacy.py) -------------------------------
    Row("your data page", "accounts:privacy", site_login()),
    Row(
        "export one's data",
        "accounts:privacy_export",
        site_login(),
        method="POST",
        secrets=lambda w: (fx.DRIVER1_NAME,),
        may_see=("driver",),
    ),
    Row("export by GET", "accounts:privacy_export", roles(status(405), anonymous=LOGIN)),
    Row("delete account page", "accounts:privacy_delete", site_login()),
    Row(
        "delete account without the password",
        "accounts:privacy_delete",
        site_login(),
        method="POST",
    ),
    # --- learning -------------------------------------------------------------------------
    Row(
        "dashboard",
        "courses:dashboard",
        site_login(),
        secrets=lambda w: (fx.DRIVER1_NAME,),
        may_see=("driver",),
    ),
    Row(
        "enrol in a live course",
        "courses:enrol",
        roles(REDIRECT, anonymous=LOGIN),
        _page("course_a", "course"),
        method="POST",
    ),
    Row(
        "enrol in another school's draft",
        "courses:enrol",
        roles(NOT_FOUND, anonymous=LOGIN),
        _page("draft_b"),
        method="POST",
    ),
    Row(
        "buy a course",
        "courses:purchase",
        roles(REDIRECT, anonymous=LOGIN),
        _page("course_b", "course"),
        method="POST",
    ),
    Row(
        "buy another school's draft",
        "courses:purchase",
        roles(NOT_FOUND, anonymous=LOGIN),
        _page("draft_b"),
        method="POST",
    ),
    Row("purchase return", "courses:purchase_return", roles(NOT_FOUND, anonymous=LOGIN)),
    Row(
        "a driver's purchase",
        "courses:purchase_status",
        roles(NOT_FOUND, anonymous=LOGIN, driver=OK),
        lambda w: {"public_id": w.payment_d1.public_id},
        secrets=lambda w: ("SECRETD1PAYMENT",),
        may_see=("driver",),
    ),
    Row(
        "complete a lesson",
        "courses:lesson_complete",
        roles(REDIRECT, anonymous=LOGIN),
        _page("course_a", "reading"),
        method="POST",
    ),
    Row(
        "complete a lesson offline (JSON)",
        "courses:lesson_complete_sync",
        roles(status(403), anonymous=UNAUTHORIZED, driver=OK),
        _page("course_a", "reading"),
        method="POST",
    ),
    Row(
        "submit a quiz",
        "courses:quiz_submit",
        roles(REDIRECT, anonymous=LOGIN),
        _page("course_a", "quiz"),
        method="POST",
    ),
    # --- certificates ---------------------------------------------------------------------
    Row(
        "my certificates",
        "certificates:list",
        site_login(),
        secrets=lambda w: (w.cred1.number,),
        may_see=("driver",),
        checks={
            "driver": lambda r, w: w.cred_b.number not in r.content.decode(),
            "driver2": lambda r, w: w.cred_b.number in r.content.decode(),
        },
    ),
    Row(
        "a certificate",
        "certificates:detail",
        roles(NOT_FOUND, anonymous=LOGIN, driver=OK),
        _cred("cred1"),
        secrets=lambda w: (w.cred1.number,),
        may_see=("driver",),
        shown_to=("driver",),
    ),
    Row(
        "share a certificate",
        "certificates:share",
        roles(DENY, anonymous=LOGIN, driver=REDIRECT),
        _cred("cred1"),
        method="POST",
        data=lambda w: {"action": "renew"},
    ),
    Row(
        "download a certificate",
        "certificates:download",
        roles(NOT_FOUND, anonymous=LOGIN, driver=OK),
        _cred("cred1", kind="credential.json"),
        secrets=lambda w: (w.cred1.number,),
        may_see=("driver",),
    ),
    Row(
        "consents",
        "certificates:consents",
        site_login(),
        secrets=lambda w: (fx.DRIVER1_NAME,),
        may_see=("driver",),
    ),
    Row(
        "withdraw someone's consent",
        "certificates:consents",
        roles(DENY, anonymous=LOGIN, driver=REDIRECT),
        method="POST",
        data=lambda w: {"action": "withdraw", "grant": w.grant_x.pk},
    ),
    # --- rewards --------------------------------------------------------------------------
    Row(
        "platform links",
        "rewards:links",
        site_login(),
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID,),
        may_see=("driver",),
    ),
    Row("reward rules", "rewards:rules", site_login()),
    Row("statements", "rewards:statements", site_login()),
    Row(
        "a month's statement",
        "rewards:statement",
        roles(NOT_FOUND, anonymous=LOGIN, driver=OK),  # no statement before one's first link
        lambda w: {"month": "2026-10"},
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID, fx.DRIVER1_NAME),
        may_see=("driver",),
    ),
    Row(
        "a month's statement (PDF), before the first month",
        "rewards:statement_pdf",
        roles(NOT_FOUND, anonymous=LOGIN),
        lambda w: {"month": "2020-01"},
    ),
    Row(
        "disputes",
        "rewards:disputes",
        site_login(),
        secrets=lambda w: ("SECRETD1DISPUTE",),
        may_see=("driver",),
    ),
    Row(
        "dispute someone's reward line",
        "rewards:dispute_new",
        roles(NOT_FOUND, anonymous=LOGIN, driver=OK),
        lambda w: {"kind": "line", "pk": w.line1.pk},
    ),
    Row("payouts", "rewards:payouts", roles(DENY, anonymous=LOGIN, drivers=OK)),
    Row("payouts connect", "rewards:payouts_connect", roles(DENY, anonymous=LOGIN, drivers=ANYONE)),
    Row("payouts return", "rewards:payouts_return", roles(DENY, anonymous=LOGIN, drivers=ANYONE)),
    # --- Wagtail pages on the site ----------------------------------------------------------
    Row(
        "another school's draft page on the site",
        "wagtail_serve",
        roles(NOT_FOUND),
        lambda w: [w.draft_b.url.strip("/") + "/"],
        secrets=lambda w: (fx.SECRET_B_DRAFT,),
        may_see=(),
    ),
    Row(
        "school A's course page",
        "wagtail_serve",
        roles(OK),
        lambda w: [w.course_a.course.url.strip("/") + "/"],
        secrets=lambda w: (fx.DRIVER1_NAME,),
        may_see=("driver",),
    ),
    Row(
        "school A's course page again (the anonymous page cache hands out no one's page)",
        "wagtail_serve",
        roles(OK),
        lambda w: [w.course_a.course.url.strip("/") + "/"],
        secrets=lambda w: (fx.DRIVER1_NAME, fx.DRIVER2_NAME),
        may_see=("driver",),
        checks={"anonymous": lambda r, w: fx.DRIVER1_NAME not in r.content.decode()},
    ),
    Row(
        "a paid lesson of school B (driver 2 bought the course; driver 1 has not paid yet)",
        "wagtail_serve",
        roles(REDIRECT, anonymous=LOGIN, driver2=OK),
        lambda w: [w.paid_lesson_b.url.strip("/") + "/"],
        secrets=lambda w: (fx.SECRET_B_LESSON,),
        may_see=("driver2",),
        shown_to=("driver2",),
    ),
    # --- Roadwise admin: platform API keys, Stripe (operators) -----------------------------
    Row("API keys", "cms_api_keys:index", operator_only()),
    Row("new API key form", "cms_api_keys:create", operator_only()),
    Row(
        "new API key",
        "cms_api_keys:create",
        operator_only(),
        method="POST",
        data=lambda w: {"organization": w.orgs["platform_y"].pk, "name": "mine"},
    ),
    Row("revoke an API key", "cms_api_keys:revoke", operator_only(), _pk("key_x_revoked")),
    Row("Stripe", "cms_stripe:index", operator_only(), secrets=lambda w: ("SECRETALERT",)),
    Row("Stripe event", "cms_stripe:event", operator_only(), _pk("stripe_event")),
    Row(
        "Stripe event retry",
        "cms_stripe:event_retry",
        operator_only(REDIRECT),
        _pk("stripe_event"),
        method="POST",
    ),
    Row(
        "Stripe alert resolve",
        "cms_stripe:alert_resolve",
        operator_only(REDIRECT),
        _pk("alert"),
        method="POST",
        data=lambda w: {"resolution": "checked"},
    ),
    # --- platform webhooks in the admin: each platform its own ---------------------------------
    Row(
        "webhooks (admin)",
        "cms_webhooks:index",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
        checks={
            "platform_x": lambda r, w: fx.SECRET_Y_WEBHOOK not in r.content.decode(),
            "platform_y": lambda r, w: fx.SECRET_X_WEBHOOK not in r.content.decode(),
        },
    ),
    Row(
        "platform X's webhook (admin)",
        "cms_webhooks:detail",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=OK, operator=OK),
        _pk("webhook_x"),
        secrets=lambda w: (fx.SECRET_X_WEBHOOK,),
        may_see=("platform_x", "operator"),
        shown_to=("platform_x", "operator"),
    ),
    # --- seats: sponsors (platforms, carmakers) their own ------------------------------------
    Row(
        "seat purchases",
        "seat_purchases:index",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, carmaker=OK, operator=OK),
        secrets=lambda w: ("SECRETXSEATS",),
        may_see=("platform_x", "operator"),
    ),
    Row(
        "buy seats",
        "seat_purchases:buy",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, carmaker=OK),
    ),
    Row(
        "seat purchase return (platform X's checkout session)",
        "seat_purchases:return",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=REDIRECT),
        query="?session_id=cs_access_seats_x",
    ),
    Row(
        "platform X's seat purchase",
        "seat_purchases:detail",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=OK, operator=OK),
        lambda w: {"public_id": w.seat_purchase_x.public_id},
        secrets=lambda w: ("SECRETXSEATS",),
        may_see=("platform_x", "operator"),
    ),
    Row(
        "platform X's seat codes",
        "seat_purchases:codes",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=OK, operator=OK),
        lambda w: {"public_id": w.seat_purchase_x.public_id},
    ),
    # --- analytics and certificates: authors their own organisation's ----------------------
    Row(
        "course analytics",
        "course_analytics:index",
        roles(DENY, anonymous=ADMIN_LOGIN, authors=OK, operator=OK),
        secrets=lambda w: (fx.SECRET_B_COURSE,),
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "course analytics CSV",
        "course_analytics:export",
        roles(DENY, anonymous=ADMIN_LOGIN, authors=OK, operator=OK),
        secrets=lambda w: (fx.SECRET_B_COURSE,),
        may_see=("author_b", "operator"),
    ),
    Row(
        "course analytics filtered to school B (the filter is operators')",
        "course_analytics:index",
        roles(DENY, anonymous=ADMIN_LOGIN, authors=OK, operator=OK),
        query="",  # set in _url: ?organization=<school B>
        secrets=lambda w: (fx.SECRET_B_COURSE,),
        may_see=("author_b", "operator"),
    ),
    Row(
        "school B's course analytics",
        "course_analytics:course",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"course_id": w.course_b.course.pk},
        secrets=lambda w: (fx.SECRET_B_COURSE,),
        may_see=("author_b", "operator"),
    ),
    Row(
        "school B's course analytics CSV",
        "course_analytics:course_export",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"course_id": w.course_b.course.pk},
        secrets=lambda w: (fx.SECRET_B_COURSE,),
        may_see=("author_b", "operator"),
    ),
    Row(
        "issued certificates",
        "credential_admin:index",
        roles(DENY, anonymous=ADMIN_LOGIN, authors=OK, operator=OK),
        secrets=lambda w: (w.cred_b.number,),
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "school B's certificate",
        "credential_admin:detail",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        _pk("cred_b"),
        secrets=lambda w: (w.cred_b.number, fx.DRIVER2_NAME),
        may_see=("author_b", "operator"),
    ),
    Row(
        "revoke school B's certificate",
        "credential_admin:detail",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=REDIRECT, operator=REDIRECT),
        _pk("cred_b"),
        method="POST",
        data=lambda w: {"action": "revoke", "reason": "Issued by mistake, revoked."},
        secrets=lambda w: (w.cred_b.number, fx.DRIVER2_NAME),
        may_see=("author_b", "operator"),
    ),
    # --- rewards admin: platforms their own, operators all --------------------------------------
    Row(
        "reward rules (admin)",
        "rewards_rules:index",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
    ),
    Row(
        "new reward rule",
        "rewards_rules:create",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
        lambda w: {"kind": "quality"},
    ),
    Row(
        "platform X's rule",
        "rewards_rules:version",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=OK, operator=OK),
        _pk("rule_x"),
    ),
    Row(
        "edit platform X's (published) rule",
        "rewards_rules:edit",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=ANYONE, operator=ANYONE),
        _pk("rule_x"),
    ),
    Row(
        "new version of platform X's rule",
        "rewards_rules:new_version",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=OK, operator=OK),
        _pk("rule_x"),
    ),
    Row(
        "publish platform X's rule",
        "rewards_rules:publish",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=ANYONE, operator=ANYONE),
        _pk("rule_x"),
        method="POST",
    ),
    Row(
        "simulate platform X's rule",
        "rewards_rules:simulate",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=OK, operator=OK),
        _pk("rule_x"),
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID,),
        may_see=("platform_x", "operator"),
    ),
    Row(
        "reward runs",
        "rewards_rules:runs",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
    ),
    Row(
        "run rewards now (staff: their own platform, whatever they post)",
        "rewards_rules:run_now",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=REDIRECT, operator=REDIRECT),
        method="POST",
        data=lambda w: {"platform": w.orgs["platform_x"].pk, "month": "2026-10"},
    ),
    Row(
        "platform X's run",
        "rewards_rules:run",
        roles(DENY, anonymous=ADMIN_LOGIN, platform_x=OK, operator=OK),
        _pk("run_x"),
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID, fx.DRIVER1_NAME),
        may_see=("platform_x", "operator"),
    ),
    Row(
        "reward policy (staff: their own platform's)",
        "rewards_rules:policy",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
    ),
    Row(
        "funding",
        "rewards_topup:topup",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
    ),
    Row(
        "reward totals",
        "rewards_totals:totals",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
        query="?month=2026-10",
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID,),
        may_see=("platform_x", "operator"),
    ),
    Row(
        "platform X's reward totals, asked for by platform Y",
        "rewards_totals:totals",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
        query="",  # set in _url: ?month=2026-10&platform=<X>
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID,),
        may_see=("platform_x", "operator"),
        shown_to=("platform_x", "operator"),
    ),
    Row(
        "reward totals CSV",
        "rewards_totals:totals_csv",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
        query="",  # set in _url: ?month=2026-10&platform=<X>
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID,),
        may_see=("platform_x", "operator"),
    ),
    Row(
        "disputes (admin)",
        "rewards_disputes:list",
        operator_only(),
        secrets=lambda w: ("SECRETD1DISPUTE",),
    ),
    Row(
        "a dispute (admin)",
        "rewards_disputes:detail",
        operator_only(),
        lambda w: {"public_id": w.dispute1.public_id},
        secrets=lambda w: ("SECRETD1DISPUTE",),
        shown_to=("operator",),
    ),
    Row(
        "service data upload",
        "rewards_admin:upload",
        roles(DENY, anonymous=ADMIN_LOGIN, platforms=OK, operator=OK),
    ),
    Row("ledger", "rewards_admin:ledger", operator_only()),
    # --- organisations and sponsored seat pools (model viewsets): operators -------------------
    *[
        Row(f"organisations {name}", f"organizations:{name}", operator_only(), kwargs)
        for name, kwargs in (
            ("index", lambda w: {}),
            ("index_results", lambda w: {}),
            ("add", lambda w: {}),
            ("edit", lambda w: {"pk": w.orgs["school_b"].pk}),
            ("delete", lambda w: {"pk": w.orgs["platform_y"].pk}),
            ("history", lambda w: {"pk": w.orgs["school_b"].pk}),
            ("history_results", lambda w: {"pk": w.orgs["school_b"].pk}),
            ("usage", lambda w: {"pk": w.orgs["school_b"].pk}),
            ("inspect", lambda w: {"pk": w.orgs["school_b"].pk}),
            ("copy", lambda w: {"pk": w.orgs["school_b"].pk}),
        )
    ],
    Row(
        "an author edits an organisation",
        "organizations:edit",
        operator_only(REDIRECT),
        lambda w: {"pk": w.orgs["school_a"].pk},
        method="POST",
        data=lambda w: {
            "kind": "school",
            "name": "甲职业学校",
            "name_en": "School A",
            "slug": "school-a",
            "website": "",
            "is_active": "on",
        },
    ),
    *[
        Row(f"seat pools {name}", f"seat-pools:{name}", operator_only(), kwargs)
        for name, kwargs in (
            ("index", lambda w: {}),
            ("index_results", lambda w: {}),
            ("add", lambda w: {}),
            ("edit", _pk("seat_pool_x")),
            ("delete", _pk("seat_pool_x")),
            ("history", _pk("seat_pool_x")),
            ("history_results", _pk("seat_pool_x")),
            ("usage", _pk("seat_pool_x")),
            ("copy", _pk("seat_pool_x")),
            ("codes", _pk("seat_pool_x")),
        )
    ],
    # --- Wagtail's admin, where tenants meet ---------------------------------------------------
    Row(
        "admin dashboard (its panels: pages in workflow, awaiting review, recent edits)",
        "wagtailadmin_home",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "explore the catalogue (an author is sent to their own section)",
        "wagtailadmin_explore",
        roles(DENY, anonymous=ADMIN_LOGIN, operator=OK),
        lambda w: {"parent_page_id": w.section_b.get_parent().pk},
        secrets=lambda w: (*_b_secrets(w), "乙职业学校"),
        may_see=("author_b", "operator"),
    ),
    Row(
        "add a page in school B's section (one page type: straight to its form)",
        "wagtailadmin_pages:add_subpage",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=REDIRECT, operator=REDIRECT),
        lambda w: {"parent_page_id": w.section_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "add a course in school B's section",
        "wagtailadmin_pages:add",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {
            "content_type_app_name": "courses",
            "content_type_model_name": "coursepage",
            "parent_page_id": w.section_b.pk,
        },
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "workflow history of school B's draft",
        "wagtailadmin_pages:workflow_history",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        _page("draft_b"),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "choose a page below school B's section (the chooser lists none of it)",
        "wagtailadmin_choose_page_child",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        lambda w: {"parent_page_id": w.section_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "admin API: every course page",
        "wagtailadmin_api:pages:listing",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        query="?type=courses.CoursePage&limit=20",
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "admin API: school B's image",
        "wagtailadmin_api:images:detail",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"pk": w.image_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "admin API: school B's document",
        "wagtailadmin_api:documents:detail",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"pk": w.document_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "edit school B's draft",
        "wagtailadmin_pages:edit",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        _page("draft_b"),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "view school B's draft",
        "wagtailadmin_pages:view_draft",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        _page("draft_b"),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "preview school B's draft",
        "wagtailadmin_pages:preview_on_edit",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        _page("draft_b"),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "history of school B's course",
        "wagtailadmin_pages:history",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        _page("course_b", "course"),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "a revision of school B's draft",
        "wagtailadmin_pages:revisions_view",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"page_id": w.draft_b.pk, "revision_id": w.draft_b.latest_revision_id},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "lock school B's course",
        "wagtailadmin_pages:lock",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=REDIRECT, operator=REDIRECT),
        _page("course_b", "course"),
        method="POST",
    ),
    Row(
        "approve school B's draft (B's reviewers' step; its authors are not reviewers)",
        "wagtailadmin_pages:workflow_action",
        roles(DENY, anonymous=ADMIN_LOGIN, operator=OK),
        lambda w: {
            "page_id": w.draft_b.pk,
            "action_name": "approve",
            "task_state_id": _task_state(w.draft_b).pk,
        },
        secrets=_b_secrets,
    ),
    Row(
        "unpublish school B's course",
        "wagtailadmin_pages:unpublish",
        roles(DENY, anonymous=ADMIN_LOGIN, operator=OK),
        _page("course_b", "course"),
        secrets=_b_secrets,
    ),
    Row(
        "delete school B's course",
        "wagtailadmin_pages:delete",
        roles(DENY, anonymous=ADMIN_LOGIN, operator=OK),
        _page("course_b", "course"),
        secrets=_b_secrets,
    ),
    Row(
        "move school B's course",
        "wagtailadmin_pages:move",
        roles(DENY, anonymous=ADMIN_LOGIN, operator=OK),
        lambda w: {"page_to_move_id": w.course_b.course.pk},
        secrets=_b_secrets,
    ),
    Row(
        "copy school B's course",
        "wagtailadmin_pages:copy",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        _page("course_b", "course"),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "explore school B's section",
        "wagtailadmin_explore",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"parent_page_id": w.section_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "search pages",
        "wagtailadmin_pages:search",
        roles(DENY, anonymous=ADMIN_LOGIN, authors=OK, operator=OK),
        query="?q=SECRET",
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "choose a page (search)",
        "wagtailadmin_choose_page_search",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        query="?q=SECRET",
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "admin API: pages below school B's section",
        "wagtailadmin_api:pages:listing",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        query="",  # set in _url: ?child_of=<section B>
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "admin API: school B's draft",
        "wagtailadmin_api:pages:detail",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"pk": w.draft_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "images",
        "wagtailimages:index",
        roles(DENY, anonymous=ADMIN_LOGIN, authors=OK, operator=OK),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "school B's image",
        "wagtailimages:edit",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"image_id": w.image_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "delete school B's image (B's authors may: Wagtail's change permission)",
        "wagtailimages:delete",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"image_id": w.image_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "choose an image (platform staff: an empty chooser)",
        "wagtailimages_chooser:choose",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        query="?q=SECRET",
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "admin API: images",
        "wagtailadmin_api:images:listing",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "documents",
        "wagtaildocs:index",
        roles(DENY, anonymous=ADMIN_LOGIN, authors=OK, operator=OK),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    Row(
        "school B's document",
        "wagtaildocs:edit",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"document_id": w.document_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "delete school B's document (B's authors may: Wagtail's change permission)",
        "wagtaildocs:delete",
        roles(DENY, anonymous=ADMIN_LOGIN, author_b=OK, operator=OK),
        lambda w: {"document_id": w.document_b.pk},
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "choose a document (platform staff: an empty chooser)",
        "wagtaildocs_chooser:choose",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
    Row(
        "admin API: documents",
        "wagtailadmin_api:documents:listing",
        roles(DENY, anonymous=ADMIN_LOGIN, members=OK, operator=OK),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
        shown_to=("author_b", "operator"),
    ),
    *[
        Row(
            f"report {name}",
            f"wagtailadmin_reports:{name}",
            roles(DENY, anonymous=ADMIN_LOGIN, operator=OK, **allowed),
            secrets=_b_secrets,
            may_see=("author_b", "operator"),
        )
        for name, allowed in (
            ("locked_pages", {}),  # Wagtail: for those who may unlock; authors may not
            ("workflow", {"authors": OK}),
            ("workflow_tasks", {"authors": OK}),
            ("site_history", {"members": OK}),
            ("aging_pages", {"authors": OK}),
        )
    ],
    *[
        Row(
            f"report: page types usage ({name})",
            name,
            operator_only(),
            secrets=_b_secrets,
            shown_to=("operator",),
        )
        for name in (
            "wagtailadmin_reports:page_types_usage",
            "wagtailadmin_reports:page_types_usage_results",
            # Roadwise's routes for the same URLs (cms/urls.py), which answer instead.
            "page_types_usage_report",
            "page_types_usage_report_results",
        )
    ],
    # No snippet models: Wagtail sends even operators back to the dashboard.
    Row("snippets", "wagtailsnippets:index", roles(DENY, anonymous=ADMIN_LOGIN)),
    Row("users", "wagtailusers_users:index", operator_only()),
    Row("new user", "wagtailusers_users:add", operator_only()),
    Row(
        "edit author A (themselves) as a user",
        "wagtailusers_users:edit",
        operator_only(),
        lambda w: {"pk": w.users["author_a"].pk},
    ),
    Row(
        "make author A a superuser",
        "wagtailusers_users:edit",
        operator_only(ANYONE),
        lambda w: {"pk": w.users["author_a"].pk},
        method="POST",
        data=lambda w: {
            "mobile": w.users["author_a"].mobile,
            "is_superuser": "on",
            "is_active": "on",
        },
    ),
    Row("groups", "wagtailusers_groups:index", operator_only()),
    Row(
        "school A's authors group",
        "wagtailusers_groups:edit",
        operator_only(),
        lambda w: {"pk": _group("school-a authors").pk},
    ),
    Row("collections", "wagtailadmin_collections:index", operator_only()),
    Row("workflows", "wagtailadmin_workflows:index", operator_only()),
    Row(
        "site settings: reward policy",
        "wagtailsettings:edit",
        operator_only(),
        lambda w: {"app_name": "rewards", "model_name": "siterewardpolicy", "pk": _policy().pk},
    ),
    Row(
        "translate school B's draft (operators translate)",
        "wagtail_localize:submit_page_translation",
        roles(DENY, anonymous=ADMIN_LOGIN, operator=OK),
        _page("draft_b"),
        secrets=_b_secrets,
        may_see=("author_b", "operator"),
    ),
]


def _task_state(page):
    from wagtail.models import Page

    return Page.objects.get(pk=page.pk).current_workflow_task_state


def _policy():
    from rewards.models import SiteRewardPolicy

    return SiteRewardPolicy.load()


def _group(name):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)


def _verify_body(w):
    return {"credential": f"urn:uuid:{w.cred1.public_id}"}


def _event(w):
    return {
        "events": [
            {
                "id": "access-trip-1",
                "driver": fx.DRIVER1_PLATFORM_ID,
                "type": "trip",
                "occurred_at": "2026-11-20T10:00:00+08:00",
                "fare_fen": 1000,
            }
        ]
    }


def _award(w):
    return {
        "id": "access-award-1",
        "driver": fx.DRIVER1_PLATFORM_ID,
        "amount_fen": 100,
        "reason": "Thank you for a good month",
    }


def _webhook_id(name):
    return lambda w: {"webhook_id": getattr(w, name).public_id}


def _refused_row(r, w):
    body = r.json()
    return body["accepted"] == 0 and body["refused"] == 1


API_ROWS = [
    Row("API root", "api-v1:api-root", dict.fromkeys(API_ROLES, NOT_FOUND)),
    Row("OpenAPI schema", "api-v1:openapi-json", dict.fromkeys(API_ROLES, OK)),
    Row("API docs", "api-v1:openapi-view", dict.fromkeys(API_ROLES, OK)),
    Row(
        "whoami",
        "api-v1:whoami",
        api(OK),
        checks={
            "platform_x": _json_has("platform-x"),
            "platform_y": _json_lacks("platform-x"),
        },
    ),
    Row("verify", "api-v1:verify", api(OK), method="POST", data=_verify_body),
    Row(
        "driver 1's credentials (consent to X)",
        "api-v1:driver_credentials",
        api(OK, FORBIDDEN),
        lambda w: {"mobile": fx.DRIVER1_MOBILE},
        secrets=lambda w: (w.cred1.number,),
        may_see=("platform_x",),
        checks={"platform_x": lambda r, w: w.cred1.number in r.content.decode()},
    ),
    Row(
        "driver 2's credentials (consent to X withdrawn)",
        "api-v1:driver_credentials",
        api(FORBIDDEN),
        lambda w: {"mobile": fx.DRIVER2_MOBILE},
        secrets=lambda w: (w.cred_b.number,),
        may_see=(),
    ),
    Row(
        "ask to link a driver",
        "api-v1:link_create",
        api(status(201)),
        method="POST",
        data=lambda w: {"mobile": fx.DRIVER2_MOBILE, "driver": "NEW-1"},
    ),
    Row(
        "linked drivers",
        "api-v1:link_list",
        api(OK),
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID,),
        may_see=("platform_x",),
        shown_to=("platform_x",),
    ),
    Row(
        "service events for driver 1 (linked to X only)",
        "api-v1:events_ingest",
        api(OK),
        method="POST",
        data=_event,
        checks={"platform_y": _refused_row},
    ),
    Row(
        "award driver 1 (linked to X only)",
        "api-v1:award_create",
        api(status(201), status(422)),
        method="POST",
        data=_award,
    ),
    Row(
        "awards of a month",
        "api-v1:award_list",
        api(OK),
        query="?month=2026-10",
    ),
    Row(
        "reward totals",
        "api-v1:reward_totals",
        api(OK),
        lambda w: {"month": "2026-10"},
        secrets=lambda w: (fx.DRIVER1_PLATFORM_ID,),
        may_see=("platform_x",),
        shown_to=("platform_x",),
    ),
    Row(
        "subscribe a webhook",
        "api-v1:webhook_create",
        api(status(201)),
        method="POST",
        data=lambda w: {"url": "https://new.example.com/hook", "events": ["credential.issued"]},
    ),
    Row(
        "webhooks",
        "api-v1:webhook_list",
        api(OK),
        checks={
            "platform_x": lambda r, w: (
                fx.SECRET_X_WEBHOOK in r.content.decode()
                and fx.SECRET_Y_WEBHOOK not in r.content.decode()
            ),
            "platform_y": lambda r, w: fx.SECRET_X_WEBHOOK not in r.content.decode(),
        },
    ),
    Row(
        "delete X's webhook",
        "api-v1:webhook_delete",
        api(status(204), NOT_FOUND),
        _webhook_id("webhook_x"),
        method="DELETE",
    ),
    Row(
        "X's webhook deliveries",
        "api-v1:webhook_deliveries",
        api(OK, NOT_FOUND),
        _webhook_id("webhook_x"),
        secrets=lambda w: (fx.SECRET_X_WEBHOOK,),
        may_see=("platform_x",),
    ),
    Row(
        "test X's webhook",
        "api-v1:webhook_test",
        api(status(202), NOT_FOUND),
        _webhook_id("webhook_x"),
        method="POST",
    ),
]

ALL_ROWS = SITE_ROWS + API_ROWS

# --- which URL patterns are Roadwise's ------------------------------------------------------

# Wagtail's own admin and site views, left out of the "every pattern has a row" rule (the rows
# above still cover the places in them where tenants meet).
WAGTAIL_NAMESPACES = ("wagtail",)  # wagtailadmin_*, wagtailimages, wagtail_localize, ...
WAGTAIL_UNNAMED_ROUTES = {"admin/test404/", "admin/^.*/$"}


def _walk(resolver, prefix="", namespaces=()):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = (pattern.namespace,) if pattern.namespace else ()
            yield from _walk(pattern, prefix + str(pattern.pattern), namespaces + namespace)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), ":".join((*namespaces, pattern.name or ""))


def roadwise_patterns() -> dict[str, str]:
    """{namespace:name: route} of every URL pattern that is not Wagtail's own."""
    found = {}
    for route, name in _walk(get_resolver()):
        short = name.rsplit(":", 1)[-1]
        if not short:
            assert route in WAGTAIL_UNNAMED_ROUTES, f"An unnamed URL pattern: {route}"
            continue
        if name.startswith(WAGTAIL_NAMESPACES):
            continue
        found[name] = route
    return found


def test_every_url_pattern_has_a_row():
    patterns = roadwise_patterns()
    covered = {row.name for row in ALL_ROWS}
    missing = sorted(set(patterns) - covered)
    assert not missing, "URL patterns nobody decided about (add rows): " + ", ".join(
        f"{name} ({patterns[name]})" for name in missing
    )
    # The walk sees the i18n patterns, the ninja routes and the admin hooks' URLs.
    assert {"certificates:detail", "api-v1:webhook_test", "rewards_rules:publish"} <= set(patterns)


def test_every_row_names_every_role():
    for row in ALL_ROWS:
        wanted = set(API_ROLES if row.is_api else SITE_ROLES)
        assert set(row.expect) == wanted, (row.id, sorted(wanted ^ set(row.expect)))


# --- running the table ----------------------------------------------------------------------


def _url(row: Row, w) -> str:
    arguments = row.kwargs(w)
    with translation.override(row.language):
        if isinstance(arguments, list):
            url = reverse(row.name, args=arguments)
        else:
            url = reverse(row.name, kwargs=arguments)
    query = row.query
    if row.name == "wagtailadmin_api:pages:listing" and not query:
        query = f"?child_of={w.section_b.pk}"
    if row.name == "course_analytics:index" and row.query == "" and "filtered" in row.id:
        query = f"?organization={w.orgs['school_b'].pk}"
    if row.name.startswith("rewards_totals:") and not query:
        query = f"?month=2026-10&platform={w.orgs['platform_x'].pk}"
    return url + query


def _request(row: Row, w, role: str):
    client = Client(raise_request_exception=True)
    headers = {}
    if row.is_api:
        if role in w.keys or role == "revoked":
            headers["HTTP_AUTHORIZATION"] = f"Bearer {w.keys[role]}"
        elif role == "operator_session":
            client.force_login(w.users["operator"])
    elif role != "anonymous":
        client.force_login(w.users[role])
    data = row.data(w) if row.data else None
    url = _url(row, w)
    method = row.method.lower()
    if row.is_api and data is not None:
        return client.generic(
            row.method, url, json.dumps(data), content_type="application/json", **headers
        )
    if method == "get":
        return client.get(url, **headers)
    if method == "post":
        return client.post(url, data or {}, **headers)
    return client.generic(row.method, url, **headers)


def _check(row: Row, w, role: str) -> str | None:
    """None when `role` gets what the row says; otherwise what went wrong."""
    expected = row.expect[role]
    # Each request in a savepoint, rolled back: a permitted write changes nothing for the
    # next role.
    with transaction.atomic():
        try:
            response = _request(row, w, role)
        except Exception as exc:  # noqa: BLE001 - reported as the row's failure
            transaction.set_rollback(True)
            return f"{role}: raised {exc!r}"
        transaction.set_rollback(True)
    problems = []
    body = b"" if getattr(response, "streaming", False) else response.content
    text = body.decode("utf-8", "replace")
    if "json" in response.get("Content-Type", ""):
        try:  # "\u4e59…" and "\/" would hide a marker from a plain search
            text = json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
    if not expected.check(response):
        said = f" {text[:160]!r}" if response.status_code >= 400 else ""
        problems.append(
            f"got {response.status_code} {_location(response)!s}{said}, expected {expected!r}"
        )
    if role not in row.may_see:
        leaked = [secret for secret in row.secrets(w) if secret in text]
        if leaked:
            problems.append(f"shows {leaked}")
    elif role in row.shown_to and not any(secret in text for secret in row.secrets(w)):
        problems.append(f"shows none of {row.secrets(w)}")
    check = row.checks.get(role)
    if check is not None and not problems and not check(response, w):
        problems.append("the answer's content is wrong")
    return f"{role}: " + "; ".join(problems) if problems else None


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda row: f"{row.name} {row.id}")
def test_access(row, world):
    roles_ = API_ROLES if row.is_api else SITE_ROLES
    failures = [problem for role in roles_ if (problem := _check(row, world, role))]
    assert not failures, f"{row.method} {_url(row, world)}\n" + "\n".join(failures)
