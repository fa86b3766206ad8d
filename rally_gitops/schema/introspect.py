"""Read a live schema into a ``Model``: every catalog query once, in one statement.

The queries run in one read-only transaction with ``search_path = ''`` (every expression and type
comes back schema-qualified), so the texts of two databases compare equal exactly when the objects
are equal, whatever the caller's search path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from rally_gitops.schema import model as m
from rally_gitops.schema.filters import Filter
from rally_gitops.schema.queries import relations as rq
from rally_gitops.schema.queries import types as tq

if TYPE_CHECKING:
    from rally_gitops.postgres.libpq import Reader

Row = dict[str, Any]
_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
_PARALLEL = {"s": "safe", "r": "restricted", "u": "unsafe"}
_IDENTITY = {"a": "always", "d": "by default", "": None}
_GENERATED = {"s": "stored", "v": "virtual", "": None}
_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
_COMMAND = {"r": "select", "a": "insert", "w": "update", "d": "delete", "*": "all"}
_CONSTRAINT = {
    "p": "primary key",
    "u": "unique",
    "f": "foreign key",
    "c": "check",
    "x": "exclusion",
}


def _access(row: Row) -> dict[str, Any]:
    return {
        "comment": row["comment"],
        "owner": row.get("owner"),
        "acl": tuple(sorted(row.get("acl") or ())),
    }


def _schema(row: Row) -> m.SchemaObject:
    return m.Schema(schema=row["name"], name=row["name"], **_access(row))


def _extension(row: Row) -> m.SchemaObject:
    return m.Extension(
        schema=row["schema"], name=row["name"], version=row["version"], **_access(row)
    )


def _table(row: Row) -> m.SchemaObject:
    parents = tuple(row["parents"])
    partition = row["is_partition"]
    return m.Table(
        schema=row["schema"],
        name=row["name"],
        partitioned=row["partitioned"],
        partition_key=row["partition_key"],
        partition_of=parents[0] if partition and parents else None,
        partition_bound=row["partition_bound"],
        inherits=() if partition else parents,
        unlogged=row["unlogged"],
        options=tuple(sorted(row["options"])),
        rls_enabled=row["rls_enabled"],
        rls_forced=row["rls_forced"],
        **_access(row),
    )


def _column(row: Row) -> m.SchemaObject:
    return m.Column(
        schema=row["schema"],
        table=row["table"],
        name=row["name"],
        position=int(row["position"]),
        type=row["type"],
        collation=row["collation"],
        default=row["default"],
        not_null=row["not_null"],
        identity=_IDENTITY[row["identity"]],
        identity_options=row["identity_options"],
        generated=_GENERATED[row["generated"]],
        generated_expression=row["generated_expression"],
        inherited=not row["local"],
        **_access(row),
    )


def _constraint(row: Row) -> m.SchemaObject:
    ref = (row["ref_schema"], row["ref_table"]) if row["ref_table"] else None
    return m.Constraint(
        schema=row["schema"],
        table=row["table"],
        name=row["name"],
        type=_CONSTRAINT[row["type"]],
        definition=row["definition"],
        columns=tuple(row["columns"]),
        references=ref,
        referenced_columns=tuple(row["referenced_columns"]),
        deferrable=row["deferrable"],
        deferred=row["deferred"],
        validated=row["validated"],
        inherited=not row["local"],
        comment=row["comment"],
    )


def _index(row: Row) -> m.SchemaObject:
    return m.Index(
        schema=row["schema"],
        name=row["name"],
        table=row["table"],
        method=row["method"],
        unique=row["unique"],
        predicate=row["predicate"],
        include=tuple(row["include"]),
        constraint=row["constraint"],
        definition=row["definition"],
        inherited=row["inherited"],
        comment=row["comment"],
    )


def _sequence(row: Row) -> m.SchemaObject:
    return m.Sequence(
        schema=row["schema"],
        name=row["name"],
        data_type=row["data_type"],
        start=int(row["start"]),
        increment=int(row["increment"]),
        minimum=int(row["minimum"]),
        maximum=int(row["maximum"]),
        cache=int(row["cache"]),
        cycle=row["cycle"],
        owned_by=row["owned_by"],
        **_access(row),
    )


def _view(row: Row) -> m.SchemaObject:
    return m.View(
        schema=row["schema"],
        name=row["name"],
        materialized=row["materialized"],
        definition=row["definition"],
        options=tuple(sorted(row["options"])),
        **_access(row),
    )


def _function(row: Row) -> m.SchemaObject:
    return m.Function(
        schema=row["schema"],
        name=row["name"],
        arguments=row["arguments"],
        procedure=row["procedure"],
        result=row["result"],
        language=row["language"],
        volatility=_VOLATILITY[row["volatility"]],
        strict=row["strict"],
        security_definer=row["security_definer"],
        leakproof=row["leakproof"],
        parallel=_PARALLEL[row["parallel"]],
        config=tuple(row["config"]),
        body=row["body"],
        definition=row["definition"],
        **_access(row),
    )


def _trigger(row: Row) -> m.SchemaObject:
    return m.Trigger(
        schema=row["schema"],
        table=row["table"],
        name=row["name"],
        definition=row["definition"],
        enabled=_ENABLED[row["enabled"]],
        inherited=row["inherited"],
        comment=row["comment"],
    )


def _policy(row: Row) -> m.SchemaObject:
    return m.Policy(
        schema=row["schema"],
        table=row["table"],
        name=row["name"],
        command=_COMMAND[row["command"]],
        permissive=row["permissive"],
        roles=tuple(row["roles"]),
        using=row["using"],
        check=row["check"],
        comment=row["comment"],
    )


def _enum(row: Row) -> m.SchemaObject:
    return m.Enum(
        schema=row["schema"], name=row["name"], labels=tuple(row["labels"]), **_access(row)
    )


def _domain(row: Row) -> m.SchemaObject:
    return m.Domain(
        schema=row["schema"],
        name=row["name"],
        type=row["type"],
        collation=row["collation"],
        default=row["default"],
        not_null=row["not_null"],
        constraints=tuple((name, text) for name, text in row["constraints"]),
        **_access(row),
    )


def _composite(row: Row) -> m.SchemaObject:
    members = tuple((name, kind, collation) for name, kind, collation in row["members"])
    return m.Composite(schema=row["schema"], name=row["name"], members=members, **_access(row))


QUERIES: tuple[tuple[str, Callable[[Row], m.SchemaObject]], ...] = (
    (tq.SCHEMAS, _schema),
    (tq.EXTENSIONS, _extension),
    (tq.ENUMS, _enum),
    (tq.DOMAINS, _domain),
    (tq.COMPOSITES, _composite),
    (rq.SEQUENCES, _sequence),
    (rq.TABLES, _table),
    (rq.COLUMNS, _column),
    (rq.CONSTRAINTS, _constraint),
    (rq.INDEXES, _index),
    (rq.VIEWS, _view),
    (tq.FUNCTIONS, _function),
    (rq.TRIGGERS, _trigger),
    (rq.POLICIES, _policy),
)

# every query as one JSON array of row objects, all in ONE statement: one round trip, rows typed
# by the server (booleans, numbers, nested arrays), and the same text from psycopg and from the
# libpq reader (no psycopg import for a comparison of two databases)
STATEMENT = (
    "WITH skip(names) AS (SELECT ARRAY(SELECT pg_catalog.json_array_elements_text("
    "%s::pg_catalog.json)))\nSELECT pg_catalog.json_build_object('version', "
    "pg_catalog.current_setting('server_version_num')::pg_catalog.int4, 'rows', "
    "pg_catalog.json_build_array("
    + ",\n".join(
        f"(SELECT coalesce(pg_catalog.json_agg(q), '[]') FROM ({query}) q)" for query, _ in QUERIES
    )
    + "))::pg_catalog.text"
)


def introspect(conn: Reader, selection: Filter) -> m.Model:
    """The model of the database ``conn`` (an autocommit psycopg connection or a libpq reader)
    is connected to, filtered by ``selection``."""
    skip = json.dumps(list(selection.skip_schemas))
    conn.execute("BEGIN TRANSACTION READ ONLY")
    try:
        conn.execute("SET LOCAL search_path = ''")
        row = conn.execute(STATEMENT, [skip]).fetchone()
        conn.execute("COMMIT")
    except BaseException:
        with suppress(Exception):
            conn.execute("ROLLBACK")
        raise
    assert row is not None  # one SELECT without FROM: always one row
    found = json.loads(row[0])
    batches = zip(found["rows"], (build for _, build in QUERIES), strict=True)
    return m.Model(objects=_build(batches, selection), server_version=found["version"])


def _build(
    rows: Iterable[tuple[list[Row], Callable[[Row], m.SchemaObject]]], selection: Filter
) -> dict[tuple[str, ...], m.SchemaObject]:
    objects: dict[tuple[str, ...], m.SchemaObject] = {}
    keeps = selection.keeps if selection.selects else None
    for batch, build in rows:
        for row in batch:
            obj = build(row)
            if keeps is None or keeps(obj):
                objects[obj.key] = obj
    return {key: objects[key] for key in sorted(objects, key=m.key_order)}
