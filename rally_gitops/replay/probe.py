"""The queries of the observation (replay/observe.py): what this backend holds locks on, and the
values of user relations that tell a rewrite, a scan and row changes.

Every query returns rows of the same shape: (now, oid, rank, relfilenode, reltuples, relkind,
name, table, scans, inserted, updated, deleted, bytes, width, relname), with at least one row
(the time: seconds since the epoch) even when it finds no relation; a ``CLOCK`` only (now,
NULL). ``rank`` is the index in ``MODES`` + 1 of the strongest lock held (NULL in a snapshot);
``table`` the table of an index (0 otherwise); the counters are the shared statistics plus this
backend's pending ones, which stays right across the transactions of a no-transaction file;
``bytes`` is the size of a table never analyzed (reltuples -1), only where the relation is
locked already (``pg_relation_size`` locks), and ``width`` the typical width of its row: from
both, the planner's kind of row estimate; ``relname`` the bare name (what a statement's names
are compared with, replay/inert.py). The probe has no parameter, so that its prepared plan is
generic from the start.

A guarded query (``PREPARED``' ``*_guarded``) fails with division_by_zero when the database has
an event trigger: it is sent before a statement whose probe is skipped, which is right only when
no event trigger can run user code inside that statement.
"""

from __future__ import annotations

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
TABLE_KINDS = ("r", "p", "m")  # the relkinds whose numscans counts sequential scans
KINDS = {
    "r": "table",
    "p": "partitioned table",
    "i": "index",
    "I": "partitioned index",
    "m": "matview",
    "f": "foreign table",
}
KINDS_OF_TABLES = tuple(KINDS[kind] for kind in TABLE_KINDS)
_COUNTER = "pg_catalog.pg_stat_get_{0}(c.oid) + pg_catalog.pg_stat_get_xact_{0}(c.oid)"
_COUNTERS = ", ".join(
    f"CASE WHEN c.relkind IN ('r', 'p', 'm') THEN {_COUNTER.format(name)} END"
    for name in ("numscans", "tuples_inserted", "tuples_updated", "tuples_deleted")
)
_BYTES = (
    "CASE WHEN c.reltuples < 0 AND c.relkind IN ('r', 'm') "
    "THEN pg_catalog.pg_relation_size(c.oid) END"
)
# the typical width of a row: 12 bytes a column (a never-analyzed table has no statistics)
_WIDTH = "CASE WHEN c.reltuples < 0 AND c.relkind IN ('r', 'm') THEN 12 * c.relnatts END"
_VALUES = (
    "c.relfilenode::bigint, c.reltuples::float8, c.relkind::text, "
    "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), "
    "coalesce(i.indrelid, 0)::bigint, " + _COUNTERS
)
_JOINS = (
    "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid"
)
# the server's clock in seconds since the epoch: numeric, whose text no setting rounds
_CLOCK = "EXTRACT(epoch FROM pg_catalog.clock_timestamp())"  # grammar: always pg_catalog's
_NOW = f"FROM (SELECT {_CLOCK} AS now) t"
_LOCKS = (
    "SELECT relation, max(pg_catalog.array_position(ARRAY["
    + ", ".join(f"'{mode}'" for mode in MODES)
    + "]::text[], mode::text)) AS rank FROM pg_catalog.pg_locks WHERE locktype = 'relation' "
    "AND granted AND pid = pg_catalog.pg_backend_pid() AND relation >= 16384 GROUP BY relation"
)
# user relations: from FirstNormalObjectId, tables, indexes, matviews, foreign tables; no TOAST
# or temporary ones (pg_toast, pg_toast_temp_N, pg_temp_N)
_USER = (
    "c.oid >= 16384 AND c.relkind IN ('r', 'p', 'm', 'i', 'I', 'f') "
    "AND pg_catalog.left(n.nspname, 8) NOT IN ('pg_toast', 'pg_temp_')"
)

