"""Admin: platform staff edit their reward rules, simulate them, and run them.

A platform's staff (users whose organisation is an active platform) manage only their own
platform's rule versions, runs and policy; operators (superusers) manage every platform's,
choosing it with ``?platform=``. Anyone else gets no menu item and a 403; another platform's
version or run is a 404, as if it did not exist. Every change goes through the services in
``rewards.rules`` and ``rewards.policy``; the simulation writes nothing.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from kombu.exceptions import OperationalError
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from cms.models import Organization, User
from rewards import rules
from rewards.admin_forms import (
    MonthForm,
    PlatformChoiceForm,
    PolicyForm,
    RuleVersionForm,
    fen_to_yuan,
    recent_months,
)
from rewards.admin_views import uploading_platform
from rewards.models import DriverLink, PlatformRewardPolicy, RewardRun, RuleVersion
from rewards.policy import effective_policy, platform_policy_update, site_policy
from rewards.tasks import run_rewards

KINDS = (
    RuleVersion.Kind.QUALITY,
    RuleVersion.Kind.SAFETY,
    RuleVersion.Kind.SKILL_ALLOWANCE,
    RuleVersion.Kind.TIER,
)
LINES_PER_PAGE = 100
SIMULATION_ROWS = 500


def is_operator(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def can_manage_rules(user) -> bool:
    return is_operator(user) or uploading_platform(user) is not None


def china_today() -> date:
    return timezone.localdate(timezone.now(), rules.CHINA)


def platforms():
    return Organization.objects.filter(kind=Organization.Kind.PLATFORM).order_by("name", "pk")


def visible_versions(user):
    versions = RuleVersion.objects.select_related("platform", "supersedes")
    if is_operator(user):
        return versions
    platform = uploading_platform(user)
    return versions.filter(platform=platform) if platform else versions.none()


def visible_runs(user):
    runs = RewardRun.objects.select_related("platform")
    if is_operator(user):
        return runs
    platform = uploading_platform(user)
    return runs.filter(platform=platform) if platform else runs.none()


def version_status(version: RuleVersion, in_effect_ids: set[int], today: date) -> tuple[str, str]:
    """(code, label): draft, waiting (published, not yet in effect), in_effect, superseded."""
    if version.published_at is None:
        return "draft", _("Draft")
    if version.effective_from > today:
        return "waiting", _("Published, waiting")
    if version.pk in in_effect_ids:
        return "in_effect", _("In effect")
    return "superseded", _("Superseded")


def amount_summary(version: RuleVersion) -> str:
    """One line saying what a version pays for what, in yuan."""
    params = version.params or {}
    try:
        if version.kind == RuleVersion.Kind.QUALITY:
            return _(
                "¥%(amount)s for at least %(trips)s trips, an average rating of at least "
                "%(rating)s and at most %(complaints)s upheld complaints"
            ) % {
                "amount": fen_to_yuan(version.amount_fen),
                "trips": params["min_trips"],
                "rating": params["min_average_rating"],
                "complaints": params["max_upheld_complaints"],
            }
        if version.kind == RuleVersion.Kind.SAFETY:
            return _(
                "¥%(amount)s for at least %(trips)s trips and at most %(incidents)s safety "
                "incidents"
            ) % {
                "amount": fen_to_yuan(version.amount_fen),
                "trips": params["min_trips"],
                "incidents": params["max_incidents"],
            }
        if version.kind == RuleVersion.Kind.SKILL_ALLOWANCE:
            per_level = params["per_level_fen"]
            return " · ".join(
                _("level %(level)s ¥%(amount)s") % {"level": level, "amount": fen_to_yuan(fen)}
                for level, fen in sorted(per_level.items())
                if fen
            )
        if version.kind == RuleVersion.Kind.TIER:
            return " · ".join(
                _("%(name)s ¥%(amount)s (%(trips)s trips, rating %(rating)s)")
                % {
                    "name": tier["name"],
                    "amount": fen_to_yuan(tier["amount_fen"]),
                    "trips": tier["min_trips"],
                    "rating": tier["min_average_rating"],
                }
                for tier in params["tiers"]
            )
    except (KeyError, TypeError):
        pass
    return "—"


def version_facts(version: RuleVersion) -> list[tuple[str, str]]:
    """A version's parameters as (label, value) rows, for reading (tiers are shown apart)."""
    params = version.params or {}
    facts = []
    if "min_trips" in params:
        facts.append((_("Trips in the month, at least"), params["min_trips"]))
    if "min_average_rating" in params:
        facts.append((_("Average passenger rating, at least"), params["min_average_rating"]))
    if "max_upheld_complaints" in params:
        facts.append(
            (_("Upheld complaints in the month, at most"), params["max_upheld_complaints"])
        )
    if "max_incidents" in params:
        facts.append((_("Safety incidents in the month, at most"), params["max_incidents"]))
    if version.amount_fen:
        facts.append((_("Reward"), f"¥{fen_to_yuan(version.amount_fen)}"))
    for level, fen in sorted((params.get("per_level_fen") or {}).items()):
        if type(fen) is int:
            facts.append(
                (
                    _("Level %(level)s certificate, a month") % {"level": level},
                    f"¥{fen_to_yuan(fen)}",
                )
            )
    return facts


