"""Observation of a migration while it is applied: per statement, the locks it holds, the
relations it rewrote or scanned, the rows it changed and how long it took (docs/validate.md).

The measurement rides in the deploy engine's pipeline, so it adds queries but no round trips:
after a migration's ``BEGIN`` one ``SNAPSHOT`` keeps every user relation's relfilenode,
reltuples and scan/row counters in a transaction-local setting (on the server: nothing is
transferred), and after each statement one ``PROBE`` returns the relations this backend holds
locks on that existed before, with their current values and ``clock_timestamp()``. Locks last
until COMMIT, so a relation a statement touched is in every later probe of the migration: each
statement's effects are what changed since the previous probe. Counters are the shared
statistics plus this backend's pending ones, which stays right across the transactions of a
``-- rally:no-transaction`` file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# pg_locks modes, weakest first (PostgreSQL's table-level lock modes)
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
KINDS = {
    "r": "table",
    "p": "partitioned table",
    "i": "index",
    "I": "partitioned index",
    "m": "matview",
    "S": "sequence",
    "v": "view",
    "f": "foreign table",
    "c": "type",
}
_TABLES = ("r", "p", "m")  # the relkinds whose numscans counts sequential scans
KINDS_OF_TABLES = tuple(KINDS[kind] for kind in _TABLES)
SETTING = "rally_gitops.observe"
IN_TRANSACTION = "25001"  # active_sql_transaction: "... cannot run inside a transaction block"
# statements of a no-transaction file that must not be wrapped in a transaction of their own:
# the ones PostgreSQL refuses there (others are found by that error) and transaction control
_ALONE = re.compile(
    r"^\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE|VACUUM|REINDEX"
    r"|CLUSTER|ALTER\s+SYSTEM)\b|\bCONCURRENTLY\b|\b(DATABASE|TABLESPACE|SUBSCRIPTION)\b",
    re.IGNORECASE,
)


def wrappable(sql: str) -> bool:
    """True when a statement that would run as its own transaction can run inside an explicit
    one (which keeps its locks visible until the probe)."""
    return _ALONE.search(sql) is None


# shared statistics plus this backend's pending ones: scans, rows inserted, updated, deleted
_COUNTERS = ", ".join(
    f"pg_catalog.pg_stat_get_{name}({{o}}) + pg_catalog.pg_stat_get_xact_{name}({{o}})"
    for name in ("numscans", "tuples_inserted", "tuples_updated", "tuples_deleted")
)
_BEFORE = (
    "pg_catalog.jsonb_build_array(c.relfilenode, c.reltuples, c.relkind, "
    "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), "
    "coalesce(i.indrelid, 0), pg_catalog.jsonb_build_array(" + _COUNTERS.format(o="c.oid") + "))"
)
# user relations only: oids from FirstNormalObjectId, no TOAST or temporary ones
_USER = (
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid "
    "WHERE c.oid >= 16384 AND n.nspname <> 'pg_toast' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)


def snapshot_sql(*, local: bool) -> str:
    """The snapshot of every user relation, kept in ``SETTING`` (transaction-local unless a
    no-transaction file's statements each run in their own transaction); returns the time."""
    return (
        f"SELECT pg_catalog.set_config('{SETTING}', coalesce((SELECT "
        f"pg_catalog.jsonb_object_agg(c.oid::text, {_BEFORE}) {_USER}), '{{}}')::text, "
        f"{'true' if local else 'false'}), pg_catalog.clock_timestamp()"
    )


SNAPSHOT = snapshot_sql(local=True)
SNAPSHOT_SESSION = snapshot_sql(local=False)
_RANK = (
    "SELECT relation, max(pg_catalog.array_position(ARRAY["
    + ", ".join(f"'{mode}'" for mode in MODES)
    + "]::text[], mode)) AS rank FROM pg_catalog.pg_locks WHERE locktype = 'relation' "
    "AND granted AND pid = pg_catalog.pg_backend_pid() AND relation >= 16384 GROUP BY relation"
)
# the rows of a table never analyzed (reltuples -1) as the planner estimates them: its pages
# times how many tuples of its columns' typical width fit in one
_ESTIMATE = (
    "pg_catalog.round(pg_catalog.pg_relation_size(x.oid)::float8 / 8192 * floor(8168.0 / (28 + "
    "(SELECT coalesce(sum(CASE WHEN a.attlen > 0 THEN a.attlen ELSE 32 END), 0) "
    "FROM pg_catalog.pg_attribute a WHERE a.attrelid = x.oid AND a.attnum > 0 "
    "AND NOT a.attisdropped))))::bigint"
)
_ROW = (
    "x.oid::bigint, x.rank, c.relfilenode::bigint, "
    + _COUNTERS.format(o="x.oid")
    + ", CASE WHEN (b.j -> x.oid::text ->> 1)::float8 < 0 AND c.relkind IN ('r', 'm') "
    f"THEN {_ESTIMATE} END, b.j -> x.oid::text"
)
_B = (
    "(SELECT coalesce(nullif(pg_catalog.current_setting('"
    + SETTING
    + "', true), '')::jsonb, '{}') AS j) b"
)
# after a statement of a transaction: the relations it holds locks on that existed before
PROBE = (
    f"SELECT t.now, {_ROW} FROM (SELECT pg_catalog.clock_timestamp() AS now) t "
    f"LEFT JOIN ({_RANK}) l ON true LEFT JOIN LATERAL (SELECT l.relation AS oid, l.rank) x "
    f"ON l.relation IS NOT NULL LEFT JOIN {_B} ON true "
    "LEFT JOIN pg_catalog.pg_class c ON c.oid = x.oid "
    "WHERE x.oid IS NULL OR b.j ? x.oid::text"
)
# after a statement that ran in its own transaction (CREATE INDEX CONCURRENTLY...): its locks are
# gone, so every relation of the snapshot whose file or counters changed
PROBE_ALL = (
    f"SELECT t.now, {_ROW} FROM (SELECT pg_catalog.clock_timestamp() AS now) t "
    f"CROSS JOIN {_B} LEFT JOIN LATERAL (SELECT s.key::oid AS oid, NULL::int AS rank "
    "FROM pg_catalog.jsonb_each(b.j) s LEFT JOIN pg_catalog.pg_class k ON k.oid = s.key::oid "
    "WHERE k.oid IS NULL OR k.relfilenode::bigint <> (s.value ->> 0)::bigint OR "
    "jsonb_build_array(" + _COUNTERS.format(o="k.oid") + ") <> s.value -> 5 ) x ON true "
    "LEFT JOIN pg_catalog.pg_class c ON c.oid = x.oid"
)


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


@dataclass(frozen=True)
class MigrationMeasure:
    """One migration applied under observation."""

    filename: str
    seconds: float
    statements: tuple[StatementMeasure, ...]

    def lock_seconds(self, mode: str = "AccessExclusiveLock") -> dict[str, float]:
        """Per relation: from the start of the statement that first took ``mode`` (or a
        stronger one) on it until the end of the migration (its COMMIT follows at once)."""
        held: dict[str, float] = {}
        rank = MODES.index(mode)
        remaining = self.seconds
        for statement in self.statements:
            for effect in statement.effects:
                strong = effect.lock in MODES and MODES.index(effect.lock) >= rank
                if effect.newly and strong and effect.relation not in held:
                    held[effect.relation] = max(0.0, remaining)
            remaining -= statement.seconds
        return held


@dataclass
class Observer:
    """Collects a ``MigrationMeasure`` per migration the ``Applier`` applies under observation."""

    measures: list[MigrationMeasure] = field(default_factory=list)

    def tracker(self, filename: str) -> Tracker:
        """The bookkeeping of one migration, fed the snapshot's and each probe's rows."""
        return Tracker(self, filename)


@dataclass
class _State:
    rank: int  # index in MODES + 1 of the strongest lock held (0: none)
    node: int
    counters: tuple[int, ...]


@dataclass
class Tracker:
    """Turns the rows of one migration's snapshot and probes into its ``MigrationMeasure``.

    A probe row is (now, oid, rank, relfilenode, scans, inserted, updated, deleted, estimated rows,
    before), ``before`` the snapshot's array for that relation (see ``_BEFORE``).
    """

    observer: Observer
    filename: str
    last: datetime | None = None
    statements: list[StatementMeasure] = field(default_factory=list)
    _state: dict[int, _State] = field(default_factory=dict)
    _rows: dict[int, int] = field(default_factory=dict)
    _tables: dict[int, int] = field(default_factory=dict)  # index -> its table

    def start(self, row: Sequence[Any] | None) -> None:
        """The snapshot's row: (set_config's result, clock_timestamp())."""
        if row is not None and self.last is None:
            self.last = row[1]

    def statement(self, line: int, sql: str, rows: Sequence[Sequence[Any]], held: bool) -> None:
        """One statement's probe ``rows``; ``held``: its locks are still held (a transaction)."""
        now: datetime | None = rows[0][0] if rows else None
        seconds = (now - self.last).total_seconds() if now and self.last else 0.0
        self.last = now or self.last
        seen: list[tuple[int, bool, tuple[int, ...], list[Any]]] = []
        rewritten: set[int] = set()
        for row in rows:
            if row[1] is None or row[9] is None:
                continue
            oid, before = int(row[1]), row[9]
            rank = int(row[2] or 0) if held else 0
            counters = tuple(int(value) for value in row[4:8])
            old = self._state.get(oid) or _State(0, int(before[0]), _counters(before))
            if oid not in self._rows:
                inserted = counters[1] - old.counters[1]
                self._rows[oid] = _rows_before(before, row[8], inserted)
                self._tables[oid] = int(before[4])
            if row[3] is not None and int(row[3]) != old.node:
                rewritten.add(oid)
            node = int(row[3]) if row[3] is not None else old.node
            self._state[oid] = _State(max(rank, old.rank), node, counters)
            delta = tuple(n - o for n, o in zip(counters, old.counters, strict=True))
            seen.append((oid, rank > old.rank, delta, before))
        effects = []
        for oid, newly, delta, before in seen:
            rewrite = oid in rewritten or any(self._tables.get(i) == oid for i in rewritten)
            if not (newly or rewrite or any(delta)):
                continue
            rank = self._state[oid].rank
            effects.append(
                Effect(
                    relation=str(before[3]),
                    kind=KINDS.get(str(before[2]), str(before[2])),
                    lock=MODES[rank - 1] if rank else "",
                    newly=newly,
                    rewrite=rewrite,
                    scan=delta[0] > 0 and str(before[2]) in _TABLES,  # an index's: idx_scan
                    inserted=delta[1],
                    updated=delta[2],
                    deleted=delta[3],
                    rows_before=self._rows[oid],
                    rows_estimated=float(before[1]) < 0 and str(before[2]) in _TABLES,
                )
            )
        effects.sort(key=lambda e: (e.kind not in KINDS_OF_TABLES, e.kind, e.relation))
        text = sql.strip()
        first = text.splitlines()[0] if text else ""
        self.statements.append(StatementMeasure(line, first, seconds, tuple(effects)))

    def finish(self) -> MigrationMeasure:
        """The measure, appended to the observer's."""
        total = sum(s.seconds for s in self.statements)
        measure = MigrationMeasure(self.filename, total, tuple(self.statements))
        self.observer.measures.append(measure)
        return measure


def _counters(before: list[Any]) -> tuple[int, ...]:
    return tuple(int(value) for value in before[5])


def _rows_before(before: list[Any], estimate: int | None, inserted: int) -> int:
    """reltuples when the table was analyzed or vacuumed; else (-1: never, as replay's seeded
    tables) the planner-like estimate from its size at the first statement that touched it,
    less the rows that statement inserted."""
    tuples = float(before[1])
    if tuples >= 0:
        return round(tuples)
    return max(0, int(estimate or 0) - inserted)
