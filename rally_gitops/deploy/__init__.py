"""The deploy engine: status against the ledger, the refusals, applier, ledger, lock, rollback."""
