"""Online mode: a plan split into migration files that take no long lock on existing tables.

1. the main file (in a transaction): everything, but foreign keys and checks added to existing
   tables ``NOT VALID``, and ``SET NOT NULL`` on them replaced by ``CHECK (c IS NOT NULL) NOT
   VALID``; an index drop stays here when the same file drops what the index uses;
2. a ``-- rally:no-transaction`` file: ``CREATE/DROP INDEX CONCURRENTLY`` on existing tables
   (on a partitioned one: ``ON ONLY`` the parent, each partition's concurrently, attached);
3. a later file (in a transaction of its own: in the first one VALIDATE would take back the lock
   NOT VALID avoided): the VALIDATEs, then ``SET NOT NULL`` and the helper check dropped.

Each file has its own rollback; the rollbacks run last file first, so the main file's rollback
leaves out what the later files' rollbacks already undo. A table created or recreated in the
same migration needs none of this: it is empty and nobody uses it yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rally_gitops.schema import model as m
from rally_gitops.schema import sql
from rally_gitops.schema.graph import names
from rally_gitops.schema.model import quote_ident as q
from rally_gitops.schema.sql import table_name
from rally_gitops.schema.steps import CREATE, DROP, Plan, Step


@dataclass
class Part:
    """One migration file's SQL: ``up`` and ``down`` are lines (statements end with ``;``)."""

    suffix: str
    no_transaction: bool = False
    up: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)


def concurrently(definition: str) -> str:
    """``CREATE [UNIQUE] INDEX name ...`` as ``CREATE [UNIQUE] INDEX CONCURRENTLY name ...``."""
    return definition.replace(" INDEX ", " INDEX CONCURRENTLY ", 1)


def split(up: Plan, down: Plan, source: m.Model, target: m.Model) -> list[Part]:
    """The files of ``up`` in online mode (one when nothing needs splitting)."""
    main, index, later = Part(""), Part("_concurrently", no_transaction=True), Part("_validate")
    skip: set[str] = set()  # statements of the main rollback that a later rollback does
    touched = _rewritten_tables(up)
    dropped = {
        s.obj.key[1:3]
        for s in up.steps
        if s.action == DROP and not isinstance(s.obj, (m.TableScoped, m.Index, m.Table))
    }
    prelude = [f"{text};" for text in up.prelude]
    if up.needs_unchecked_bodies():
        prelude.append("SET check_function_bodies = off;")
    main.up += prelude
    for step in up.steps:
        if step.hazard:
            main.up.append(f"-- hazard: {step.hazard}")
        table = _existing_table(step.obj, source, up)
        if table is None:
            main.up += [f"{s};" for s in step.statements]
        elif (
            isinstance(step.obj, m.Index)
            and step.action == CREATE
            and _partitioned(table, source)
            and (children := _partition_indexes(step.obj, target)) is not None
        ):
            _index_partitions(step.obj, children, index)
        elif (
            isinstance(step.obj, m.Index)
            and step.action == CREATE
            and not _partitioned(table, source)
        ):
            index.up += [
                f"{concurrently(step.statements[0])};",
                *(f"{s};" for s in step.statements[1:]),
            ]
            index.down.insert(0, f"DROP INDEX CONCURRENTLY {step.obj.shown};")
            skip.add(f"DROP INDEX {step.obj.shown}")
        elif (
            isinstance(step.obj, m.Index)
            and step.action == DROP
            and table not in touched
            and not _partitioned(table, source)
            and not _uses_dropped(step.obj, dropped)
        ):
            index.up.append(f"DROP INDEX CONCURRENTLY {step.obj.shown};")
            old = source.objects[step.obj.key]
            assert isinstance(old, m.Index)
            index.down.insert(0, f"{concurrently(old.definition)};")
            skip.add(old.definition)
        elif isinstance(step.obj, m.Constraint) and step.action == CREATE and _keyed(step.obj):
            _key_using_index(step, target, index, later, skip)
        elif isinstance(step.obj, m.Constraint) and step.action == CREATE and _deferrable(step.obj):
            main.up.append(f"{step.statements[0]} NOT VALID;")
            main.up += [f"{s};" for s in step.statements[1:]]
            later.up.append(
                f"ALTER TABLE {table_name(step.obj)} VALIDATE CONSTRAINT {q(step.obj.name)};"
            )
        elif isinstance(step.obj, m.Column):
            _not_null(step, main, later, skip)
        else:
            main.up += [f"{s};" for s in step.statements]
    main.down = [line for line in _lines(down, skip)]
    if later.up and not later.down:
        later.down.insert(0, "-- nothing to undo: VALIDATE only checked the rows")
    return [p for p in (main, index, later) if p.up]


def _index_partitions(parent: m.Index, children: list[m.Index], index: Part) -> None:
    """An index on a partitioned table, which PostgreSQL cannot build CONCURRENTLY: the parent's
    alone (``ON ONLY``: instant, invalid), each partition's CONCURRENTLY and attached (the
    parent's is valid once all are). Undone by dropping the parent's, which takes the rest."""
    index.up.append(f"{parent.definition};")
    for child in children:
        index.up.append(f"{concurrently(child.definition)};")
        index.up.append(f"ALTER INDEX {parent.shown} ATTACH PARTITION {child.shown};")
    index.up += [f"{s};" for s in sql.create(parent)[1:]]  # its comment
    index.down.insert(0, f"DROP INDEX {parent.shown};")


