"""Applying migrations: each in its own transaction with its ledger row, several per round trip.

See docs/engine.md for what goes to the server and when it is durable.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rally_gitops.deploy import observed, script, session
from rally_gitops.deploy.failure import (
    Failure,
    FailureHandler,
    LockLost,
    at_error,
    failed_statement,
    lock_lost,
    lost,
    recording,
)
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.sent import OnApplied, Sent, committed, copies, report_applied
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import Statement, read_only, transaction_modes
from rally_gitops.replay import probe
from rally_gitops.steps import Report

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.config import Config
    from rally_gitops.replay.observe import Observer

LOCK_NOT_AVAILABLE = "55P03"
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


@dataclass(frozen=True)
class Applier:
    """Applies migrations through one autocommit connection that holds the deploy lock.

    Transactional migrations go out in batches, one pipeline and one round trip per batch: per
    migration BEGIN, the session reset and timeouts, every statement, the lock check, the ledger
    row and COMMIT (docs/engine.md). ``on_failure`` makes the exception a failed migration
    raises (default: a ledger ``failure`` event and a ``DeployError``); ``lock`` is the deploy
    lock's keys, checked before every COMMIT. With an ``observer``, every migration is measured
    as it is applied (replay/observe.py: a few more queries in the same round trips) and its
    ``MigrationMeasure`` appended to ``observer.measures`` once committed.
    """

    conn: psycopg.Connection
    config: Config
    report: Report
    sleep: Callable[[float], None] = time.sleep
    on_failure: FailureHandler | None = None
    lock: tuple[int, int] | None = None
    observer: Observer | None = None

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger.for_config(self.conn, self.config)

    @cached_property
    def _handler(self) -> FailureHandler:
        return self.on_failure or recording(self.ledger)

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
        try:
            self._apply_all(pending, on_applied)
        except BaseException:
            if self.observer is not None:  # a rolled-back migration changed what it knows
                self.observer.forget()
            raise

    def _apply_all(self, pending: list[Migration], on_applied: OnApplied) -> None:
        index, size, attempt = 0, 1, 0
        observer = self.observer
        while index < len(pending):
            if observer is not None:  # what it knows current, its queries prepared
                observer.ready(self.conn)
            if pending[index].no_transaction:
                on_applied(pending[index], self._apply_outside_transaction(pending[index]))
                if observer is not None and observed.drops_prepared(pending[index]):
                    observer.forget()
                index += 1
                continue
            batch: list[Migration] = []
            for migration in pending[index : index + size]:
                if migration.no_transaction or (batch and self._alone(migration)):
                    break
                batch.append(migration)
                # COPY cannot run in a pipeline: such a file goes alone, statement by statement
                if self._alone(migration):
                    break
            lazy = not self.config.synchronous_commit_each
            flags = [lazy and index + i < len(pending) - 1 for i in range(len(batch))]
            started = time.monotonic()
            # COPY, or observed and dropping prepared statements: statement by statement, pipelined
            if self._alone(batch[0]):
                done, failure = self._apply_batch(batch, flags, on_applied)
                if observer is not None and not copies(batch[0]):
                    observer.forget()
            else:
                done, failure = self._apply_scripts(batch, flags, on_applied)
            index += done
            if failure is None:
                quick = time.monotonic() - started < BATCH_SECONDS
                size, attempt = (min(size * 2, MAX_BATCH) if quick else 1), 0
                continue
            attempt = 1 if done else attempt + 1
            if self.observer is not None:
                self.observer.forget()
            lock_timeout = getattr(failure.error, "sqlstate", None) == LOCK_NOT_AVAILABLE
            if not lock_timeout or attempt > self.config.lock_retries:
                raise self._handler(failure)
            delay = 2 ** (attempt - 1)
            self.report(
                f"  lock timeout in {failure.migration.filename} ({self.config.lock_timeout}); "
                f"retry {attempt}/{self.config.lock_retries} in {delay}s"
            )
            self.sleep(delay)
            size = 1

    def _alone(self, migration: Migration) -> bool:
        """True when ``migration`` goes statement by statement in a batch of its own: COPY
        cannot run in a simple-query string; under observation, a file that may drop the
        session's prepared statements (the observation's queries) sends its own."""
        if copies(migration):
            return True
        return self.observer is not None and not observed.may_prepare(self.observer, migration)

    def _apply_scripts(
        self, batch: list[Migration], asynchronous: list[bool], on_applied: OnApplied
    ) -> tuple[int, Failure | None]:
        """One simple query, one round trip (``deploy.script``): per migration BEGIN, the
        session reset and timeouts, every statement, the lock check, the ledger row and COMMIT.
        Calls ``on_applied`` for each migration committed (also when interrupted); returns
        their number and the failure that stopped the rest, if any.

        The server answers statement by statement and skips the rest of the string after an
        error: the first error result is the failing statement, found without running
        anything again.
        """
        import psycopg
        from psycopg.errors import error_from_result

        conn, idle = self.conn, self._idle()
        # split before sending: a broken file must not stop a half-built batch
        scripts = [
            self._script(m, off, idle, first=not i)
            for i, (m, off) in enumerate(zip(batch, asynchronous, strict=True))
        ]
        results: list[Any] = []

        def report() -> int:
            done = script.report(scripts, results, on_applied)
            if self.observer is not None:
                observed.record_scripts(self.observer, conn, scripts[:done], results)
            return done

        try:
            script.run(conn, "".join(item.text for item in scripts), results)
        except psycopg.Error:
            done = report()
            in_flight = [item.migration for item in scripts[done:]]
            if conn.broken and in_flight:  # sent, and no COMMIT answered: they may have committed
                raise lost(in_flight) from None
            if conn.broken:
                return done, None  # all committed; the next statement sees the lost connection
            raise
        except BaseException:  # Ctrl-C: the statement was cancelled; leave nothing open
            self._roll_back(idle)
            with contextlib.suppress(Exception):
                report()
            raise
        done = report()
        if done == len(scripts):
            return done, None
        self._roll_back(idle)
        position = sum(item.count for item in scripts[:done])
        index = script.first_error(results, position)
        error = error_from_result(results[index], encoding=conn.info.encoding)
        if self.observer is not None and observed.retry(
            self.observer, scripts[done], index - position, error
        ):
            return done, None  # rolled back; sent again with every statement probed
        if index == 0 and len(scripts) > 1:
            # the server parses the whole string first: a syntax error anywhere in it means
            # nothing ran; apply the migrations before the broken one, then it alone fails
            keep = max(script.holding(scripts, error), 1)
            return self._apply_scripts(batch[:keep], asynchronous[:keep], on_applied)
        failed = scripts[done]
        inner = index - position
        if inner == failed.lock_check and error.sqlstate == session.DIVISION_BY_ZERO:
            raise self._lock_lost(failed.migration, transactional=True) from None
        offset = sum(len(item.text) for item in scripts[:done])
        statement = failed.statement_at(inner, error, offset)
        return done, Failure(failed.migration, error, statement, blocking=False)

    def _script(
        self, migration: Migration, asynchronous: bool, idle: bool, first: bool = True
    ) -> script.Script:
        """``migration``'s transaction as one string (its file's BEGIN modes on ours); under
        observation with its queries (``first``: the first of its batch)."""
        begin, end, _undo = _TRANSACTION if idle else _SAVEPOINT
        modes = transaction_modes(migration.statements) if idle else ""
        before = [f"{begin} {modes}".strip(), *session.RESET, self._settings[asynchronous]]
        # READ ONLY, as psql would: the file's statements commit read-only, then the ledger
        # row, which writes, gets a transaction of its own
        after = [end, begin, end] if read_only(modes) else [end]
        row = self._client.mogrify(*self.ledger.applied_row(migration))
        body = migration.body()
        observe = None if self.observer is None else self.observer.queries(body, first)
        return script.build(
            migration, body, before, after, lock_check=self._lock_held, row=row, observe=observe
        )

    @cached_property
    def _client(self) -> Any:
        """Client-side binding (``ClientCursor.mogrify``): the parameters of our own
        statements become literals quoted for this connection."""
        import psycopg

        return psycopg.ClientCursor(self.conn)

    @cached_property
    def _settings(self) -> dict[bool, str]:
        values = self._timeout_values()
        return {
            False: self._client.mogrify(session.SETTINGS, values),
            True: self._client.mogrify(session.SETTINGS_ASYNC, values),
        }

    @cached_property
    def _lock_held(self) -> str | None:
        return None if self.lock is None else self._client.mogrify(session.LOCK_HELD, self.lock)

    def _apply_batch(
        self, batch: list[Migration], asynchronous: list[bool], on_applied: OnApplied
    ) -> tuple[int, Failure | None]:
        """One pipeline, one round trip: per migration BEGIN, the session reset and timeouts,
        every statement on its own, the lock check, the ledger row and COMMIT. Calls
        ``on_applied`` for each migration committed (also when interrupted); returns their
        number and the failure that stopped the rest, if any.

        After an error the server skips everything up to the pipeline's sync, the failed
        migration's COMMIT and the later migrations included: the first statement without a
        result is the one that failed, found without running anything again.
        """
        import psycopg

        conn = self.conn
        idle = self._idle()
        # split before sending: a broken file must not interrupt a half-sent pipeline
        sent = [Sent(migration, migration.body()) for migration in batch]
        piped = not copies(batch[0])
        try:
            with conn.pipeline() if piped else contextlib.nullcontext():
                for item, off in zip(sent, asynchronous, strict=True):
                    self._send(item, off, idle)
        except psycopg.Error as error:
            if conn.broken:
                done = self._report(committed(sent), on_applied)
                in_flight = [i.migration for i in sent[done:] if i.end is not None]
                raise lost(in_flight or [sent[min(done, len(sent) - 1)].migration]) from None
            self._roll_back(idle)
            done = self._report(committed(sent), on_applied)
            failed = sent[min(done, len(sent) - 1)]
            if failed.lock_check_failed(error):
                raise self._lock_lost(failed.migration, transactional=True) from None
            statement = failed_statement(failed.body, failed.cursors, error)
            return done, Failure(failed.migration, error, statement, blocking=False)
        except BaseException:  # Ctrl-C: psycopg cancelled the statement; leave nothing open
            self._roll_back(idle)
            with contextlib.suppress(Exception):
                self._report(committed(sent), on_applied)
            raise
        return self._report(sent, on_applied), None

    def _report(self, sent: list[Sent], on_applied: OnApplied) -> int:
        """``report_applied``, after appending the measures of ``sent`` under observation."""
        if self.observer is not None:
            observed.record(self.observer, sent)
        return report_applied(sent, on_applied)

    def _send(self, item: Sent, asynchronous: bool, idle: bool) -> None:
        """Run one migration's transaction statement by statement."""
        conn, (begin, end, _undo) = self.conn, _TRANSACTION if idle else _SAVEPOINT
        modes = transaction_modes(item.migration.statements) if idle else ""
        conn.execute(f"{begin} {modes}".strip())
        for reset in session.RESET:
            conn.execute(reset)
        settings = session.SETTINGS_ASYNC if asynchronous else session.SETTINGS
        conn.execute(settings, self._timeout_values())
        observer = self.observer
        prepare = observer is not None and observed.may_prepare(observer, item.migration)
        if observer is not None:
            item.snapshot = conn.execute(observer.start_sql())
        for statement in item.body:
            item.cursors.append(self._execute(statement))
            if observer is not None:
                item.probes.append(conn.execute(probe.PROBE, prepare=prepare))
        if self.lock is not None:
            item.checking = True  # outside a pipeline the check raises before it has a cursor
            item.check = conn.execute(session.LOCK_HELD, self.lock)
        if read_only(modes):  # as psql would: the file's statements commit read-only...
            conn.execute(end)
            conn.execute(begin)  # ...and the ledger row, which writes, gets its own transaction
        item.row = self.ledger.record_applied(item.migration, None)
        item.end = conn.execute(end)

    def _execute(self, statement: Statement) -> Any:
        """Run one statement of a file (its rows through COPY for ``COPY ... FROM stdin``)."""
        if statement.copy_data is None:
            return self.conn.execute(statement.sql, prepare=False)
        cursor = self.conn.cursor()
        with cursor.copy(statement.sql) as copy:
            copy.write(statement.copy_data)
        return cursor

    def _roll_back(self, idle: bool) -> None:
        """End the failed transaction (a failed COMMIT has ended it already)."""
        from psycopg.pq import TransactionStatus

        if self.conn.info.transaction_status in (
            TransactionStatus.INTRANS,
            TransactionStatus.INERROR,
        ):
            with contextlib.suppress(Exception):  # a lost connection rolls back by itself
                self.conn.execute((_TRANSACTION if idle else _SAVEPOINT)[2])

    def _apply_outside_transaction(self, migration: Migration) -> int:
        import psycopg

        body = migration.body()
        with self.conn.pipeline():  # one round trip: the start event, a clean session, timeouts
            self.ledger.record_event("start", migration=migration, blocking=True)
            for reset in session.RESET:
                self.conn.execute(reset)
            self.conn.execute(session.SESSION_SETTINGS, self._timeout_values())
            start = self.conn.execute(self.observer.start_sql()) if self.observer else None
        tracker = self.observer.tracker(migration.filename) if self.observer else None
        if tracker is not None and start is not None:
            tracker.start(start.fetchall())
        started = time.perf_counter()
        for statement in body:
            try:
                if tracker is None:
                    self._execute(statement)
                else:
                    observed.run_statement(self, statement, tracker)
            except psycopg.Error as error:
                if self.conn.broken:
                    raise lost([migration]) from None
                raise self._handler(
                    Failure(migration, error, at_error(statement, error), blocking=True)
                ) from None
        elapsed = int((time.perf_counter() - started) * 1000)
        idle = self._idle()
        begin, end, _undo = _TRANSACTION if idle else _SAVEPOINT
        try:
            with self.conn.pipeline():
                for reset in session.RESET:  # the file's SET ROLE must not write the ledger row
                    self.conn.execute(reset)
                self.conn.execute(begin)
                self.ledger.record_applied(migration, elapsed)
                self.conn.execute(end)
                if self.lock is not None:
                    self.conn.execute(session.LOCK_HELD, self.lock)
        except psycopg.Error as error:
            if self.conn.broken:
                raise lost([migration]) from None
            self._roll_back(idle)
            if getattr(error, "sqlstate", None) == session.DIVISION_BY_ZERO:
                raise self._lock_lost(migration, transactional=False) from None
            raise self._handler(Failure(migration, error, body[-1], blocking=True)) from None
        if tracker is not None:
            tracker.finish(transactional=False)
        return elapsed

    def _lock_lost(self, migration: Migration, *, transactional: bool) -> LockLost:
        with contextlib.suppress(Exception):  # the history says why the deploy stopped
            self.ledger.record_event(
                "failure", migration=migration, detail="released the deploy lock"
            )
        return lock_lost(migration, transactional=transactional)

    def _idle(self) -> bool:
        """Replay runs migrations inside its own transaction, where a savepoint stands in for
        BEGIN (and the file's transaction modes cannot apply)."""
        from psycopg.pq import TransactionStatus

        return self.conn.info.transaction_status == TransactionStatus.IDLE

    def _timeout_values(self) -> tuple[str, str]:
        return (self.config.lock_timeout, self.config.statement_timeout)
