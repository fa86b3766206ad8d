"""Applying migrations: each in its own transaction with its ledger row, several per round trip.

See docs/engine.md for what goes to the server and when it is durable.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rally_gitops.deploy.ledger import Ledger
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import Statement
from rally_gitops.postgres.db import describe
from rally_gitops.steps import Report

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.config import Config

LOCK_NOT_AVAILABLE = "55P03"
OnApplied = Callable[[Migration, int], None]  # (migration, execution_ms) once committed
# a batch grows (doubling up to MAX_BATCH) while batches take less than BATCH_SECONDS
MAX_BATCH = 32
BATCH_SECONDS = 0.25
# (start, finish, undo) of a migration's transaction, on an idle or a busy connection
_TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK")
_SAVEPOINT = (
    "SAVEPOINT rally_gitops_migration",
    "RELEASE SAVEPOINT rally_gitops_migration",
    "ROLLBACK TO SAVEPOINT rally_gitops_migration",
)
_SETTINGS = "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)"
# every commit of a run but the last: the last one's WAL flush makes them all durable
_SETTINGS_ASYNC = _SETTINGS + ", set_config('synchronous_commit', 'off', true)"
_SESSION_SETTINGS = _SETTINGS.replace("true", "false")  # a no-transaction migration's session


@dataclass(frozen=True)
class Applier:
    """Applies migrations through one autocommit connection that holds the deploy lock.

    Transactional migrations go out in batches, one pipeline and one round trip per batch: per
    migration BEGIN, the timeouts, every statement, the ledger row and COMMIT (docs/engine.md).
    """

    conn: psycopg.Connection
    config: Config
    report: Report
    sleep: Callable[[float], None] = time.sleep

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger.for_config(self.conn, self.config)

    def apply(self, migration: Migration) -> int:
        """Apply one migration with its ledger row; return milliseconds. Raise on failure."""
        applied: list[int] = []
        self.apply_all([migration], lambda _m, ms: applied.append(ms))
        return applied[0]

    def apply_all(self, pending: list[Migration], on_applied: OnApplied) -> None:
        """Apply ``pending`` in order, calling ``on_applied(migration, ms)`` after each commit.

        Raise at the first failure, the migrations before it staying applied. Consecutive
        transactional migrations share a pipeline (each still its own transaction), so that the
        server runs one while the client sends the next; the batch grows while batches are quick,
        so that progress still shows promptly (docs/engine.md).

        Unless ``synchronous_commit_each``, every commit but the last skips its WAL flush: each
        migration still commits atomically with its ledger row, and the last commit's flush
        makes the earlier ones durable too, as commits reach the disk in order.
        """
        index, size, attempt = 0, 1, 0
        while index < len(pending):
            if pending[index].no_transaction:
                on_applied(pending[index], self._apply_outside_transaction(pending[index]))
                index += 1
                continue
            batch: list[Migration] = []
            for migration in pending[index : index + size]:
                if migration.no_transaction:
                    break
                batch.append(migration)
            lazy = not self.config.synchronous_commit_each
            flags = [lazy and index + i < len(pending) - 1 for i in range(len(batch))]
            started = time.monotonic()
            done, failure = self._apply_batch(batch, flags, on_applied)
            index += done
            if failure is None:
                quick = time.monotonic() - started < BATCH_SECONDS
                size, attempt = (min(size * 2, MAX_BATCH) if quick else 1), 0
                continue
            migration, error, statement = failure
            attempt = 1 if done else attempt + 1
            lock_timeout = getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE
            if not lock_timeout or attempt > self.config.lock_retries:
                self._failed(migration, error, statement, blocking=False)
            delay = 2 ** (attempt - 1)
            self.report(
                f"  lock timeout in {migration.filename} ({self.config.lock_timeout}); "
                f"retry {attempt}/{self.config.lock_retries} in {delay}s"
            )
            self.sleep(delay)
            size = 1

    def _apply_batch(
        self, batch: list[Migration], asynchronous: list[bool], on_applied: OnApplied
    ) -> tuple[int, tuple[Migration, Exception, Statement] | None]:
        """One pipeline, one round trip: per migration BEGIN, its timeouts, every statement on
        its own, the ledger row and COMMIT. Calls ``on_applied`` for each migration committed
        (also when interrupted); returns their number and the failure (migration, error,
        statement) that stopped the rest, if any.

        After an error the server skips everything up to the pipeline's sync, the failed
        migration's COMMIT and the later migrations included: the first statement without a
        result is the one that failed, found without running anything again.
        """
        import psycopg

        conn = self.conn
        begin, end, undo = self._transaction_commands()
        # split before sending: a broken file must not interrupt a half-sent pipeline
        sent = [_Sent(migration, migration.body()) for migration in batch]
        try:
            with conn.pipeline():
                for item, off in zip(sent, asynchronous, strict=True):
                    conn.execute(begin)
                    conn.execute(_SETTINGS_ASYNC if off else _SETTINGS, self._timeout_values())
                    for statement in item.body:
                        item.cursors.append(conn.execute(statement.sql, prepare=False))
                    item.row = self.ledger.record_applied(item.migration, None)
                    item.end = conn.execute(end)
        except psycopg.Error as error:
            self._roll_back(undo)
            done = _report(_committed(sent), on_applied)
            failed = sent[min(done, len(sent) - 1)]
            statement = _failed_statement(failed.body, failed.cursors, error)
            return done, (failed.migration, error, statement)
        except BaseException:  # Ctrl-C: psycopg cancelled the statement; leave nothing open
            self._roll_back(undo)
            with contextlib.suppress(Exception):
                _report(_committed(sent), on_applied)
            raise
        return _report(sent, on_applied), None

    def _roll_back(self, undo: str) -> None:
        """End the failed transaction (a failed COMMIT has ended it already)."""
        from psycopg.pq import TransactionStatus

        if self.conn.info.transaction_status in (
            TransactionStatus.INTRANS,
            TransactionStatus.INERROR,
        ):
            with contextlib.suppress(Exception):  # a lost connection rolls back by itself
                self.conn.execute(undo)

    def _apply_outside_transaction(self, migration: Migration) -> int:
        import psycopg

        body = migration.body()
        with self.conn.pipeline():  # one round trip for the start event and the session timeouts
            self.ledger.record_event("start", migration=migration, blocking=True)
            self.conn.execute(_SESSION_SETTINGS, self._timeout_values())
        started = time.perf_counter()
        for statement in body:
            try:
                self.conn.execute(statement.sql)
            except psycopg.Error as error:
                self._failed(migration, error, _at(statement, error), blocking=True)
        elapsed = int((time.perf_counter() - started) * 1000)
        begin, end, undo = self._transaction_commands()
        try:
            with self.conn.pipeline():
                self.conn.execute(begin)
                self.ledger.record_applied(migration, elapsed)
                self.conn.execute(end)
                self.conn.execute("RESET lock_timeout")
                self.conn.execute("RESET statement_timeout")
        except psycopg.Error as error:
            self._roll_back(undo)
            self._failed(migration, error, body[-1], blocking=True)
        return elapsed

    def _transaction_commands(self) -> tuple[str, str, str]:
        """(start, finish, undo): replay runs migrations inside its own transaction, where a
        savepoint stands in for BEGIN."""
        from psycopg.pq import TransactionStatus

        idle = self.conn.info.transaction_status == TransactionStatus.IDLE
        return _TRANSACTION if idle else _SAVEPOINT

    def _timeout_values(self) -> tuple[str, str]:
        return (self.config.lock_timeout, self.config.statement_timeout)

    def _timeouts(self, *, local: bool) -> str:
        return timeouts_sql(self.config, local=local)

    def _failed(
        self, migration: Migration, error: Exception, statement: Statement, *, blocking: bool
    ) -> None:
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


@dataclass
class _Sent:
    """One migration queued in a pipeline, with the cursors of its results."""

    migration: Migration
    body: tuple[Statement, ...]
    cursors: list[Any] = field(default_factory=list)
    row: Any = None
    end: Any = None

    def ms(self) -> int:
        """The ``execution_ms`` the ledger recorded (the server measured it)."""
        fetched = self.row.fetchone() if self.row is not None else None
        return int(fetched[0]) if fetched else 0


def _report(sent: list[_Sent], on_applied: OnApplied) -> int:
    for item in sent:
        on_applied(item.migration, item.ms())
    return len(sent)


def _committed(sent: list[_Sent]) -> list[_Sent]:
    """The leading migrations whose COMMIT has its result: they are applied (a COMMIT not yet
    sent has no cursor, one skipped after an error has no result)."""
    done = []
    for item in sent:
        if item.end is None or item.end.pgresult is None:
            break
        done.append(item)
    return done


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


def timeouts_sql(config: Config, *, local: bool) -> str:
    """``SET [LOCAL] lock_timeout/statement_timeout`` from the configuration."""
    scope = "LOCAL " if local else ""
    return (
        f"SET {scope}lock_timeout = '{config.lock_timeout}'; "
        f"SET {scope}statement_timeout = '{config.statement_timeout}'"
    )


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
