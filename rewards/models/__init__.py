"""The rewards app's models: the double-entry ledger, and platforms' service data."""

from .events import DriverLink, LinkRequest, ServiceEvent
from .ledger import Account, Entry, Transaction
from .rules import RewardLine, RewardRun, RuleVersion

__all__ = [
    "Account",
    "DriverLink",
    "Entry",
    "LinkRequest",
    "RewardLine",
    "RewardRun",
    "RuleVersion",
    "ServiceEvent",
    "Transaction",
]
