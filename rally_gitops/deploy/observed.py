"""The deploy engine's side of the observation (replay/observe.py): the measures of committed
migrations, and a no-transaction file's statements run so that their locks can be seen."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rally_gitops.replay import observe, probe

if TYPE_CHECKING:
    from rally_gitops.deploy.applier import Applier
    from rally_gitops.deploy.sent import Sent
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
