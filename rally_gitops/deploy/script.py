"""Migrations as one simple-query string: built, sent, and its results read back.

A batch of transactional migrations goes to the server as ONE ``Query`` message: per migration
``BEGIN``, the session reset and timeouts, every statement of the file, the lock check, the
ledger row and ``COMMIT``, each followed by ``\\n;\\n`` (docs/engine.md). The server answers each
statement with one result, in order, and stops at the first error, skipping the rest of the
string. So the results tell exactly which migrations committed (their ``COMMIT`` has a result)
and which statement failed (the first error), without running anything again.

One libpq call per batch instead of one extended-protocol message per statement: the client
work per migration is building one string.
"""

from __future__ import annotations

import bisect
import select
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rally_gitops.deploy.sent import OnApplied
from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import Statement

if TYPE_CHECKING:
    import psycopg
    from psycopg.pq.abc import PGresult

SEPARATOR = "\n;\n"  # a newline first: a statement may end in a -- comment
COPY_OUT, COPY_IN = 3, 4  # libpq's ExecStatusType values (psycopg.pq.ExecStatus)


@dataclass(frozen=True)
class Script:
    """One migration's part of a batch string."""

    migration: Migration
    body: tuple[Statement, ...]
    text: str
    starts: tuple[int, ...]  # offset in ``text`` of each statement sent (ours and the file's)
    positions: tuple[int, ...]  # index of each of the body's statements among them
    lock_check: int | None  # index of the lock check
    row: int  # index of the ledger row (its one value is execution_ms)
    observed: tuple[int, ...] = ()  # under observation: indexes of the start's and probes' rows
    # parts that may be a guard: the queries before skipped statements (the first of a run of
    # them is guarded, replay/catalog.py; the others are clocks, which never fail as one)
    guards: frozenset[int] = frozenset()
    skipped: frozenset[int] = frozenset()  # the body's statements without a probe after them

    @property
    def count(self) -> int:
        """The number of statements, hence of results when it commits."""
        return len(self.starts)

    def statement_at(self, index: int, error: Exception, base: int) -> Statement:
        """The file's statement behind result ``index``, on the line of the server's error
        position when it gave one (``base``: this script's offset in the batch string)."""
        if not self.body:
            return Statement("", 1, 1, 0)
        position = getattr(getattr(error, "diag", None), "statement_position", None)
        if position:
            offset = int(position) - 1 - base
            number = bisect.bisect_right(self.starts, offset) - 1
            if offset < len(self.text) and number in self.positions:
                statement = self.body[self.positions.index(number)]
                inner = statement.sql.count("\n", 0, offset - self.starts[number])
                return statement._replace(line=statement.line + inner)
        # our BEGIN or settings: the file has not started; an observation's query, the ledger
        # row or COMMIT (a deferred constraint): the statement before it
        return self.body[max(0, bisect.bisect_right(self.positions, index) - 1)]


def build(
    migration: Migration,
    body: tuple[Statement, ...],
    before: list[str],
    after: list[str],
    *,
    lock_check: str | None,
    row: str,
    observe: tuple[tuple[str, ...], frozenset[int]] | None = None,
) -> Script:
    """``before`` (BEGIN, reset, settings), the body, the lock check, ``after`` (a READ ONLY
    file's COMMIT and BEGIN), the ledger row and the last of ``after``... as one string. With
    ``observe`` (replay/catalog.py ``queries``), its start after ``before`` and its query after
    each statement of the body."""
    *middle, end = after
    parts = list(before)
    positions, observed = [], []
    queries, before_skipped = observe or ((), frozenset())
    if queries:
        observed.append(len(parts))
        parts.append(queries[0])
    for number, statement in enumerate(body):
        positions.append(len(parts))
        parts.append(statement.sql)
        if queries:
            observed.append(len(parts))
            parts.append(queries[number + 1])
    check = len(parts) if lock_check is not None else None
    if lock_check is not None:
        parts.append(lock_check)
    parts += middle
    row_index = len(parts)
    parts += [row, end]
    starts, offset = [], 0
    for part in parts:
        starts.append(offset)
        offset += len(part) + len(SEPARATOR)
    return Script(
        migration=migration,
        body=body,
        text=SEPARATOR.join(parts) + SEPARATOR,
        starts=tuple(starts),
        positions=tuple(positions),
        lock_check=check,
        row=row_index,
        observed=tuple(observed),
        guards=frozenset(observed[index] for index in before_skipped),
        skipped=before_skipped,  # the query before statement i has index i
    )


def run(conn: psycopg.Connection, text: str, results: list[PGresult]) -> None:
    """Send ``text`` as one simple query and append each result to ``results`` as it arrives
    (the caller keeps what came before a lost connection or Ctrl-C).

    Ctrl-C cancels the running statement on the server, as psycopg does, then reads the
    remaining results (the cancellation error) before the ``KeyboardInterrupt`` goes on.
    """
    pgconn = conn.pgconn
    pgconn.send_query(text.encode(conn.info.encoding))
    while pgconn.flush():  # a non-blocking connection may hold part of a long string
        select.select([], [pgconn.socket], [])
    try:
        _collect(pgconn, results)
    except KeyboardInterrupt:
        conn.cancel_safe(timeout=5.0)
        _collect(pgconn, results)
        raise


def _collect(pgconn: Any, results: list[PGresult]) -> None:
    while True:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()  # raises OperationalError when the connection is gone
        result = pgconn.get_result()
        if result is None:
            return
        results.append(result)
        if result.status == COPY_IN:  # COPY FROM STDIN without its rows in the file
            pgconn.put_copy_end(b"COPY FROM STDIN needs its rows in the file, ended by a line \\.")
        elif result.status == COPY_OUT:  # COPY TO STDOUT: nothing to keep
            while pgconn.get_copy_data(0)[0] >= 0:
                pass


def report(scripts: list[Script], results: list[PGresult], on_applied: OnApplied) -> int:
    """Call ``on_applied`` for each leading script whose every statement succeeded (its
    COMMIT has its result); their number."""
    from psycopg.pq import ExecStatus

    ok = (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK)
    position = 0
    for done, item in enumerate(scripts):
        chunk = results[position : position + item.count]
        if len(chunk) < item.count or any(result.status not in ok for result in chunk):
            return done
        on_applied(item.migration, execution_ms(chunk[item.row]))
        position += item.count
    return len(scripts)


def first_error(results: list[PGresult], start: int) -> int:
    """The index of the first error result from ``start`` (the server sends one, last)."""
    from psycopg.pq import ExecStatus

    return next(
        i for i in range(start, len(results)) if results[i].status == ExecStatus.FATAL_ERROR
    )


def holding(scripts: list[Script], error: Exception) -> int:
    """The index of the script that holds the error's position in the batch string (0 when
    the server gave none)."""
    position = getattr(getattr(error, "diag", None), "statement_position", None)
    at, end = int(position or 1) - 1, 0
    for index, item in enumerate(scripts):
        end += len(item.text)
        if at < end:
            return index
    return 0


def execution_ms(result: PGresult) -> int:
    """The ledger row's ``RETURNING execution_ms``."""
    value = result.get_value(0, 0)
    return int(value) if value is not None else 0
