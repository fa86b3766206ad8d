"""Migrations recorded as applied without running them: ``baseline`` (a database that already
has them) and ``workflow`` (local, where the developer made the change that ``generate`` wrote)."""

from __future__ import annotations

from collections.abc import Sequence

from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.lock import deploy_lock
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import Migration
from rally_gitops.postgres.db import Target, connect


def record_without_running(
    config: Config, target: Target, migrations: Sequence[Migration], *, fresh_only: bool = False
) -> None:
    """Record ``migrations`` in ``target``'s ledger as applied (event ``baseline``), all in one
    transaction under the deploy lock; ``fresh_only``: refuse when the ledger records anything
    (a baseline is for a database the tool has never deployed to)."""
    with connect(target.url, autocommit=True, purpose="baseline") as conn:
        with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
            ledger = Ledger.for_config(conn, config)
            ledger.ensure()
            if fresh_only and ledger.applied():
                raise DeployError(
                    f"{target.label} already has applied migrations; "
                    "baseline is only for a database the tool has never deployed to"
                )
            with conn.transaction():
                for migration in migrations:
                    ledger.record_applied(migration, 0, event="baseline")
