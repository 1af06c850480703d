"""The rewards app's models: service data, rules and runs, the ledger, awards and disputes,
and the rest-rule policies."""

from .disputes import Award, Dispute
from .events import DriverLink, LinkRequest, ServiceEvent
from .ledger import Account, Entry, Transaction
from .policy import PlatformRewardPolicy, SiteRewardPolicy
from .rules import RewardLine, RewardRun, RuleVersion

__all__ = [
    "Account",
    "Award",
    "Dispute",
    "DriverLink",
    "Entry",
    "LinkRequest",
    "PlatformRewardPolicy",
    "RewardLine",
    "RewardRun",
    "RuleVersion",
    "ServiceEvent",
    "SiteRewardPolicy",
    "Transaction",
]
