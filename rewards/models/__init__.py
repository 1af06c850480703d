"""The rewards app's models: service data, rules and runs, the ledger, awards and disputes,
the rest-rule policies, and payouts through Stripe."""

from .disputes import Award, Dispute
from .events import DriverLink, LinkRequest, ServiceEvent
from .ledger import Account, AccountSlice, Entry, Transaction
from .payouts import Payout, PayoutAccount, UnpostedRefund
from .policy import PlatformRewardPolicy, SiteRewardPolicy
from .rules import RewardLine, RewardRun, RuleVersion

__all__ = [
    "Account",
    "AccountSlice",
    "Award",
    "Dispute",
    "DriverLink",
    "Entry",
    "LinkRequest",
    "Payout",
    "PayoutAccount",
    "PlatformRewardPolicy",
    "RewardLine",
    "RewardRun",
    "RuleVersion",
    "ServiceEvent",
    "SiteRewardPolicy",
    "Transaction",
    "UnpostedRefund",
]
