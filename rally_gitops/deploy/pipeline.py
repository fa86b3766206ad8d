"""The deploy pipeline: status and refusals, then (``deploy.locked``) drift gate → promotion
guard → lock → backup → apply.

One service for ``deploy``, ``release`` and ``workflow``: it reports progress through ``report``
and raises a ``RallyError`` on every failure; the commands parse, prompt and print.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rally_gitops.backup.settings import check_no_backup
from rally_gitops.config import Config
from rally_gitops.deploy.committed import refuse_uncommitted
from rally_gitops.deploy.session import session_options
from rally_gitops.deploy.status import (
    LedgerRead,
    Status,
    read_ledger,
    read_status,
    refuse_statements,
    refuse_unsafe,
    status_of,
)
from rally_gitops.files.migrations import Migration, discover, file_limit
from rally_gitops.postgres.db import Target, beside, connect_reader, from_url, resolve
from rally_gitops.steps import Report

if TYPE_CHECKING:
    from rally_gitops.deploy.records import LedgerReader
    from rally_gitops.postgres.libpq import Reader
    from rally_gitops.schema.drift import Expected

# Asks the user to confirm a production deploy of these pending migrations; raising cancels it
# (nothing applied). Called once, before the lock is taken.
Approve = Callable[[Target, list[Migration]], None]


class Deployed:
    """What one run of the pipeline did (failures raise instead)."""

    def __init__(
        self,
        target: Target,
        pending: list[Migration] | None = None,
        applied: list[Migration] | None = None,
        dry_run: bool = False,
    ) -> None:
        self.target = target
        self.pending = pending or []
        self.applied = applied or []
        self.dry_run = dry_run


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

    def read() -> tuple[Target, LedgerRead]:
        target = resolve(config, env)
        check_no_backup(config, target.env, no_backup)
        options = session_options(config)
        # the refusals and "nothing to deploy" need three reads: through libpq directly, so
        # that a deploy with nothing pending never imports psycopg (docs/engine.md, "Start-up")
        with connect_reader(target.url, purpose="deploy", options=options) as reader:
            return target, read_ledger(reader, config)

    # a database given by its URL is logged into and read while the files are read
    early = beside(read) if from_url(config, env) else None
    migrations = discover(config.migrations_dir, file_limit(config))
    target, ledger = early() if early is not None else read()
    status = status_of(migrations, ledger)
    expected = (
        _replay_ahead(config, target, ledger, migrations)
        if status.pending and not dry_run
        else None
    )
    status = refused(status, config, target, allow_out_of_order=allow_out_of_order, report=report)
    result = Deployed(target, pending=list(status.pending), dry_run=dry_run)
    if not status.pending:
        report(f"{target.label}: up to date ({len(status.applied)} applied), nothing to deploy")
        return result
    if dry_run:
        for line in plan_lines(target, status.pending, with_sql=False):
            report(line)
        report("dry run: nothing was applied")
        return result
    # the rest (drift, promotion guard, lock, backup, apply) only when there is work: its
    # modules (schema introspection, pg_dump, the engine, psycopg) are not loaded otherwise
    from rally_gitops.deploy.locked import deploy_locked

    result.pending, result.applied = deploy_locked(
        config,
        target,
        migrations,
        status,
        report=report,
        approve=approve,
        allow_out_of_order=allow_out_of_order,
        no_backup=no_backup,
        expected=expected,
    )
    return result


def _replay_ahead(
    config: Config, target: Target, ledger: LedgerRead, files: list[Migration]
) -> Expected | None:
    """Start replaying, in the background, the schema the drift check before the deploy
    compares with (what the ledger records now). The replay server's start and its template
    (0.3-0.9 s, even with every template cached) then overlap the refusals, the imports and the
    login. (Started here too, the replay for the check after the deploy waited for this one's
    turn at the replay server: ``deploy_locked`` starts it once this one is used.)"""
    from rally_gitops.schema import drift  # only when there is work: see deploy_locked's import

    return drift.expect(config, target, ledger.applied, [], files)


def checked_status(
    conn: Reader,
    config: Config,
    target: Target,
    migrations: list[Migration],
    ledger: LedgerReader | None = None,
    *,
    allow_out_of_order: bool,
    report: Report,
) -> Status:
    """The status of ``target`` once every refusal of a deploy has passed (ledger and files
    agree, every pending file splits, no forbidden statement, committed where required); read
    through a psycopg connection or ``postgres.libpq``'s."""
    status = read_status(conn, config, migrations, ledger)
    return refused(status, config, target, allow_out_of_order=allow_out_of_order, report=report)


def refused(
    status: Status, config: Config, target: Target, *, allow_out_of_order: bool, report: Report
) -> Status:
    """``status`` once every refusal of a deploy has passed (see ``checked_status``)."""
    refuse_unsafe(status, allow_out_of_order=allow_out_of_order, env=target.env.name)
    for migration in status.pending:
        migration.body()  # a structural error in any pending file stops us before the first
    refuse_statements(status.pending, config.ledger_schema)
    note = refuse_uncommitted(config, target.env, status.pending)
    if note:
        report(note)
    return status


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
