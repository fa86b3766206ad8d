"""The deploy pipeline: status and refusals, then lock → promotion guard → backup → apply.

One service for ``deploy``, ``release`` and ``workflow``: it reports progress through ``report``
and raises a ``RallyError`` on every failure; the commands parse, prompt and print.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rally_gitops.backup.settings import check_no_backup
from rally_gitops.backup.take import backup_before_change
from rally_gitops.config import Config, command_line
from rally_gitops.deploy import promotion
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.committed import refuse_uncommitted
from rally_gitops.deploy.failure import OutcomeUnknown
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.lock import deploy_lock, lock_key
from rally_gitops.deploy.session import session_options
from rally_gitops.deploy.status import Status, read_status, refuse_statements, refuse_unsafe
from rally_gitops.errors import DeployError, Interrupted
from rally_gitops.files.migrations import Migration, discover, file_limit
from rally_gitops.postgres.db import Target, connect, resolve
from rally_gitops.schema import drift
from rally_gitops.steps import Report

if TYPE_CHECKING:
    import psycopg

# Asks the user to confirm a production deploy of these pending migrations; raising cancels it
# (nothing applied). Called once, before the lock is taken.
Approve = Callable[[Target, list[Migration]], None]


@dataclass
class Deployed:
    """What one run of the pipeline did (failures raise instead)."""

    target: Target
    pending: list[Migration] = field(default_factory=list)
    applied: list[Migration] = field(default_factory=list)
    dry_run: bool = False


def deploy_pending(
    config: Config,
    env: str,
    *,
    report: Report,
    approve: Approve | None,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    no_backup: bool = False,
) -> Deployed:
    """Apply every pending migration of ``env`` in version order; raise ``RallyError`` on failure.

    A verified backup is the first step once the lock is held (``no_backup`` skips it where
    allowed); a production deploy first passes the promotion guard (staging has it all) and then
    ``approve`` (``None``: the caller has already asked the user for the whole operation).
    """
    migrations = discover(config.migrations_dir, file_limit(config))
    target = resolve(config, env)
    check_no_backup(config, target.env, no_backup)
    options = session_options(config)
    with connect(target.url, autocommit=True, purpose="deploy", options=options) as conn:
        ledger = Ledger.for_config(conn, config)
        status = checked_status(
            conn, config, target, migrations, ledger,
            allow_out_of_order=allow_out_of_order, report=report,
        )  # fmt: skip
        result = Deployed(target, pending=list(status.pending), dry_run=dry_run)
        if not status.pending:
            report(f"{target.label}: up to date ({len(status.applied)} applied), nothing to deploy")
            return result
        if dry_run:
            for line in plan_lines(target, status.pending, with_sql=False):
                report(line)
            report("dry run: nothing was applied")
            return result
        drift.gate(config, target, report=report, when="before the deploy")
        if target.env.production:
            promotion.check(config, target.env, status.pending)
            if approve is not None:
                approve(target, status.pending)
        with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
            ledger.ensure()
            # re-read under the lock: a concurrent deploy may have applied some meanwhile
            status = read_status(conn, config, migrations, ledger)
            refuse_unsafe(status, allow_out_of_order=allow_out_of_order, env=env)
            result.pending = list(status.pending)
            if status.pending:
                promotion.check(config, target.env, status.pending)
                _backup(config, target, no_backup=no_backup, report=report)
            result.applied = _apply_all(conn, config, target, status.pending, report)
    if result.applied:  # the seed's "validate the deployment"
        drift.gate(config, target, report=report, when="after the deploy")
    return result


def checked_status(
    conn: psycopg.Connection,
    config: Config,
    target: Target,
    migrations: list[Migration],
    ledger: Ledger,
    *,
    allow_out_of_order: bool,
    report: Report,
) -> Status:
    """The status of ``target`` once every refusal of a deploy has passed (ledger and files
    agree, every pending file splits, no forbidden statement, committed where required)."""
    status = read_status(conn, config, migrations, ledger)
    refuse_unsafe(status, allow_out_of_order=allow_out_of_order, env=target.env.name)
    for migration in status.pending:
        migration.body()  # a structural error in any pending file stops us before the first
    refuse_statements(status.pending, config.ledger_schema)
    note = refuse_uncommitted(config, target.env, status.pending)
    if note:
        report(note)
    return status


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


def plan_lines(target: Target, pending: list[Migration], *, with_sql: bool) -> Iterator[str]:
    """The migrations a deploy would apply, in order (and optionally their statements)."""
    yield f"{target.label}: {len(pending)} migration(s) would be applied, in this order:"
    for migration in pending:
        mode = " [no-transaction]" if migration.no_transaction else ""
        yield f"  {migration.filename}{mode}  {migration.description}"
        if with_sql:
            for statement in migration.body():
                yield f"    -- line {statement.line}"
                for line in statement.sql.split("\n"):
                    yield f"    {line}"
                yield "    ;"
