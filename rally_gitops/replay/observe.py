"""Observation of a migration while it is applied: per statement, the locks it holds, the
relations it rewrote or scanned, the rows it changed and how long it took (docs/validate.md).

The measurement rides in the deploy engine's pipeline, so it adds queries but no round trips:
after each statement one probe (replay/probe.py) returns the relations this backend holds
locks on, with their relfilenode, reltuples and scan/row counters, and the server's clock.
Locks last until COMMIT, so a relation a statement touched is in every later probe of the
migration: each statement's effects are what changed since the previous probe, or for its
first appearance since before the migration. What "before" was, the ``Observer`` knows from
one snapshot of every user relation when it starts (or after work it did not see), kept up to
date with what each migration's probes return: the relations a migration does not lock keep
their values, so a migration costs a snapshot only when something unobserved ran before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rally_gitops.replay.catalog import Catalog, Relation
from rally_gitops.replay.probe import KINDS, KINDS_OF_TABLES, MODES, TABLE_KINDS

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.files.statements import Statement


@dataclass(frozen=True)
class Effect:
    """One relation touched by one statement: a lock taken or strengthened, a rewrite, a scan
    or rows changed."""

    relation: str  # qualified, quoted as PostgreSQL prints it: public."Users"
    kind: str  # "table", "index", "matview", ...
    lock: str  # strongest mode held after the statement ("" when none is: its own transaction)
    newly: bool  # this statement took or strengthened that lock
    rewrite: bool  # relfilenode of the relation (or for a table one of its indexes) changed
    scan: bool  # a sequential scan of it (pg_stat seq_scan grew)
    inserted: int
    updated: int
    deleted: int
    rows_before: int  # rows before the migration (estimate or count; 0 = empty)
    rows_estimated: bool = False  # never analyzed: rows_before estimated from the table's size


@dataclass(frozen=True)
class StatementMeasure:
    """One statement of a migration: where it is, how long it took and what it touched."""

    line: int
    text: str  # the statement's first line
    seconds: float
    effects: tuple[Effect, ...]
    probed: bool = True  # False: provably touched no existing relation (replay/inert.py)


@dataclass(frozen=True)
class MigrationMeasure:
    """One migration applied under observation."""

    filename: str
    seconds: float
    statements: tuple[StatementMeasure, ...]
    transactional: bool = True  # False: -- rally:no-transaction, each statement on its own

    def lock_seconds(self, mode: str = "AccessExclusiveLock") -> dict[str, float]:
        """Per relation: from the start of the statement that first took ``mode`` (or a
        stronger one) on it until the end of the migration (its COMMIT follows at once); in a
        no-transaction file, the time of the statements that held it (each commits at once)."""
        held: dict[str, float] = {}
        rank = MODES.index(mode)
        remaining = self.seconds
        for statement in self.statements:
            for effect in statement.effects:
                if not (effect.lock in MODES and MODES.index(effect.lock) >= rank):
                    continue
                if not self.transactional:
                    held[effect.relation] = held.get(effect.relation, 0.0) + statement.seconds
                elif effect.newly and effect.relation not in held:
                    held[effect.relation] = max(0.0, remaining)
            remaining -= statement.seconds
        return held


_HIDDEN = ("pg_toast", "pg_temp_")  # schemas of TOAST and temporary relations
# where str.splitlines ends a line
_LINE_END = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass
class Observer:
    """Collects a ``MigrationMeasure`` per migration the ``Applier`` applies under observation.

    Whoever runs anything else on the connection between two observed migrations calls
    ``forget()`` (the next migration then starts with a snapshot) or ``refresh()``.
    """

    measures: list[MigrationMeasure] = field(default_factory=list)
    _catalog: Catalog = field(default_factory=Catalog)

    def newest(self) -> int:
        """The newest relation this observer knows (relations get ever larger oids)."""
        return max(self._catalog.known, default=0)

    def start_sql(self) -> str:
        """The query that starts a migration: the time, or a snapshot when none is current."""
        from rally_gitops.replay import probe

        if self._catalog.fresh or self._catalog.queued:
            return probe.START
        self._catalog.queued = True
        return probe.SNAPSHOT

    def tracker(self, filename: str) -> Tracker:
        """The bookkeeping of one migration, fed the start's and each probe's rows."""
        return Tracker(self, filename)

    def quiet(self) -> Observer:
        """An observer sharing this one's knowledge whose measures are dropped: for migrations
        applied on the same connection that are not under test."""
        return Observer([], self._catalog)

    def ready(self, conn: psycopg.Connection) -> None:
        """Before a batch is sent on ``conn``: what it knows current, its queries prepared."""
        self._catalog.ready(conn)

    def queries(
        self, body: Sequence[Statement], first: bool
    ) -> tuple[tuple[str, ...], frozenset[int]]:
        """The start's and each statement's query, and the guarded ones (replay/catalog.py)."""
        return self._catalog.queries(body, first)

    def forget(self) -> None:
        """Something unobserved may have changed relations (or dropped the session's prepared
        statements): start the next one afresh."""
        self._catalog.fresh = self._catalog.queued = False
        self._catalog.unprepare()

    def retried(self, filename: str) -> bool:
        """True when ``filename`` dropped the prepared queries as it ran (retry_unprepared)."""
        return filename in self._catalog.retried

    def retry_unprepared(self, filename: str) -> None:
        """``filename`` dropped the prepared queries: it is sent again without them."""
        self._catalog.retried.add(filename)
        self.forget()

    def found_triggers(self) -> None:
        """A guarded query found an event trigger: probe every statement from now on (also
        when the snapshot after the rollback no longer shows it: the file creates it)."""
        self._catalog.guarded_out = True
        self.forget()

    def refresh(self, rows: Sequence[Sequence[Any]], oids: Sequence[int]) -> None:
        """``probe.REFRESH`` of ``oids`` ran (after a rollback): take its values."""
        known = self._catalog.known
        for oid in oids:
            known.pop(int(oid), None)
        for row in rows:
            if row[1] is not None:
                known[int(row[1])] = Relation.of(row)


@dataclass
class Tracker:
    """Turns one migration's start row and probe rows (probe.py) into its ``MigrationMeasure``."""

    observer: Observer
    filename: str
    last: float | None = None  # the server's clock after the previous statement
    statements: list[StatementMeasure] = field(default_factory=list)
    _seen: dict[int, Relation] = field(default_factory=dict)  # the latest values
    _gone: set[int] = field(default_factory=set)
    _ranks: dict[int, int] = field(default_factory=dict)
    _rows: dict[int, tuple[int, bool]] = field(default_factory=dict)

    def start(self, rows: Sequence[Sequence[Any]]) -> None:
        """The rows of ``start_sql()``: the time, and the relations when it was a snapshot."""
        catalog = self.observer._catalog
        if rows and len(rows[0]) > 3:
            catalog.known = {int(r[1]): Relation.of(r) for r in rows if r[1] is not None}
            catalog.fresh, catalog.queued = True, False
        self.last = float(rows[0][0]) if rows else None

    def statement(
        self,
        line: int,
        sql: str,
        rows: Sequence[Sequence[Any]],
        held: bool,
        snapshot: bool = False,
        alone: bool = False,
        probed: bool = True,
    ) -> None:
        """One statement's probe rows (``held``: its locks are still held, a transaction) or,
        after one that ran in its own transaction, a ``snapshot``'s; ``alone``: it ran in a
        transaction of its own (the locks before it are gone); not ``probed``: its clock (or
        at the end of the migration what it created), the statement touching no existing
        relation."""
        known = self.observer._catalog.known
        if alone:
            self._ranks.clear()
        now = float(rows[0][0]) if rows else None
        seconds = now - self.last if now and self.last else 0.0
        self.last = now or self.last
        if not snapshot and len(rows) == 1 and rows[0][1] is None:  # a clock: nothing touched
            self.statements.append(StatementMeasure(line, _first_line(sql), seconds, (), probed))
            return
        changed: list[tuple[int, bool, tuple[int, ...], Relation]] = []
        rewritten: set[int] = set()
        names = self.observer._catalog.names
        for row in rows:
            if row[1] is None:
                continue
            if len(row) > 14 and row[14] is not None:  # a relation created since is existing next
                names.add(row[14])
            oid, rank = int(row[1]), int(row[2] or 0) if held else 0
            old = self._seen.get(oid) or known.get(oid)
            if row[3] is None:  # dropped by this statement
                if old is not None and oid not in self._gone and oid in known:
                    self._gone.add(oid)
                    changed.append((oid, rank > self._ranks.get(oid, 0), (0, 0, 0, 0), old))
                    self._ranks[oid] = max(rank, self._ranks.get(oid, 0))
                continue
            if str(row[5]) not in KINDS or str(row[6]).startswith(_HIDDEN):
                continue  # a view, a sequence, a TOAST table: not what a snapshot has
            now_values = Relation.of(row, old)
            self._seen[oid] = now_values
            if oid not in known or old is None:
                continue  # created by this migration: not an existing relation
            if now_values.node != old.node:
                rewritten.add(oid)
            (n0, n1, n2, n3), (o0, o1, o2, o3) = now_values.counters, old.counters
            delta: tuple[int, ...] = (n0 - o0, n1 - o1, n2 - o2, n3 - o3)
            if oid not in self._rows:
                self._rows[oid] = _rows_before(known[oid], now_values, row[12], delta[1])
            newly = rank > self._ranks.get(oid, 0)
            self._ranks[oid] = max(rank, self._ranks.get(oid, 0))
            changed.append((oid, newly, delta, now_values))
        if snapshot:  # a relation missing from it was dropped
            for oid in set(known) - {int(r[1]) for r in rows if r[1] is not None} - self._gone:
                self._gone.add(oid)
                changed.append((oid, False, (0, 0, 0, 0), self._seen.get(oid) or known[oid]))
        tables = {(self._seen.get(i) or known[i]).table for i in rewritten}
        effects = []
        for oid, newly, delta, values in changed:
            rewrite = oid in rewritten or oid in tables
            scan = delta[0] > 0 and values.kind in TABLE_KINDS  # an index's numscans: idx_scan
            if not (newly or rewrite or scan or any(delta[1:]) or oid in self._gone):
                continue
            rank = self._ranks.get(oid, 0)
            rows_before, estimated = self._rows.get(oid, (0, False))
            effects.append(
                Effect(
                    relation=values.name,
                    kind=KINDS.get(values.kind, values.kind),
                    lock=MODES[rank - 1] if held and rank else "",
                    newly=held and newly,
                    rewrite=rewrite,
                    scan=scan,
                    inserted=delta[1],
                    updated=delta[2],
                    deleted=delta[3],
                    rows_before=rows_before,
                    rows_estimated=estimated,
                )
            )
        effects.sort(key=lambda e: (e.kind not in KINDS_OF_TABLES, e.kind, e.relation))
        self.statements.append(
            StatementMeasure(line, _first_line(sql), seconds, tuple(effects), probed)
        )

    def finish(self, transactional: bool = True) -> MigrationMeasure:
        """The measure, appended to the observer's; what it saw becomes what the observer knows."""
        known = self.observer._catalog.known
        known.update(self._seen)
        for oid in self._gone:
            known.pop(oid, None)
        total = sum(s.seconds for s in self.statements)
        measure = MigrationMeasure(self.filename, total, tuple(self.statements), transactional)
        self.observer.measures.append(measure)
        return measure


def _first_line(sql: str) -> str:
    text = sql.strip()
    end = _LINE_END.search(text)  # not every line (a function's body): the first one
    return text[: end.start()] if end else text


def _rows_before(
    before: Relation, now: Relation, size: int | None, inserted: int
) -> tuple[int, bool]:
    """(rows, estimated): reltuples when the table was analyzed or vacuumed; else (-1: never,
    as replay's seeded tables) the planner's kind of estimate from its size at the first
    statement that touched it (or the reltuples that statement set), less the rows it inserted."""
    if before.tuples >= 0:
        return round(before.tuples), False
    if before.kind not in TABLE_KINDS:
        return max(0, round(now.tuples)), False
    if size is None:
        guess = max(0, round(now.tuples))
    else:  # full pages of tuples of the typical width: 8168 bytes a page, 28 a tuple's header
        guess = -(-int(size) // 8192) * (8168 // (28 + (now.width or before.width or 32)))
    return max(0, guess - inserted), True