def tier_rows(version: RuleVersion) -> list[dict]:
    rows = []
    for tier in (version.params or {}).get("tiers") or []:
        if isinstance(tier, dict):
            amount = tier.get("amount_fen")
            rows.append({**tier, "amount": fen_to_yuan(amount) if type(amount) is int else "—"})
    return rows


def driver_labels(platform: Organization, driver_ids) -> dict[int, dict]:
    """Per driver: the masked mobile and the platform's own driver id (the latest link's)."""
    labels = {
        user.pk: {"mobile": user.masked_mobile, "platform_id": ""}
        for user in User.objects.filter(pk__in=driver_ids).only("pk", "mobile")
    }
    for driver_id, platform_driver_id in (
        DriverLink.objects.filter(platform=platform, driver_id__in=driver_ids)
        .order_by("driver_id", "linked_at", "pk")
        .values_list("driver_id", "platform_driver_id")
    ):
        labels.setdefault(driver_id, {"mobile": "****", "platform_id": ""})
        labels[driver_id]["platform_id"] = platform_driver_id  # the latest wins
    return labels


class RulesAdminMixin(WagtailAdminTemplateMixin):
    """Access (platform staff or operators), the platform in hand, and the section's links."""

    header_icon = "tasks"
    section_label = gettext_lazy("Reward rules")

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_rules(request.user):
            raise PermissionDenied
        self.operator = is_operator(request.user)
        return super().dispatch(request, *args, **kwargs)

    # --- the platform ---------------------------------------------------------------------

    def chosen_platform(self) -> Organization | None:
        """Staff: their platform. Operators: ``?platform=`` (or the first platform)."""
        if not self.operator:
            return uploading_platform(self.request.user)
        wanted = self.request.GET.get("platform") or self.request.POST.get("platform")
        if wanted:
            try:
                return platforms().get(pk=int(wanted))
            except (ValueError, Organization.DoesNotExist):
                raise Http404(_("No such platform.")) from None
        return platforms().first()

    def platform_query(self, platform: Organization | None) -> str:
        """``?platform=…`` for operators' links (empty for staff: they have one platform)."""
        if self.operator and platform is not None:
            return "?" + urlencode({"platform": platform.pk})
        return ""

    def url(self, name: str, *args, platform=None) -> str:
        return reverse(f"rewards_rules:{name}", args=args) + self.platform_query(platform)

    def get_breadcrumbs_items(self):
        platform = self.chosen_platform() if self.operator else None
        return [
            *self.breadcrumbs_items,
            {
                "url": self.url("index", platform=platform),
                "label": self.section_label,
            },
            *self.extra_breadcrumbs(),
        ]

    def extra_breadcrumbs(self) -> list[dict]:
        return [{"url": "", "label": self.get_page_title()}]

    def section_context(self, platform: Organization | None) -> dict:
        return {
            "platform": platform,
            "operator": self.operator,
            "platform_query": self.platform_query(platform),
            "platform_form": PlatformChoiceForm(
                initial={"platform": platform.pk if platform else None}, queryset=platforms()
            )
            if self.operator
            else None,
            "section_links": [
                (self.url("index", platform=platform), _("Rule versions"), "rules"),
                (self.url("runs", platform=platform), _("Runs"), "runs"),
                (self.url("policy", platform=platform), _("Policy"), "policy"),
            ],
        }


