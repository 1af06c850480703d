from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = _("Rewards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Money through Stripe: Checkout payments into the ledger (signal receivers), and the
        # webhook handlers of drivers' payouts (registered when rewards.payouts is imported).
        from rewards import payments_ledger, payouts  # noqa: F401

        payments_ledger.connect_receivers()
