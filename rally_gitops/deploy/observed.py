"""The deploy engine's side of the observation (replay/observe.py): the measures of committed
migrations (sent in a pipeline or in a simple-query string), a failed string that is sent again
fully probed, and a no-transaction file's statements run so that their locks can be seen."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from rally_gitops.replay import observe, probe

if TYPE_CHECKING:
    import psycopg
    from psycopg.pq.abc import PGresult

    from rally_gitops.deploy.applier import Applier
    from rally_gitops.deploy.script import Script
    from rally_gitops.deploy.sent import Sent
    from rally_gitops.files.migrations import Migration
    from rally_gitops.files.statements import Statement

IN_TRANSACTION = "25001"  # active_sql_transaction: "... cannot run inside a transaction block"
# statements of a no-transaction file that must not be wrapped in a transaction of their own:
# the ones PostgreSQL refuses there (others are found by that error) and transaction control
_ALONE = re.compile(
    r"^\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE|VACUUM|REINDEX"
    r"|CLUSTER|ALTER\s+SYSTEM)\b|\bCONCURRENTLY\b|\b(DATABASE|TABLESPACE|SUBSCRIPTION)\b",
    re.IGNORECASE,
)


_BUILDS_INDEX = re.compile(r"\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b", re.IGNORECASE)


# what can drop the session's prepared statements, the observation's queries among them
_DROPS_PREPARED = re.compile(r"\b(DEALLOCATE|DISCARD)\b", re.IGNORECASE)
DIVISION_BY_ZERO = "22012"  # a guarded query found an event trigger (replay/probe.py)
NO_PREPARED = "26000"  # invalid_sql_statement_name: a prepared statement is gone


def drops_prepared(migration: Migration, more: str = "") -> bool:
    """True when the file's text (or ``more``: its rollback section) names DEALLOCATE or
    DISCARD, anywhere: a DO block's EXECUTE too."""
    return any(_names_drop(text) for text in (migration.up, more) if text)


@functools.lru_cache(maxsize=1024)
def _names_drop(text: str) -> bool:
    # asked two to four times per file applied under observation: a search of the whole text
    # each time was a tenth of the observation's client time
    return _DROPS_PREPARED.search(text) is not None


def may_prepare(observer: observe.Observer, migration: Migration) -> bool:
    """False for a file that drops prepared statements (by its text, or found so when it was
    sent): it goes statement by statement, its probes not prepared."""
    return not (drops_prepared(migration) or observer.retried(migration.filename))


def wrappable(sql: str) -> bool:
    """True when a statement that would run as its own transaction can run inside an explicit
    one (which keeps its locks visible until the probe)."""
    return _ALONE.search(sql) is None


def record(observer: observe.Observer, sent: list[Sent]) -> None:
    """Append the measures of the committed migrations ``sent`` (their start and probe rows)."""
    for item in sent:
        tracker = observer.tracker(item.migration.filename)
        tracker.start(item.snapshot.fetchall())
        for statement, cursor in zip(item.body, item.probes, strict=True):
            tracker.statement(statement.line, statement.sql, cursor.fetchall(), held=True)
        tracker.finish()


def record_scripts(
    observer: observe.Observer,
    conn: psycopg.Connection,
    scripts: list[Script],
    results: list[PGresult],
) -> None:
    """Append the measures of the committed ``scripts`` (their results come first in
    ``results``): the start's and each statement's query rows, loaded as psycopg would."""
    from psycopg.adapt import Transformer

    loaders: dict[tuple[int, ...], Any] = {}  # Transformers by column types: set up once each

    def rows(result: PGresult) -> list[tuple[Any, ...]]:
        if result.nfields <= 3:  # a clock (guarded or not): its numeric value only
            return [(float(result.get_value(0, 0) or 0), None)]
        types = tuple(result.ftype(i) for i in range(result.nfields))
        loader = loaders.get(types)
        if loader is None:
            loader = loaders[types] = Transformer(conn)
            loader.set_pgresult(result)
        else:
            loader.set_pgresult(result, set_loaders=False)
        return loader.load_rows(0, result.ntuples, tuple)

    position = 0
    for item in scripts:
        chunk = results[position : position + item.count]
        position += item.count
        tracker = observer.tracker(item.migration.filename)
        tracker.start(rows(chunk[item.observed[0]]))
        for number, (statement, index) in enumerate(zip(item.body, item.observed[1:], strict=True)):
            probed = number not in item.skipped
            tracker.statement(
                statement.line, statement.sql, rows(chunk[index]), True, probed=probed
            )
        tracker.finish()


def retry(observer: observe.Observer, failed: Script, index: int, error: Exception) -> bool:
    """True when ``failed`` (rolled back) failed in an observation's query and can be sent again:
    a guarded query found an event trigger (from now on every statement is probed), or the
    prepared queries were gone (the file goes again statement by statement, its probes not
    prepared; the queries are prepared again after it)."""
    if not failed.observed or index not in failed.observed:
        return False
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate == DIVISION_BY_ZERO and index in failed.guards:
        observer.found_triggers()
        return True
    if sqlstate == NO_PREPARED and not observer.retried(failed.migration.filename):
        observer.retry_unprepared(failed.migration.filename)
        return True
    return False


def run_statement(applier: Applier, statement: Statement, tracker: observe.Tracker) -> None:
    """Run one statement of a no-transaction file under observation. Alone, it would be its
    own transaction: it runs as one (BEGIN, it, the probe, COMMIT: one round trip, as without
    observation) so that its locks can be seen; a statement that cannot run in a transaction
    (CREATE INDEX CONCURRENTLY...) runs alone, and a snapshot after it shows what it changed."""
    import psycopg

    conn, idle = applier.conn, applier._idle()
    if statement.copy_data is None and idle and wrappable(statement.sql):
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute(statement.sql, prepare=False)
                after = conn.execute(probe.PROBE, prepare=True)
                conn.execute("COMMIT")
            tracker.statement(statement.line, statement.sql, after.fetchall(), True, alone=True)
            return
        except psycopg.Error as error:
            if conn.broken:
                raise
            applier._roll_back(idle)
            if getattr(error, "sqlstate", None) != IN_TRANSACTION:
                raise
    newest = tracker.observer.newest()
    applier._execute(statement)
    held = not applier._idle()  # in a transaction the file opened itself: its locks are there
    if held:
        rows = conn.execute(probe.PROBE, prepare=True).fetchall()
    elif _BUILDS_INDEX.match(statement.sql) and newest:  # what changed: the new index's table
        rows = conn.execute(probe.NEW_INDEXES, (newest, newest)).fetchall()
        tracker.statement(statement.line, statement.sql, rows, False, alone=True)
        return
    else:
        rows = conn.execute(probe.SNAPSHOT).fetchall()
    tracker.statement(statement.line, statement.sql, rows, held, snapshot=not held, alone=not held)