class VersionMixin(RulesAdminMixin):
    """A view of one version: 404 for a version of another platform."""

    def get_version(self) -> RuleVersion:
        return get_object_or_404(visible_versions(self.request.user), pk=self.kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_rules(request.user):
            raise PermissionDenied
        self.version = self.get_version()
        return super().dispatch(request, *args, **kwargs)

    def chosen_platform(self):
        return self.version.platform

    def extra_breadcrumbs(self):
        return [
            {
                "url": reverse("rewards_rules:version", args=[self.version.pk]),
                "label": self.version.name,
            },
            {"url": "", "label": self.get_page_title()},
        ]


# --- rule versions ---------------------------------------------------------------------------


class RuleVersionIndexView(RulesAdminMixin, TemplateView):
    template_name = "rewards/admin/rules/index.html"
    page_title = gettext_lazy("Reward rules")

    def extra_breadcrumbs(self):
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        platform = self.chosen_platform()
        today = china_today()
        groups = []
        if platform is not None:
            versions = list(
                RuleVersion.objects.filter(platform=platform)
                .select_related("supersedes")
                .order_by("kind", "-effective_from", "-pk")
            )
            in_effect = {version.pk for version in rules.applicable_versions(platform, today)}
            by_kind = defaultdict(list)
            for version in versions:
                code, label = version_status(version, in_effect, today)
                by_kind[version.kind].append(
                    {
                        "version": version,
                        "status": code,
                        "status_label": label,
                        "summary": amount_summary(version),
                    }
                )
            groups = [
                {
                    "kind": kind,
                    "label": RuleVersion.Kind(kind).label,
                    "rows": by_kind.get(kind, []),
                    "new_url": self.url("create", kind, platform=platform),
                }
                for kind in KINDS
            ]
        context.update(
            self.section_context(platform),
            groups=groups,
            today=today,
            policy=effective_policy(platform) if platform else None,
            site=site_policy(),
            own_policy=PlatformRewardPolicy.objects.filter(platform=platform).first()
            if platform
            else None,
            settings_url=reverse("wagtailsettings:edit", args=["rewards", "siterewardpolicy"])
            if self.operator
            else None,
            current="rules",
        )
        return context


class RuleVersionDetailView(VersionMixin, TemplateView):
    template_name = "rewards/admin/rules/detail.html"

    def get_page_title(self):
        return self.version.name

    def extra_breadcrumbs(self):
        return [{"url": "", "label": self.version.name}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        version = self.version
        today = china_today()
        in_effect = {v.pk for v in rules.applicable_versions(version.platform, today)}
        code, label = version_status(version, in_effect, today)
        context.update(
            self.section_context(version.platform),
            version=version,
            status=code,
            status_label=label,
            summary=amount_summary(version),
            facts=version_facts(version),
            tiers=tier_rows(version),
            superseded_by=list(version.superseded_by.order_by("-pk")),
            current="rules",
        )
        return context


class RuleVersionFormView(RulesAdminMixin, TemplateView):
    """Create a draft (``kind`` in the URL), edit a draft (``pk``), or a new version
    superseding a published one (``supersede``)."""

    template_name = "rewards/admin/rules/form.html"
    mode = "create"

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_rules(request.user):
            raise PermissionDenied
        self.version = None
        if "pk" in kwargs:
            self.version = get_object_or_404(visible_versions(request.user), pk=kwargs["pk"])
            if self.mode == "edit" and self.version.published_at is not None:
                messages.error(
                    request,
                    _(
                        "“%(name)s” is published and is never changed; create a new version "
                        "that supersedes it."
                    )
                    % {"name": self.version.name},
                )
                return redirect("rewards_rules:version", pk=self.version.pk)
            if self.mode == "supersede" and self.version.published_at is None:
                messages.error(request, _("A draft is edited, not superseded."))
                return redirect("rewards_rules:edit", pk=self.version.pk)
            self.kind = self.version.kind
        else:
            self.kind = kwargs["kind"]
            if self.kind not in RuleVersion.Kind.values:
                raise Http404(_("No such kind of reward rule."))
        return super().dispatch(request, *args, **kwargs)

    def chosen_platform(self):
        if self.version is not None:
            return self.version.platform
        return super().chosen_platform()

    def get_page_title(self):
        kind = RuleVersion.Kind(self.kind).label
        if self.mode == "edit":
            return _("Edit draft: %(name)s") % {"name": self.version.name}
        if self.mode == "supersede":
            return _("New version of %(name)s") % {"name": self.version.name}
        return _("New draft: %(kind)s") % {"kind": kind}

    def extra_breadcrumbs(self):
        items = []
        if self.version is not None:
            items.append(
                {
                    "url": reverse("rewards_rules:version", args=[self.version.pk]),
                    "label": self.version.name,
                }
            )
        return [*items, {"url": "", "label": self.get_page_title()}]

    def build_form(self, platform, data=None):
        default_notice = effective_policy(platform).notice_days
        initial = {}
        if self.version is None:
            initial = {
                "effective_from": rules_first_month_after(china_today(), default_notice),
            }
        elif self.mode == "supersede":
            initial = {
                "effective_from": rules_first_month_after(china_today(), default_notice),
                "notice_days": None,
            }
        return RuleVersionForm(
            data,
            kind=self.kind,
            default_notice_days=default_notice,
            initial_version=self.version,
            initial=initial,
        )

    def get(self, request, *args, **kwargs):
        platform = self.chosen_platform()
        if platform is None:
            raise Http404(_("No platform."))
        self.platform = platform
        self.form = self.build_form(platform)
        return self.render_to_response(self.get_context_data(**kwargs))

    def post(self, request, *args, **kwargs):
        platform = self.chosen_platform()
        if platform is None:
            raise Http404(_("No platform."))
        self.platform = platform
        self.form = form = self.build_form(platform, request.POST)
        if form.is_valid():
            fields = {
                "name": form.cleaned_data["name"].strip(),
                "params": form.params(),
                "amount_fen": form.amount_fen(),
                "effective_from": form.cleaned_data["effective_from"],
                "notice_days": form.notice_days_value(),
            }
            try:
                if self.mode == "edit":
                    version = rules.rule_version_update(
                        version=self.version, actor=request.user, **fields
                    )
                    done = _("The draft “%(name)s” is saved.")
                else:
                    version = rules.rule_version_create(
                        platform=platform,
                        kind=self.kind,
                        created_by=request.user,
                        supersedes=self.version if self.mode == "supersede" else None,
                        **fields,
                    )
                    done = _("The draft “%(name)s” is saved. Drivers see it once it is published.")
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, done % {"name": version.name})
                return redirect("rewards_rules:version", pk=version.pk)
        return self.render_to_response(self.get_context_data(**kwargs))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            self.section_context(self.platform),
            form=self.form,
            kind=self.kind,
            kind_label=RuleVersion.Kind(self.kind).label,
            mode=self.mode,
            version=self.version,
            policy=effective_policy(self.platform),
            current="rules",
            cancel_url=reverse("rewards_rules:version", args=[self.version.pk])
            if self.version
            else self.url("index", platform=self.platform),
        )
        return context