def _partition_indexes(parent: m.Index, target: m.Model) -> list[m.Index] | None:
    """The index of each partition of ``parent``'s table that matches ``parent`` in the target
    (PostgreSQL named them), or ``None`` when one is missing or a partition is partitioned."""
    table = f"{q(parent.schema)}.{q(parent.table)}"
    found: list[m.Index] = []
    for part in target.of(m.Table):
        assert isinstance(part, m.Table)
        if part.partition_of != table:
            continue
        if part.partitioned:
            return None
        match = [
            i
            for i in target.of(m.Index)
            if isinstance(i, m.Index)
            and i.inherited
            and (i.schema, i.table) == (part.schema, part.name)
            and i.unique == parent.unique
            and _shape(i) == _shape(parent)
            and i not in found
        ]
        if not match:
            return None
        found.append(match[0])
    return found


def _shape(index: m.Index) -> str:
    """An index definition without its name and table: what a partition's copy repeats."""
    return index.definition.partition(" USING ")[2]


def _keyed(con: m.Constraint) -> bool:
    return con.type in ("primary key", "unique") and " USING INDEX" not in con.definition


def _key_using_index(step: Step, target: m.Model, index: Part, later: Part, skip: set[str]) -> None:
    """A primary key or unique constraint: its index built CONCURRENTLY, then adopted."""
    con = step.obj
    assert isinstance(con, m.Constraint)
    built = target.objects.get(("index", con.schema, con.name))
    assert isinstance(built, m.Index)
    head = f"ALTER TABLE {table_name(con)}"
    index.up.append(f"{concurrently(built.definition)};")
    index.down.insert(0, f"DROP INDEX CONCURRENTLY IF EXISTS {built.shown};")
    word = con.type.upper()
    later.up.append(f"{head} ADD CONSTRAINT {q(con.name)} {word} USING INDEX {q(con.name)};")
    later.up += [f"{s};" for s in step.statements[1:]]
    undo = f"{head} DROP CONSTRAINT {q(con.name)}"
    later.down.insert(0, f"{undo};")
    skip.add(undo)


def _not_null(step: Step, main: Part, later: Part, skip: set[str]) -> None:
    """``SET NOT NULL`` through a check proved first (the scan then needs no lock held long)."""
    col = step.obj
    assert isinstance(col, m.Column)
    head = f"ALTER TABLE {table_name(col)}"
    set_not_null = f"{head} ALTER COLUMN {q(col.name)} SET NOT NULL"
    for text in step.statements:
        if text != set_not_null:
            main.up.append(f"{text};")
            continue
        check = q(f"{col.table}_{col.name}_not_null"[:63])
        main.up.append(
            f"{head} ADD CONSTRAINT {check} CHECK ({q(col.name)} IS NOT NULL) NOT VALID;"
        )
        later.up += [
            f"{head} VALIDATE CONSTRAINT {check};",
            f"{set_not_null};",
            f"{head} DROP CONSTRAINT {check};",
        ]
        undo = f"{head} ALTER COLUMN {q(col.name)} DROP NOT NULL"
        later.down.insert(0, f"{undo};")
        skip.add(undo)


def _lines(down: Plan, skip: set[str]) -> list[str]:
    lines = [f"{text};" for text in down.prelude]
    if down.needs_unchecked_bodies():
        lines.append("SET check_function_bodies = off;")
    for step in down.steps:
        kept = [s for s in step.statements if s not in skip]
        if kept and step.hazard:
            lines.append(f"-- hazard: {step.hazard}")
        lines += [f"{s};" for s in kept]
    return lines


def _deferrable(con: m.Constraint) -> bool:
    """Foreign keys and checks can be added NOT VALID (and are wanted validated)."""
    return con.type in ("foreign key", "check") and con.validated


def _existing_table(obj: m.SchemaObject, source: m.Model, up: Plan) -> tuple[str, ...] | None:
    """The key of the table ``obj`` belongs to when that table exists before and is kept."""
    parent = obj.parent
    if parent is None or parent not in source.objects:
        return None
    recreated = {s.obj.key for s in up.steps if s.action == DROP}
    return None if parent in recreated else parent


def _uses_dropped(index: m.SchemaObject, dropped: set[tuple[str, ...]]) -> bool:
    """An index whose definition names what the main file drops (a function recreated with
    another result type): its drop stays in the main file, before that drop."""
    assert isinstance(index, m.Index)
    return any(chain[i : i + 2] in dropped for chain in names(index.definition) for i in range(2))


def _partitioned(table: tuple[str, ...], source: m.Model) -> bool:
    obj = source.objects.get(table)
    return bool(getattr(obj, "partitioned", False))


def _rewritten_tables(up: Plan) -> set[tuple[str, ...]]:
    """Tables with a column dropped or changed: their index drops stay in the main file."""
    return {
        s.obj.parent
        for s in up.steps
        if isinstance(s.obj, m.Column) and s.action != CREATE and s.obj.parent
    }
