"""The deploy engine: compare files with the ledger, then apply pending migrations safely."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from rally_gitops.deploy.records import Applied, Event, LedgerReader
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import (
    may_be_two_phase,
    may_name_schema,
    touches_schema,
    two_phase,
)

if TYPE_CHECKING:
    from rally_gitops.config import Config
    from rally_gitops.postgres.libpq import Reader


class Status:
    """Where one database stands against the migration files (a plain class: every status and
    deploy builds it at start-up, and a dataclass costs five times as much to create)."""

    def __init__(
        self,
        applied: list[Applied] | None = None,
        pending: list[Migration] | None = None,
        changed: list[tuple[Migration, Applied]] | None = None,
        missing: list[Applied] | None = None,
        out_of_order: list[Migration] | None = None,
        blocked: Event | None = None,
    ) -> None:
        self.applied = applied or []
        self.pending = pending or []
        self.changed = changed or []
        self.missing = missing or []
        self.out_of_order = out_of_order or []
        self.blocked = blocked

    @property
    def clean(self) -> bool:
        """Nothing pending, changed, missing or blocked."""
        return not (self.pending or self.changed or self.missing or self.blocked)


def compare(migrations: list[Migration], applied: dict[str, Applied]) -> Status:
    """Classify every file and every ledger row (pure: no database)."""
    status = Status()
    by_version = {m.version: m for m in migrations}
    newest_applied = max(applied, default="")
    for migration in migrations:
        row = applied.get(migration.version)
        if row is None:
            status.pending.append(migration)
            if migration.version < newest_applied:
                status.out_of_order.append(migration)
        elif row.checksum != migration.checksum or row.name != migration.name:
            status.changed.append((migration, row))  # edited, or renamed (same version)
    for version, row in sorted(applied.items()):
        status.applied.append(row)
        if version not in by_version:
            status.missing.append(row)
    return status


def refuse_unsafe(status: Status, *, allow_out_of_order: bool, env: str) -> None:
    """Raise ``DeployError`` when ledger and files disagree in a way a deploy must not hide."""
    if status.blocked is not None:
        event = status.blocked
        what = "was interrupted" if event.event == "start" else "failed"
        raise DeployError(
            f"{env}: no-transaction migration {event.name} {what} at {event.at:%Y-%m-%d %H:%M} "
            f"({event.actor}) and may have left partial changes; fix the database by hand, then "
            f"run `rally-gitops repair --env {env}`"
        )
    if status.changed:
        names = ", ".join(f"{m.filename}{change(m, row)}" for m, row in status.changed)
        raise DeployError(
            f"{env}: already-applied migration(s) were edited: {names}. Revert the edit (or the "
            "rename) and put the change in a new migration (`rally-gitops new`)."
        )
    if status.missing:
        names = ", ".join(f"{row.name}.sql" for row in status.missing)
        raise DeployError(
            f"{env}: applied migration(s) no longer exist in the repository: {names}. "
            "Restore the file(s); applied migrations are never deleted."
        )
    if status.out_of_order and not allow_out_of_order:
        names = ", ".join(m.filename for m in status.out_of_order)
        raise DeployError(
            f"{env}: pending migration(s) older than the newest applied one: {names}. Rename them "
            "to a newer version, or deploy with --allow-out-of-order."
        )


def change(migration: Migration, row: Applied) -> str:
    """How an applied file changed, for messages: `` (renamed from X.sql)`` or empty (edited)."""
    if row.name != migration.name:
        edited = ", and edited" if row.checksum != migration.checksum else ""
        return f" (renamed from {row.name}.sql{edited})"
    return ""


def refuse_statements(migrations: list[Migration], schema: str) -> None:
    """Raise ``DeployError`` at the first statement a deploy cannot run safely: two-phase commit
    (the ledger row would commit while the migration stays prepared) or anything naming the
    ledger schema (a migration must not change the record of what was applied)."""
    for migration in migrations:
        # a file that can hold neither (nearly all) is passed over at C speed, not statement
        # by statement (a fifth of a deploy's CPU)
        if not (may_be_two_phase(migration.up) or may_name_schema(migration.up, schema)):
            continue
        for statement in migration.statements:
            where = f"{migration.filename}:{statement.line}"
            command = two_phase(statement)
            if command:
                raise DeployError(
                    f"{where}: {command} in a migration: the ledger row would commit while the "
                    "migration's transaction stays prepared; remove it (nothing was applied)"
                )
            if touches_schema(statement, schema):
                raise DeployError(
                    f"{where}: the statement touches the ledger schema {schema}, which only "
                    "rally-gitops may change (`repair`, `baseline`); remove it (nothing was "
                    "applied)"
                )


class LedgerRead(NamedTuple):
    """What ``status`` needs from a database: its applied rows and its blocking event."""

    applied: dict[str, Applied]
    blocked: Event | None


def read_ledger(conn: Reader, config: Config, ledger: LedgerReader | None = None) -> LedgerRead:
    """The ledger of one database (reads only; no ledger is created), through a psycopg
    connection or ``postgres.libpq``'s; needs no migration file (``postgres.db.read_beside``
    runs it while the files are read)."""
    ledger = ledger or LedgerReader(conn, config.ledger_schema)
    return LedgerRead(ledger.applied(), ledger.blocking_event())


def status_of(migrations: list[Migration], read: LedgerRead) -> Status:
    """The status of a database whose ledger ``read`` holds, against ``migrations``."""
    status = compare(migrations, read.applied)
    status.blocked = read.blocked
    return status


def read_status(
    conn: Reader,
    config: Config,
    migrations: list[Migration],
    ledger: LedgerReader | None = None,
) -> Status:
    """The status of one database (reads only; no ledger is created), through a psycopg
    connection or ``postgres.libpq``'s."""
    return status_of(migrations, read_ledger(conn, config, ledger))


def status_lines(
    name: str, where: str, result: Status, migrations: list[Migration]
) -> Iterator[str]:
    """The status of environment ``name`` as shown by ``rally-gitops status``: one line a file."""
    yield (
        f"{where}: {len(result.applied)} applied, {len(result.pending)} pending"
        + (f", {len(result.changed)} changed" if result.changed else "")
        + (f", {len(result.missing)} missing" if result.missing else "")
    )
    changed = {m.version for m, _ in result.changed}
    pending = {m.version for m in result.pending}
    applied = {row.version: row for row in result.applied}
    for migration in migrations:
        if migration.version in changed:
            row = applied[migration.version]
            mark = (
                f"CHANGED  (renamed, applied as {row.name}.sql)"
                if row.name != migration.name
                else "CHANGED  (edited after it was applied)"
            )
        elif migration.version in pending:
            mark = "pending"
        else:
            mark = f"applied  {applied[migration.version].applied_at:%Y-%m-%d %H:%M}"
        yield f"  {mark:<40} {migration.filename}"
    for row in result.missing:
        yield f"  {'MISSING  (applied, file gone)':<40} {row.name}.sql"
    if result.blocked:
        yield (
            f"  BLOCKED  {result.blocked.name} failed outside a transaction: "
            f"run `rally-gitops repair --env {name}` once the database is fixed"
        )
