"""What an ``Observer`` (replay/observe.py) knows of the database between migrations, and what it
sends around a migration's statements: the prepared queries of replay/probe.py, and which
statements need no probe (replay/inert.py).

Before a batch of migrations goes out, ``ready()`` makes the knowledge current in one round trip
of its own when it is not (a snapshot of every user relation, every relation's name, whether
there is an event trigger) and prepares the queries on the connection (``PREPARE``, so that a
simple-query string can ``EXECUTE`` them). The skipping is decided from that knowledge when the
batch is built: hence only for the batch's first migration (the later ones may find relations
the earlier ones created).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rally_gitops.replay import inert, probe

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.files.statements import Statement

_GENERATIONS = itertools.count(1)  # prepared statements' names are unique in this process
REPLAN_FROM = 100  # relations known: below, the queries are not prepared again for growth


@dataclass(frozen=True)
class Relation:
    """One relation's values in a probe or snapshot row."""

    node: int
    tuples: float
    kind: str
    name: str
    table: int  # an index's table, else 0
    counters: tuple[int, int, int, int]  # scans, inserted, updated, deleted
    width: int  # a table's typical row width (0: not known)

    @classmethod
    def of(cls, row: Sequence[Any], old: Relation | None = None) -> Relation:
        """The values of a row of replay/probe.py's shape."""
        counters = (int(row[8] or 0), int(row[9] or 0), int(row[10] or 0), int(row[11] or 0))
        width = int(row[13]) if row[13] is not None else old.width if old else 0
        return cls(
            int(row[3]), float(row[4]), str(row[5]), str(row[6]), int(row[7]), counters, width
        )


@dataclass
class Catalog:
    """What the observer knows of every user relation, as of the end of the last migration."""

    known: dict[int, Relation] = field(default_factory=dict)
    fresh: bool = False
    queued: bool = False  # a snapshot is on its way in a pipeline
    names: set[str] = field(default_factory=set)  # every relation's name seen (never shrinks)
    triggers: bool = True  # the database may have an event trigger (until ``ready`` reads it)
    guarded_out: bool = False  # a guard found an event trigger: no statement is skipped again
    prepared: int = 0  # the backend the queries are prepared on (0: none)
    generation: int = 0
    planned_for: int = 0  # the relations known when the queries were prepared
    retried: set[str] = field(default_factory=set)  # files sent again for lost queries

    def ready(self, conn: psycopg.Connection) -> None:
        """Make the knowledge current and the queries prepared on ``conn`` (one round trip,
        none when both are).

        The queries are prepared again once the relations have more than doubled since they
        were: a prepared query's generic plan is made once, at its sixth execution, for the
        catalog's sizes then, and a hash join over all of ``pg_index`` chosen while the database
        was small stays (the query after skipped last statements took 0.4 ms instead of 0.16
        after 200 corpus migrations, docs/benchmarks.md)."""
        pid = conn.info.backend_pid
        outgrown = len(self.known) > max(2 * self.planned_for, REPLAN_FROM)
        if self.prepared == pid and self.fresh and not outgrown:
            return
        snapshot = names = None
        prepare = self.prepared != pid or outgrown
        stale = self._stale(conn) if prepare and self.prepared == pid else []
        with conn.pipeline():
            if prepare:
                for name in stale:
                    conn.execute(f"DEALLOCATE {name}")
                self.generation = next(_GENERATIONS)
                for kind, sql in probe.PREPARED.items():
                    conn.execute(
                        f"PREPARE {self._name(kind)}{probe.ARGUMENTS.get(kind, '')} AS {sql}"
                    )
            if not self.fresh:
                snapshot = conn.execute(probe.SNAPSHOT)
                names = conn.execute(probe.NAMES)
        self.prepared = pid
        if snapshot is not None and names is not None:
            rows = snapshot.fetchall()
            self.known = {int(r[1]): Relation.of(r) for r in rows if r[1] is not None}
            row = names.fetchone()
            self.names.update(row[0] if row else ())
            self.triggers = bool(row[1]) if row else True
            self.fresh, self.queued = True, False
        if prepare:
            self.planned_for = len(self.known)

    def _stale(self, conn: psycopg.Connection) -> list[str]:
        """This generation's queries that the session still has: psycopg's ``DEALLOCATE ALL``
        after a rollback (when it had prepared statements of its own) may have dropped them,
        and a ``DEALLOCATE`` of a missing one is an error."""
        ours = {self._name(kind) for kind in probe.PREPARED}
        rows = conn.execute(
            "SELECT name FROM pg_catalog.pg_prepared_statements WHERE name = ANY(%s)",
            (sorted(ours),),
            prepare=False,
        ).fetchall()
        return sorted(str(row[0]) for row in rows)

    def unprepare(self) -> None:
        """The session may have lost its prepared statements (DEALLOCATE, DISCARD)."""
        self.prepared = 0

    def queries(
        self, body: Sequence[Statement], first: bool
    ) -> tuple[tuple[str, ...], frozenset[int]]:
        """What a simple-query string sends before ``body`` (the start: index 0) and after each
        of its statements (index i + 1), and the indexes of the queries before the skipped
        statements (``Script.skipped``; the guarded ones among them). ``first``: the migration
        is the first of its batch (what the observer knows is current).

        Only the query before the first of consecutive skipped statements is guarded: a skipped
        statement runs no user code (replay/inert.py), so none can create the event trigger that
        a guard looks for before the next one."""
        probed = self.plan(body, first)
        texts, guards = [], set()
        # what the migration creates gets larger oids than every relation known before it: the
        # probes before the last one skip those (not existing ones), the last one reads them all
        # (what the migration created becomes known); in a batch's later files, all of them
        newest = max(self.known, default=0) if first and self.fresh else probe.LAST_OID
        for index in range(len(body) + 1):
            if index and probed[index - 1]:
                kind = "probe"
            elif index == len(body) and index:
                kind = "new"  # after skipped ones at the end: what they created
            else:
                kind = "clock"
            if index < len(body) and not probed[index]:
                if index == 0 or probed[index - 1]:
                    kind += "_guarded"
                guards.add(index)
            name = self._name(kind)
            if kind.startswith("probe"):
                upto = newest if index < len(body) else probe.LAST_OID
                texts.append(f"EXECUTE {name}({upto})")
            elif kind == "new":
                texts.append(f"EXECUTE {name}({newest})")
            else:
                texts.append(f"EXECUTE {name}")
        return tuple(texts), frozenset(guards)

    def plan(self, body: Sequence[Statement], first: bool) -> tuple[bool, ...]:
        """Per statement of ``body``: True when it needs its probe. None is skipped unless what
        the observer knows is current (``first``, fresh), the database has no event trigger and
        every earlier statement of the migration was of an inert kind too, none an index built
        on an existing table (replay/inert.py): then a table the migration created is still
        empty, and no existing relation has been renamed or touched by a function."""
        if not (first and self.fresh and self.prepared) or self.triggers or self.guarded_out:
            return (True,) * len(body)
        plan, clean = [], True
        for statement in body:
            kind = inert.inert_kind(statement.sql) if clean and statement.copy_data is None else ""
            skipped = bool(kind) and inert.names_no_relation(statement.sql, self.names)
            plan.append(not skipped)
            # an index built over an existing table's rows may have run functions
            clean = bool(kind) and (skipped or kind != "IndexStmt")
        return tuple(plan)

    def _name(self, kind: str) -> str:
        return f"rally_gitops_{kind}_{self.generation}"
