"""Rewards: service events, reward rules and runs, the ledger, statements and payouts (issue 5)."""
