"""``rally-gitops deploy --env E``: apply pending migrations, each with its ledger row."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rally_gitops.cli import add_env, add_yes, confirm, load_config, load_migrations, out
from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.lock import deploy_lock
from rally_gitops.deploy.status import Applier, Status, read_status, refuse_unsafe
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import Migration
from rally_gitops.postgres.db import Target, connect, resolve

if TYPE_CHECKING:
    import psycopg

# Called with the target and the status once the lock is held and before anything is applied
# (the backup step plugs in here); raising stops the deploy with nothing applied.
BeforeApply = Callable[[Target, Status], None]


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("deploy", help="apply pending migrations to an environment")
    add_env(parser)
    add_yes(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would run; change nothing"
    )
    parser.add_argument(
        "--allow-out-of-order",
        action="store_true",
        help="apply pending migrations older than the newest applied one",
    )
    parser.add_argument(
        "--no-backup",
        action="store_true",
        help="skip the backup before applying (refused for production unless allowed)",
    )
    parser.set_defaults(
        run=lambda a: deploy(
            load_config(a),
            a.env,
            yes=a.yes,
            dry_run=a.dry_run,
            allow_out_of_order=a.allow_out_of_order,
            no_backup=a.no_backup,
        )
    )


def deploy(
    config: Config,
    env: str,
    *,
    yes: bool = False,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    before_apply: BeforeApply | None = None,
    confirm_word: str = "YES",
    no_backup: bool = False,
) -> int:
    """Apply every pending migration of ``env`` in version order; exit 0, or raise on failure.

    A verified backup is the first step once the lock is held (``no_backup`` skips it where
    allowed); a production deploy first passes the promotion guard (staging has it all).
    """
    from rally_gitops.backup.settings import check_no_backup
    from rally_gitops.deploy import promotion

    migrations = load_migrations(config)
    target = resolve(config, env)
    check_no_backup(config, target.env, no_backup)
    with connect(target.url, autocommit=True, purpose="deploy") as conn:
        ledger = Ledger.for_config(conn, config)
        status = read_status(conn, config, migrations, ledger)
        refuse_unsafe(status, allow_out_of_order=allow_out_of_order, env=env)
        for migration in status.pending:
            migration.body()  # a structural error in any pending file stops us before the first
        if not status.pending:
            out(f"{target.label}: up to date ({len(status.applied)} applied), nothing to deploy")
            return 0
        if dry_run:
            print_plan(target, status.pending, with_sql=False)
            out("dry run: nothing was applied")
            return 0
        if target.env.production:
            promotion.check(config, target.env, status.pending)
            confirm(
                f"About to apply {len(status.pending)} migration(s) to {target.label}.",
                confirm_word,
                yes=yes,
            )
        with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
            ledger.ensure()
            # re-read under the lock: a concurrent deploy may have applied some meanwhile
            status = read_status(conn, config, migrations, ledger)
            refuse_unsafe(status, allow_out_of_order=allow_out_of_order, env=env)
            if before_apply is not None and status.pending:
                before_apply(target, status)
            if status.pending:
                promotion.check(config, target.env, status.pending)
                _backup(config, target, no_backup=no_backup)
            return _apply_all(conn, config, target, status.pending)


def _backup(config: Config, target: Target, *, no_backup: bool) -> None:
    if no_backup:  # said here: the backup modules are not worth importing just to say it
        out(f"No backup of {target.env.name} (--no-backup)")
        return
    from rally_gitops.backup import take as backup

    backup.backup_before_change(config, target, no_backup=False, what="deploy")


def _apply_all(
    conn: psycopg.Connection, config: Config, target: Target, pending: list[Migration]
) -> int:
    applier = Applier(conn, config, report=out)
    if not pending:
        out(f"{target.label}: up to date, another deploy applied everything meanwhile")
        return 0
    out(f"Deploying {len(pending)} migration(s) to {target.label}")
    started = time.perf_counter()
    applied: list[Migration] = []

    def on_applied(migration: Migration, elapsed: int) -> None:
        applied.append(migration)
        out(f"  applied {migration.filename} ({elapsed} ms)")

    try:
        applier.apply_all(pending, on_applied)
    except DeployError as exc:  # the failure event it wrote was a synchronous commit
        out(f"  FAILED  {pending[len(applied)].filename}")
        raise DeployError(
            f"{exc}\n{len(applied)} of {len(pending)} migration(s) applied to {target.env.name} "
            "before the failure; they stay applied and recorded."
        ) from None
    except BaseException as exc:  # Ctrl-C: record it, and make the applied ones durable with it
        _record_interruption(applier, exc)
        raise
    total = time.perf_counter() - started
    out(f"Done: {len(applied)} migration(s) applied to {target.env.name} in {total:.2f}s")
    return 0


def _record_interruption(applier: Applier, exc: BaseException) -> None:
    """A failure event, written synchronously: its WAL flush also makes the run's earlier
    commits durable (they may have skipped theirs, see ``Applier.apply_all``)."""
    with contextlib.suppress(Exception):  # the connection may be gone; the server flushes anyway
        applier.ledger.record_event(
            "failure",
            detail=f"deploy interrupted ({type(exc).__name__}); a migration being applied was "
            "rolled back, the ones committed before it are in the applied set",
        )


def print_plan(target: Target, pending: list[Migration], *, with_sql: bool) -> None:
    """List (and optionally show) the migrations a deploy would apply, in order."""
    out(f"{target.label}: {len(pending)} migration(s) would be applied, in this order:")
    for migration in pending:
        mode = " [no-transaction]" if migration.no_transaction else ""
        out(f"  {migration.filename}{mode}  {migration.description}")
        if with_sql:
            for statement in migration.body():
                out(f"    -- line {statement.line}")
                for line in statement.sql.split("\n"):
                    out(f"    {line}")
                out("    ;")
