"""The deploy once there is something to apply: drift gate, promotion guard, the lock, the
re-read under it, the verified backup, the engine.

``pipeline.deploy_pending`` imports this module only when migrations are pending: schema
introspection, pg_dump, the engine and psycopg cost a deploy with nothing to do ~0.1 s.
"""

from __future__ import annotations

import contextlib
import time
from functools import partial
from typing import TYPE_CHECKING

from rally_gitops.backup.take import backup_before_change
from rally_gitops.config import Config, command_line
from rally_gitops.deploy import promotion
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.failure import OutcomeUnknown
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.lock import deploy_lock, lock_key
from rally_gitops.deploy.session import session_options
from rally_gitops.deploy.status import Status, read_status, refuse_unsafe
from rally_gitops.errors import DeployError, Interrupted
from rally_gitops.files.migrations import Migration
from rally_gitops.postgres.db import Target, connect
from rally_gitops.schema import drift
from rally_gitops.steps import Report

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg


def deploy_locked(
    config: Config,
    target: Target,
    migrations: list[Migration],
    status: Status,
    *,
    report: Report,
    approve: Callable[[Target, list[Migration]], None] | None,
    allow_out_of_order: bool,
    no_backup: bool,
    expected: drift.Expected | None = None,
) -> tuple[list[Migration], list[Migration]]:
    """Apply what is pending (``status`` was read and passed the refusals without the lock);
    return (the migrations pending under the lock, those applied). Raises ``RallyError``.

    ``expected``: the schema the drift check before the deploy compares with, being replayed
    since ``status`` was read (``pipeline.deploy_pending``). The one the check after it
    compares with is replayed while the deploy backs up and applies. Each is used when the
    ledger records exactly its versions at the check, and replayed anew otherwise."""
    options = session_options(config)
    # one login for the deploy and both drift checks (each was a login of its own)
    with connect(target.url, autocommit=True, purpose="deploy", options=options) as conn:
        check = partial(drift.gate, config, target, report=report, conn=conn, files=migrations)
        check(when="before the deploy", expected=expected)
        if target.env.production:
            promotion.check(config, target.env, status.pending)
            if approve is not None:
                approve(target, status.pending)
        ledger = Ledger.for_config(conn, config)
        with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
            ledger.ensure()
            # re-read under the lock: a concurrent deploy may have applied some meanwhile
            status = read_status(conn, config, migrations, ledger)
            refuse_unsafe(status, allow_out_of_order=allow_out_of_order, env=target.env.name)
            pending = list(status.pending)
            ahead = None
            if status.pending:
                promotion.check(config, target.env, status.pending)
                ledger_now = {row.version: row for row in status.applied}
                ahead = drift.expect(config, target, ledger_now, pending, migrations)
                _backup(config, target, no_backup=no_backup, report=report)
            applied = _apply_all(conn, config, target, status.pending, report)
        if applied:  # the seed's "validate the deployment"
            check(when="after the deploy", expected=ahead)
    return pending, applied


def _backup(config: Config, target: Target, *, no_backup: bool, report: Report) -> None:
    backup_before_change(config, target, no_backup=no_backup, what="deploy", report=report)


def _apply_all(
    conn: psycopg.Connection,
    config: Config,
    target: Target,
    pending: list[Migration],
    report: Report,
) -> list[Migration]:
    applier = Applier(conn, config, report=report, lock=lock_key(config.ledger_schema))
    if not pending:
        report(f"{target.label}: up to date, another deploy applied everything meanwhile")
        return []
    report(f"Deploying {len(pending)} migration(s) to {target.label}")
    started = time.perf_counter()
    applied: list[Migration] = []

    def on_applied(migration: Migration, elapsed: int) -> None:
        applied.append(migration)
        report(f"  applied {migration.filename} ({elapsed} ms)")

    try:
        applier.apply_all(pending, on_applied)
    except OutcomeUnknown as exc:  # no failure event: the connection is gone
        report(f"  UNKNOWN {exc.migrations[0].filename}")
        raise DeployError(
            f"{exc}\nrun `rally-gitops status --env {target.env.name}` to see whether it is "
            f"applied; the {len(applied)} migration(s) before it are applied and recorded"
        ) from None
    except DeployError as exc:  # the failure event it wrote was a synchronous commit
        report(f"  FAILED  {pending[len(applied)].filename}")
        before = (
            f"{len(applied)} of {len(pending)} migration(s) applied to {target.env.name} before "
            "the failure; they stay applied and recorded"
            if applied
            else f"nothing was applied to {target.env.name}"
        )
        raise DeployError(f"{exc}\n{before}") from None
    except BaseException as exc:  # Ctrl-C: record it, and make the applied ones durable with it
        _record_interruption(applier, exc)
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(_interrupted(config, target, pending[len(applied)])) from None
        raise
    total = time.perf_counter() - started
    report(f"Done: {len(applied)} migration(s) applied to {target.env.name} in {total:.2f}s")
    return applied


def _interrupted(config: Config, target: Target, running: Migration) -> str:
    """What Ctrl-C left: the transaction in progress rolled back, or a no-transaction file."""
    status = command_line(config, "status", "--env", target.env.name)
    if running.no_transaction:
        return (
            f"interrupted at the no-transaction migration {running.filename}: the statements it "
            f"ran stay applied; `{status}` shows whether it is BLOCKED (then fix the database "
            "and run repair)"
        )
    return (
        "interrupted: the migration in progress was rolled back; the ones committed before it "
        f"stay applied (`{status}` lists them)"
    )


def _record_interruption(applier: Applier, exc: BaseException) -> None:
    """A failure event, written synchronously: its WAL flush also makes the run's earlier
    commits durable (they may have skipped theirs, see ``Applier.apply_all``)."""
    with contextlib.suppress(Exception):  # the connection may be gone; the server flushes anyway
        applier.ledger.record_event(
            "failure",
            detail=f"deploy interrupted ({type(exc).__name__}); a migration being applied was "
            "rolled back, the ones committed before it are in the applied set",
        )