def rules_first_month_after(today: date, notice_days: int) -> date:
    """The first first-of-a-month at least ``notice_days`` after ``today``: a sensible default
    for "effective from"."""
    earliest = today + timedelta(days=notice_days)
    if earliest.day == 1:
        return earliest
    year, month = (
        (earliest.year + 1, 1) if earliest.month == 12 else (earliest.year, earliest.month + 1)
    )
    return date(year, month, 1)


class RuleVersionPublishView(VersionMixin, TemplateView):
    template_name = "rewards/admin/rules/publish.html"

    def get_page_title(self):
        return _("Publish “%(name)s”") % {"name": self.version.name}

    def get(self, request, *args, **kwargs):
        if self.version.published_at is not None:
            messages.info(
                request, _("“%(name)s” is already published.") % {"name": self.version.name}
            )
            return redirect("rewards_rules:version", pk=self.version.pk)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        try:
            version = rules.rule_version_publish(version=self.version, actor=request.user)
        except ValidationError as exc:
            self.version.refresh_from_db()
            return self.render_to_response(self.get_context_data(errors=exc.messages, **kwargs))
        messages.success(
            request,
            _("“%(name)s” is published. It takes effect on %(date)s.")
            % {"name": version.name, "date": version.effective_from.isoformat()},
        )
        return HttpResponseRedirect(self.url("index", platform=version.platform))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            self.section_context(self.version.platform),
            version=self.version,
            summary=amount_summary(self.version),
            current="rules",
        )
        return context


