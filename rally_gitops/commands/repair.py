"""``rally-gitops repair --env E``: clear a failed no-transaction migration once it is fixed."""

from __future__ import annotations

import argparse

from rally_gitops.cli import add_env, add_yes, confirm, load_config, load_migrations, out
from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.lock import deploy_lock
from rally_gitops.errors import DeployError
from rally_gitops.postgres.db import connect, resolve


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("repair", help="clear a failed no-transaction migration")
    add_env(parser)
    add_yes(parser)
    parser.add_argument(
        "--mark-applied",
        action="store_true",
        help="you finished the migration by hand: record it as applied (default: it runs again)",
    )
    parser.set_defaults(
        run=lambda a: repair(load_config(a), a.env, mark_applied=a.mark_applied, yes=a.yes)
    )


def repair(config: Config, env: str, *, mark_applied: bool = False, yes: bool = False) -> int:
    """Record a ``repair`` event that lifts the block; optionally mark the migration applied."""
    migrations = {m.version: m for m in load_migrations(config)}
    target = resolve(config, env)
    with connect(target.url, autocommit=True, purpose="repair") as conn:
        with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
            ledger = Ledger.for_config(conn, config)
            blocked = ledger.blocking_event()
            if blocked is None:
                out(f"{target.label}: nothing to repair")
                return 0
            if target.env.production:
                confirm(
                    f"Clear the failed state of {blocked.name} on {target.label}.", "YES", yes=yes
                )
            migration = migrations.get(blocked.version or "")
            if mark_applied and migration is None:
                raise DeployError(f"{blocked.name}: no such migration file to record as applied")
            with conn.transaction():
                action = "marked as applied" if mark_applied else "will run again on next deploy"
                ledger.record_event(
                    "repair",
                    version=blocked.version,
                    name=blocked.name,
                    detail=f"cleared failed state; {action}",
                )
                if mark_applied and migration is not None:
                    ledger.record_applied(migration, 0, event="repair")
    out(f"{target.label}: repaired {blocked.name} ({action})")
    return 0
