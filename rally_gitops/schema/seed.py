"""Rows for the proof of ``generate``: real rows in each table the migration keeps, so that
"rows kept" is checked where it matters (a table with a NOT NULL column without a default, a
foreign key, a check or an enum column gets a row too), and an honest list of the tables that
could not get one.

A value is made for every column that has no default (and is no identity or generated column)
from its type: the first label of an enum, a domain's base type, ``'{}'`` for an array, a
number, a string, a date... A foreign key takes the referenced columns of a row of its parent
(seeded first). A check constraint or a unique key may refuse the first values: a few other
numbers and strings are tried, then the nullable columns left NULL. A second row is added where
one fits (other values, other parent rows): two foreign keys to one parent may have to differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from rally_gitops.schema.model import quote_ident as q

_COLUMNS = """
SELECT format('%%I.%%I', n.nspname, c.relname), a.attname, a.atttypid,
       format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = ANY(%s::text[]::regclass[])
ORDER BY c.oid, a.attnum
"""
_TYPES = """
SELECT t.oid, t.typtype, t.typcategory, t.typbasetype, t.typname,
       t.typdefaultbin IS NOT NULL,
       ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder),
       format('%I.%I', n.nspname, t.typname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
"""
_FOREIGN_KEYS = """
SELECT format('%%I.%%I', cn.nspname, c.relname), format('%%I.%%I', pn.nspname, p.relname),
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE k.contype = 'f' AND k.conrelid = ANY(%s::text[]::regclass[])
ORDER BY k.conname
"""
_BY_NAME = {
    "bool": "true",
    "uuid": "00000000-0000-0000-0000-000000000001",
    "json": "{}",
    "jsonb": "{}",
    "bytea": "\\x00",
    "date": "2000-01-01",
    "timestamp": "2000-01-01 00:00:00",
    "timestamptz": "2000-01-01 00:00:00+00",
    "time": "12:00:00",
    "timetz": "12:00:00+00",
    "interval": "1 day",
    "inet": "127.0.0.1",
    "cidr": "127.0.0.0/8",
    "macaddr": "08:00:2b:01:02:03",
    "xml": "<x/>",
    "point": "(0,0)",
    "tsvector": "x",
    "bit": "1",
    "varbit": "1",
    "money": "1",
}
# tried in turn when a check or a unique key refuses the row
_NUMBERS = ("1", "2", "0", "100", "-1")
_STRINGS = ("x", "a", "seed", "1", "X")


@dataclass(frozen=True)
class Seeded:
    """The tables that got a row, and those that did not with the reason."""

    tables: tuple[str, ...]
    unseeded: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Column:
    name: str
    type_oid: int
    type: str
    not_null: bool
    has_default: bool


def seed(
    conn: psycopg.Connection, tables: list[str], labels: dict[str, tuple[str, ...]] | None = None
) -> Seeded:
    """A row or two in each of ``tables`` (qualified, quoted names) that has none, parents
    before children. ``labels``: the enums' labels after the change, by qualified name (a row
    gets the first label that stays, so that a change dropping another one is proved on it)."""
    tables = [t for t in tables if not _has_rows(conn, t)]
    columns: dict[str, list[_Column]] = {t: [] for t in tables}
    for table, name, oid, shown, not_null, default in conn.execute(_COLUMNS, (tables,)):
        columns[table].append(_Column(name, oid, shown, not_null, default))
    types = {}
    for oid, *row, enum_labels, shown in conn.execute(_TYPES):
        stays = (labels or {}).get(shown) or enum_labels
        kept = [x for x in enum_labels if x in stays]
        types[oid] = (*row, (kept or enum_labels or [None])[0])
    keys: dict[str, list[tuple[str, list[str], list[str]]]] = {t: [] for t in tables}
    for child, parent, own, referenced in conn.execute(_FOREIGN_KEYS, (tables,)):
        keys[child].append((parent, own, referenced))
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    for table in _parents_first(tables, keys):
        reason = _insert(conn, table, columns[table], keys[table], types, row=0)
        if reason is None:
            done.append(table)
            # a second row, where it fits: two foreign keys to one parent can then differ
            _insert(conn, table, columns[table], keys[table], types, row=1)
        else:
            failed.append((table, reason))
    return Seeded(tuple(done), tuple(failed))


def _has_rows(conn: psycopg.Connection, table: str) -> bool:
    row = conn.execute(f"SELECT EXISTS (SELECT FROM {table})".encode()).fetchone()
    return bool(row and row[0])


def _parents_first(
    tables: list[str], keys: dict[str, list[tuple[str, list[str], list[str]]]]
) -> Iterator[str]:
    """``tables`` with each after the parents its foreign keys reference (cycles: as listed)."""
    left, placed = list(tables), set[str]()
    while left:
        ready = [
            t for t in left if all(p in placed or p == t or p not in keys for p, _, _ in keys[t])
        ] or left[:1]
        for table in ready:
            left.remove(table)
            placed.add(table)
            yield table


def _insert(
    conn: psycopg.Connection,
    table: str,
    columns: list[_Column],
    keys: list[tuple[str, list[str], list[str]]],
    types: dict[int, tuple[object, ...]],
    *,
    row: int,
) -> str | None:
    """Insert row number ``row`` (0 or 1), trying the other candidate values; ``None``, or why
    it failed. The n-th foreign key to a parent takes its (n + row)-th row, else its first."""
    references: dict[str, str] = {}
    seen: dict[str, int] = {}
    for parent, own, referenced in keys:
        order = ", ".join(map(q, referenced))
        offset = (seen.get(parent, 0) + row) % 2
        seen[parent] = seen.get(parent, 0) + 1
        for mine, theirs in zip(own, referenced, strict=True):
            pick = f"SELECT {q(theirs)} FROM {parent} ORDER BY {order}"
            references.setdefault(
                mine, f"coalesce(({pick} LIMIT 1 OFFSET {offset}), ({pick} LIMIT 1))"
            )
    reason = ""
    for attempt in _attempts(row):
        values: dict[str, str] = {}
        for col in columns:
            if col.name in references:
                values[col.name] = references[col.name]
            elif not col.has_default and not _domain_default(col.type_oid, types):
                literal = _value(col.type_oid, types, attempt)
                if literal is None and col.not_null:
                    return f"no value for NOT NULL column {col.name} of type {col.type}"
                if literal is not None and not (attempt is None and not col.not_null):
                    values[col.name] = "'" + literal.replace("'", "''") + "'::" + col.type
        if values:
            names = ", ".join(q(n) for n in values)
            text = f"INSERT INTO {table} ({names}) VALUES ({', '.join(values.values())})"
        else:
            text = f"INSERT INTO {table} DEFAULT VALUES"
        try:
            with conn.transaction():
                conn.execute(text.encode())
            return None
        except psycopg.Error as exc:
            reason = exc.diag.message_primary or str(exc).splitlines()[0]
    return reason


def _attempts(row: int) -> Iterator[int | None]:
    """The candidate rounds, from ``row`` on; ``None``: the first values, nullable columns left
    NULL (row 0 only: a second row of the same values would only repeat the first)."""
    yield from range(row, len(_NUMBERS))
    if row == 0:
        yield None


def _domain_default(oid: int, types: dict[int, tuple[object, ...]]) -> bool:
    kind, _, base, _, has_default, _ = types[oid]
    return kind == "d" and (bool(has_default) or _domain_default(int(str(base)), types))


def _value(oid: int, types: dict[int, tuple[object, ...]], attempt: int | None) -> str | None:
    """A literal of the type ``oid`` (a domain's from its base type), or ``None``."""
    kind, category, base, name, _, label = types[oid]
    turn = attempt or 0
    if kind == "d":
        return _value(int(str(base)), types, attempt)
    if kind == "e":
        return None if label is None else str(label)
    if kind == "r":
        return "empty"
    if category == "A" or kind == "m":
        return "{}"
    if str(name) in _BY_NAME:
        return _BY_NAME[str(name)]
    if category == "N":
        return _NUMBERS[turn]
    if category == "S":
        return _STRINGS[turn]
    return None