class RuleVersionSimulateView(VersionMixin, TemplateView):
    template_name = "rewards/admin/rules/simulate.html"

    def get_page_title(self):
        return _("Simulate “%(name)s”") % {"name": self.version.name}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        version = self.version
        months = recent_months(china_today())
        form = MonthForm(self.request.GET or {"month": months[0].isoformat()}, months=months)
        rows, error, total_fen, month, paid = [], None, 0, None, set()
        if form.is_valid():
            month = form.cleaned_data["month"]
            try:
                lines = rules.simulate(
                    version=version, period_start=month, period_end=rules.month_end(month)
                )
            except ValidationError as exc:
                lines, error = [], " ".join(exc.messages)
            labels = driver_labels(version.platform, {line["driver_id"] for line in lines})
            for line in lines:
                total_fen += line["amount_fen"]
                paid.add(line["driver_id"])
                rows.append(
                    {
                        "driver": labels.get(line["driver_id"], {}),
                        "amount": fen_to_yuan(line["amount_fen"]),
                        "amount_fen": line["amount_fen"],
                        "currency": line["currency"],
                        "sentence": line["explanation"].get("sentence", ""),
                    }
                )
        context.update(
            self.section_context(version.platform),
            version=version,
            summary=amount_summary(version),
            form=form,
            month=month,
            rows=rows[:SIMULATION_ROWS],
            truncated=len(rows) > SIMULATION_ROWS,
            drivers_paid=len(paid),
            line_count=len(rows),
            total=fen_to_yuan(total_fen),
            error=error,
            current="rules",
        )
        return context


# --- runs ------------------------------------------------------------------------------------


class RunIndexView(RulesAdminMixin, TemplateView):
    template_name = "rewards/admin/rules/runs.html"
    page_title = gettext_lazy("Reward runs")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        platform = self.chosen_platform()
        runs = []
        if platform is not None:
            runs = list(
                RewardRun.objects.filter(platform=platform)
                .annotate(
                    line_count=Count("lines"),
                    total_fen=Sum("lines__amount_fen"),
                    posted_count=Count("lines", filter=Q(lines__transaction__isnull=False)),
                )
                .order_by("-period_start", "-pk")
            )
            for run in runs:
                run.total_yuan = fen_to_yuan(run.total_fen or 0)
        context.update(
            self.section_context(platform),
            runs=runs,
            form=kwargs.get("form") or MonthForm(months=ended_months()),
            current="runs",
        )
        return context


def ended_months() -> list[date]:
    """The last 12 months that have ended (China time)."""
    return recent_months(china_today())


class RunNowView(RulesAdminMixin, TemplateView):
    http_method_names = ["post"]
    page_title = gettext_lazy("Reward runs")

    def post(self, request, *args, **kwargs):
        platform = self.chosen_platform()
        if platform is None:
            raise Http404(_("No platform."))
        back = self.url("runs", platform=platform)
        form = MonthForm(request.POST, months=ended_months())
        if not form.is_valid():
            messages.error(
                request, _("Choose a month that has ended, from the last twelve months.")
            )
            return HttpResponseRedirect(back)
        month = form.cleaned_data["month"]
        if rules.month_end(month) >= china_today():  # belt and braces: the choices are past
            messages.error(request, _("%(month)s has not ended yet.") % {"month": f"{month:%Y-%m}"})
            return HttpResponseRedirect(back)
        label = f"{month:%Y-%m}"
        existing = RewardRun.objects.filter(platform=platform, period_start=month).first()
        if existing is not None and existing.status == RewardRun.Status.FINISHED:
            messages.info(
                request,
                _("The run for %(month)s is already finished; running it again posts nothing.")
                % {"month": label},
            )
            return HttpResponseRedirect(back)
        try:
            run_rewards.delay(platform.pk, month.isoformat())
        except OperationalError:
            messages.error(
                request, _("The task queue cannot be reached; try again in a few minutes.")
            )
            return HttpResponseRedirect(back)
        run = RewardRun.objects.filter(platform=platform, period_start=month).first()
        if run is not None and run.status == RewardRun.Status.FINISHED:
            messages.success(request, _("The run for %(month)s finished.") % {"month": label})
        elif run is not None and run.last_error:
            messages.error(request, run.last_error)
        else:
            messages.success(
                request,
                _("The run for %(month)s has started; this page shows it when it is done.")
                % {"month": label},
            )
        return HttpResponseRedirect(back)