LAST_OID = 4294967295  # the largest oid: a probe up to it reads every relation
START = f"SELECT {_CLOCK}"
CLOCK = f"SELECT {_CLOCK}, NULL::bigint"
# after a statement: the relations it holds locks on (a dropped one has no values)
PROBE = (
    f"SELECT t.now, l.relation::bigint, l.rank, {_VALUES}, {_BYTES}, "
    f"{_WIDTH}, c.relname::text {_NOW} "
    f"LEFT JOIN ({_LOCKS}) l ON true LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation "
    f"{_JOINS}"
)
_ALL = (
    f"SELECT t.now, x.* {_NOW} LEFT JOIN (SELECT c.oid::bigint, NULL::int, {_VALUES}, "
    f"NULL::bigint, NULL::bigint, c.relname::text FROM pg_catalog.pg_class c {_JOINS} "
)
# every user relation: the observation's starting point, and what a statement that ran in its
# own transaction (CREATE INDEX CONCURRENTLY) changed, its locks gone
SNAPSHOT = _ALL + f"WHERE {_USER}) x ON true"
# the given relations only (%s: an array of oids), after a rollback put them back
REFRESH = _ALL + f"WHERE {_USER} AND c.oid = ANY(%s::oid[])) x ON true"
# after CREATE INDEX CONCURRENTLY: the indexes newer than %s (the newest relation the observer
# knows) and their tables
NEW_INDEXES = (
    _ALL
    + f"WHERE {_USER} AND (c.oid > %s OR c.oid IN (SELECT i2.indrelid FROM pg_catalog.pg_index i2 "
    "WHERE i2.indexrelid > %s))) x ON true"
)
LOCKED = (
    "SELECT coalesce(array_agg(DISTINCT relation::bigint), '{}') FROM pg_catalog.pg_locks "
    "WHERE locktype = 'relation' AND pid = pg_catalog.pg_backend_pid() AND relation >= 16384"
)
# the relations newer than $1 (the newest one the observer knew before the migration), views and
# sequences included: what the skipped statements at the end of a migration created. Planned
# once: compared with $1 itself, the planner found a plan for each value cheaper than the
# generic one and planned every execution anew (0.7 ms); a sub-select hides the value. The
# upper bound makes it an index range scan of pg_class (``oid > x`` alone: a third of pg_class
# expected, all of it scanned)
NEW = (
    _ALL + f"WHERE c.oid > (SELECT $1) AND c.oid <= {LAST_OID}::oid "
    "AND pg_catalog.left(n.nspname, 8) NOT IN ('pg_toast', 'pg_temp_')) x ON true"
)
# every relation's bare name, and whether the database has an event trigger (enabled or not)
NAMES = (
    "SELECT coalesce(pg_catalog.array_agg(c.relname::text), '{}'), "
    "EXISTS (SELECT FROM pg_catalog.pg_event_trigger) FROM pg_catalog.pg_class c "
    "WHERE c.oid >= 16384"
)
_GUARD = "(SELECT 1 / (count(*) = 0)::int FROM pg_catalog.pg_event_trigger)"
_NOW_GUARDED = f"FROM (SELECT {_CLOCK} AS now, {_GUARD} AS guard) t"
# the statements the observer prepares on its connection (PREPARE name AS ...), by kind
# the prepared probe reads only the relations up to $1: those that existed before the migration
# (a larger oid is one it created; the probe after its last statement reads them all, $1 the
# largest oid)
_PROBE_UPTO = PROBE.replace("AND relation >= 16384", "AND relation >= 16384 AND relation <= $1")
PREPARED = {
    "probe": _PROBE_UPTO,
    "probe_guarded": _PROBE_UPTO.replace(_NOW, _NOW_GUARDED).replace(
        " FROM (", ", t.guard FROM (", 1
    ),
    "clock": CLOCK,
    "clock_guarded": f"SELECT t.now, NULL::bigint, t.guard {_NOW_GUARDED}",
    "new": NEW,
}
ARGUMENTS = {"new": "(oid)", "probe": "(oid)", "probe_guarded": "(oid)"}
