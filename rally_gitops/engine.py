"""The deploy engine: compare files with the ledger, then apply pending migrations safely."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rally_gitops.errors import DeployError
from rally_gitops.ledger import Applied, Event, Ledger
from rally_gitops.migrations import Migration, Statement

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.config import Config

LOCK_NOT_AVAILABLE = "55P03"
Report = Callable[[str], None]


@dataclass
class Status:
    """Where one database stands against the migration files."""

    applied: list[Applied] = field(default_factory=list)
    pending: list[Migration] = field(default_factory=list)
    changed: list[tuple[Migration, Applied]] = field(default_factory=list)
    missing: list[Applied] = field(default_factory=list)
    out_of_order: list[Migration] = field(default_factory=list)
    blocked: Event | None = None

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
        elif row.checksum != migration.checksum:
            status.changed.append((migration, row))
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
        names = ", ".join(m.filename for m, _ in status.changed)
        raise DeployError(
            f"{env}: already-applied migration(s) were edited: {names}. Revert the edit and put "
            "the change in a new migration (`rally-gitops new`)."
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


def read_status(conn: psycopg.Connection, config: Config, migrations: list[Migration]) -> Status:
    """The status of one database (reads only; no ledger is created)."""
    ledger = Ledger(conn, config.ledger_schema)
    status = compare(migrations, ledger.applied())
    status.blocked = ledger.blocking_event()
    return status


@dataclass(frozen=True)
class Applier:
    """Applies migrations through one autocommit connection that holds the deploy lock."""

    conn: psycopg.Connection
    config: Config
    report: Report
    sleep: Callable[[float], None] = time.sleep

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.conn, self.config.ledger_schema)

    def apply(self, migration: Migration) -> int:
        """Apply one migration with its ledger row; return milliseconds. Raise on failure."""
        body = migration.body()
        if migration.no_transaction:
            return self._apply_outside_transaction(migration, body)
        attempt = 0
        while True:
            try:
                return self._apply_in_transaction(migration, body)
            except _LockTimeout as exc:
                attempt += 1
                if attempt > self.config.lock_retries:
                    self._failed(migration, exc.error, exc.statement, blocking=False)
                delay = 2 ** (attempt - 1)
                self.report(
                    f"  lock timeout in {migration.filename} ({self.config.lock_timeout}); "
                    f"retry {attempt}/{self.config.lock_retries} in {delay}s"
                )
                self.sleep(delay)

    def _apply_in_transaction(self, migration: Migration, body: tuple[Statement, ...]) -> int:
        import psycopg

        started = time.perf_counter()
        cursors: list[psycopg.Cursor[Any]] = []
        try:
            with self.conn.transaction():
                # A pipeline sends the settings and every statement in one round trip, yet each
                # statement on its own: a failure names its statement exactly (the ones after it
                # are skipped, and nothing has to be run again to find it).
                with self.conn.pipeline():
                    self.conn.execute(
                        "SELECT set_config('lock_timeout', %s, true),"
                        " set_config('statement_timeout', %s, true)",
                        (self.config.lock_timeout, self.config.statement_timeout),
                    )
                    for statement in body:
                        cursors.append(self.conn.execute(statement.sql, prepare=False))
                elapsed = int((time.perf_counter() - started) * 1000)
                self.ledger.record_applied(migration, elapsed)
        except psycopg.Error as error:
            failed = _failed_statement(body, cursors, error)
            if error.sqlstate == LOCK_NOT_AVAILABLE:
                raise _LockTimeout(error, failed) from None
            self._failed(migration, error, failed, blocking=False)
        return elapsed

    def _apply_outside_transaction(self, migration: Migration, body: tuple[Statement, ...]) -> int:
        import psycopg

        self.ledger.record_event("start", migration=migration, blocking=True)
        self.conn.execute(self._timeouts(local=False))
        started = time.perf_counter()
        for statement in body:
            try:
                self.conn.execute(statement.sql)
            except psycopg.Error as error:
                self._failed(migration, error, _at(statement, error), blocking=True)
        elapsed = int((time.perf_counter() - started) * 1000)
        with self.conn.transaction():
            self.ledger.record_applied(migration, elapsed)
        self.conn.execute("RESET lock_timeout; RESET statement_timeout")
        return elapsed

    def _timeouts(self, *, local: bool) -> str:
        scope = "LOCAL " if local else ""
        return (
            f"SET {scope}lock_timeout = '{self.config.lock_timeout}'; "
            f"SET {scope}statement_timeout = '{self.config.statement_timeout}'"
        )

    def _failed(
        self, migration: Migration, error: Exception, statement: Statement, *, blocking: bool
    ) -> None:
        from rally_gitops.db import describe

        message = _pg_message(error) or describe(error)
        where = f"{migration.filename}:{statement.line}"
        detail = f"line {statement.line}: {message}"
        try:
            self.ledger.record_event(
                "failure", migration=migration, detail=detail, blocking=blocking
            )
        except Exception:  # noqa: BLE001 - the connection may be gone; the error below says enough
            pass
        if blocking:
            raise DeployError(
                f"{where}: {message}\n  {migration.filename} runs outside a transaction, so the "
                "statements before this one stay applied. Fix the database by hand (finish or undo "
                "them), then run `rally-gitops repair` before deploying again."
            )
        raise DeployError(f"{where}: {message} (the migration was rolled back)")


class _LockTimeout(Exception):
    def __init__(self, error: Exception, statement: Statement) -> None:
        super().__init__(str(error))
        self.error = error
        self.statement = statement


def _failed_statement(
    body: tuple[Statement, ...], cursors: list[Any], error: Exception
) -> Statement:
    """The statement that failed: the first one without a result (those after it were skipped).

    When every statement has its result, the ledger row or the COMMIT failed (a deferred
    constraint, say): that is reported at the migration's last statement.
    """
    for statement, cursor in zip(body, cursors, strict=False):
        if cursor.pgresult is None:
            return _at(statement, error)
    if len(cursors) < len(body):  # raised while the statements were still being sent
        return _at(body[len(cursors)], error)
    return body[-1] if body else Statement("", 1, 1, 0)


def _at(statement: Statement, error: Exception) -> Statement:
    """``statement`` moved to the line of the error token (the server's position is counted in
    characters from the start of the statement, which was sent on its own)."""
    position = getattr(getattr(error, "diag", None), "statement_position", None)
    if not position or int(position) <= 1:
        return statement
    inner = statement.sql.count("\n", 0, int(position) - 1)
    return replace(statement, line=statement.line + inner)


def _pg_message(error: Exception) -> str:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        return ""
    state = getattr(error, "sqlstate", None)
    detail = getattr(diag, "message_detail", None)
    text = (
        f"{primary}"
        + (f" ({detail})" if detail else "")
        + (f" [SQLSTATE {state}]" if state else "")
    )
    return " ".join(text.split())