class RunDetailView(RulesAdminMixin, TemplateView):
    template_name = "rewards/admin/rules/run.html"

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_rules(request.user):
            raise PermissionDenied
        self.run = get_object_or_404(visible_runs(request.user), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def chosen_platform(self):
        return self.run.platform

    def get_page_title(self):
        return _("Run for %(month)s") % {"month": f"{self.run.period_start:%Y-%m}"}

    def extra_breadcrumbs(self):
        return [
            {"url": self.url("runs", platform=self.run.platform), "label": _("Reward runs")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.run
        lines = run.lines.select_related("rule_version", "transaction").order_by("pk")
        totals = lines.aggregate(
            count=Count("pk"),
            total=Sum("amount_fen"),
            drivers=Count("driver", distinct=True),
            posted=Count("pk", filter=Q(transaction__isnull=False)),
        )
        page = Paginator(lines, LINES_PER_PAGE).get_page(self.request.GET.get("p"))
        labels = driver_labels(run.platform, {line.driver_id for line in page.object_list})
        rows = [
            {
                "line": line,
                "driver": labels.get(line.driver_id, {}),
                "amount": fen_to_yuan(line.amount_fen),
                "sentence": (line.explanation or {}).get("sentence", ""),
            }
            for line in page.object_list
        ]
        context.update(
            self.section_context(run.platform),
            run=run,
            rows=rows,
            page_obj=page,
            totals=totals,
            total=fen_to_yuan(totals["total"] or 0),
            current="runs",
        )
        return context


# --- policy ----------------------------------------------------------------------------------


class PolicyView(RulesAdminMixin, TemplateView):
    template_name = "rewards/admin/rules/policy.html"
    page_title = gettext_lazy("Rest rules and notice")

    def get(self, request, *args, **kwargs):
        self.platform = self.chosen_platform()
        if self.platform is None:
            raise Http404(_("No platform."))
        own = PlatformRewardPolicy.objects.filter(platform=self.platform).first()
        self.form = PolicyForm(
            initial={
                "daily_cap": own.daily_cap_minutes if own else None,
                "daily_cap_unit": "minutes",
                "notice_days": own.notice_days if own else None,
            }
        )
        return self.render_to_response(self.get_context_data(**kwargs))

    def post(self, request, *args, **kwargs):
        self.platform = self.chosen_platform()
        if self.platform is None:
            raise Http404(_("No platform."))
        self.form = form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                platform_policy_update(
                    platform=self.platform,
                    actor=request.user,
                    daily_cap_minutes=form.cleaned_data["daily_cap_minutes"],
                    notice_days=form.cleaned_data["notice_days"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request,
                    _("%(platform)s’s daily cap and notice are saved.")
                    % {"platform": self.platform.display_name},
                )
                return HttpResponseRedirect(self.url("policy", platform=self.platform))
        return self.render_to_response(self.get_context_data(**kwargs))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            self.section_context(self.platform),
            form=self.form,
            policy=effective_policy(self.platform),
            site=site_policy(),
            settings_url=reverse("wagtailsettings:edit", args=["rewards", "siterewardpolicy"])
            if self.operator
            else None,
            current="policy",
        )
        return context


# --- URLs and the menu -----------------------------------------------------------------------

urlpatterns = [
    path("", RuleVersionIndexView.as_view(), name="index"),
    path("new/<slug:kind>/", RuleVersionFormView.as_view(mode="create"), name="create"),
    path("<int:pk>/", RuleVersionDetailView.as_view(), name="version"),
    path("<int:pk>/edit/", RuleVersionFormView.as_view(mode="edit"), name="edit"),
    path(
        "<int:pk>/new-version/",
        RuleVersionFormView.as_view(mode="supersede"),
        name="new_version",
    ),
    path("<int:pk>/publish/", RuleVersionPublishView.as_view(), name="publish"),
    path("<int:pk>/simulate/", RuleVersionSimulateView.as_view(), name="simulate"),
    path("runs/", RunIndexView.as_view(), name="runs"),
    path("runs/run-now/", RunNowView.as_view(), name="run_now"),
    path("runs/<int:pk>/", RunDetailView.as_view(), name="run"),
    path("policy/", PolicyView.as_view(), name="policy"),
]


class RulesMenuItem(MenuItem):
    def is_shown(self, request):
        return can_manage_rules(request.user)


@hooks.register("register_admin_urls")
def register_rules_admin_urls():
    return [path("reward-rules/", include((urlpatterns, "rewards_rules")))]


@hooks.register("register_admin_menu_item")
def register_rules_menu_item():
    return RulesMenuItem(
        gettext_lazy("Reward rules"),
        reverse("rewards_rules:index"),
        name="reward-rules",
        icon_name="tasks",
        order=375,
    )
