"""What a plan does around a type or function that PostgreSQL cannot change in place: an enum
losing or reordering values, a domain changing its base type and a composite type changing while
a column has it are rebuilt beside the old type with their columns converted; a column default
that calls a recreated function is dropped around the DROP/CREATE and set again."""

from __future__ import annotations

from collections.abc import Callable

from rally_gitops.schema import model as m
from rally_gitops.schema import sql
from rally_gitops.schema.graph import Key, mentions
from rally_gitops.schema.model import quote_ident as q
from rally_gitops.schema.steps import CREATE, DROP, Step


def rebuild_type(
    old: m.SchemaObject, new: m.SchemaObject, target: m.Model, retyped: set[Key]
) -> list[str]:
    """An enum or domain renamed aside, created anew, every column of it (or of its array)
    converted through text (an enum) or the new base type (a domain), the old type dropped.
    The tables and columns converted are added to ``retyped`` (what stands on them goes before
    and comes back)."""
    assert isinstance(new, (m.Enum, m.Domain))
    word = "DOMAIN" if isinstance(new, m.Domain) else "TYPE"
    through = new.type if isinstance(new, m.Domain) else "text"
    aside = q(new.name + "__rally_old")
    out = [f"ALTER {word} {new.shown} RENAME TO {aside}", *sql.create(new)]
    for col in target.of(m.Column):
        assert isinstance(col, m.Column)
        if col.type not in (new.shown, new.shown + "[]"):
            continue
        retyped |= {("table", col.schema, col.table), col.key}
        head = f"ALTER TABLE {sql.table_name(col)} ALTER COLUMN {q(col.name)}"
        cast = through + "[]" if col.type.endswith("[]") else through
        # the old default names the old type (by oid): it goes first, and comes back after
        if col.default is not None:
            out.append(f"{head} DROP DEFAULT")
        out.append(f"{head} TYPE {col.type} USING {q(col.name)}::{cast}::{col.type}")
        if col.default is not None:
            out.append(f"{head} SET DEFAULT {col.default}")
    out.append(f"DROP {word} {q(new.schema)}.{aside}")
    return out


def rebuild_composite(
    old: m.SchemaObject, new: m.SchemaObject, target: m.Model, retyped: set[Key]
) -> list[str] | None:
    """A composite type whose attributes change while a column has it (PostgreSQL refuses to
    alter it then): renamed aside, created anew, each column converted attribute by attribute
    (``None``: no column has it, ALTER TYPE does; or an array of it does, left to fail)."""
    assert isinstance(old, m.Composite) and isinstance(new, m.Composite)
    columns = [c for c in target.of(m.Column) if isinstance(c, m.Column) and c.type == new.shown]
    arrays = [c for c in target.of(m.Column) if getattr(c, "type", "") == new.shown + "[]"]
    if not columns or arrays:
        return None
    aside = q(new.name + "__rally_old")
    out = [f"ALTER TYPE {new.shown} RENAME TO {aside}", *sql.create(new)]
    kept = {name for name, _, _ in old.members}
    for col in columns:
        retyped |= {("table", col.schema, col.table), col.key}
        name = q(col.name)
        head = f"ALTER TABLE {sql.table_name(col)} ALTER COLUMN {name}"
        fields = ", ".join(
            f"({name}).{q(n)}::{kind}" if n in kept else f"NULL::{kind}"
            for n, kind, _ in new.members
        )
        if col.default is not None:
            out.append(f"{head} DROP DEFAULT")
        # ROW() of a NULL is a row of NULLs: a NULL stays NULL
        out.append(
            f"{head} TYPE {col.type} USING CASE WHEN {name} IS NULL THEN NULL "
            f"ELSE ROW({fields})::{col.type} END"
        )
        if col.default is not None:
            out.append(f"{head} SET DEFAULT {col.default}")
    out.append(f"DROP TYPE {q(new.schema)}.{aside}")
    return out


def defaults_around(
    source: m.Model,
    target: m.Model,
    hard: tuple[dict[Key, set[Key]], dict[Key, set[Key]]],
    recreate: set[Key],
    steps: dict[Key, Step],
    is_new: Callable[[Key], bool],
) -> None:
    """A column default that calls something recreated (a function whose result type changes)
    is dropped in the DROP's step and set again in the CREATE's: PostgreSQL refuses to drop what
    a default uses, and the column itself stays. ``is_new``: the table is created (or dropped
    and created) by the plan, and its own statements take care of the default."""
    hard_s, hard_t = hard  # what each object needs, in the source and in the target
    for col_key, needs in hard_s.items():
        used = sorted(k for k in needs & recreate if k[0] != "column")
        old = source.objects[col_key]
        if not used or not isinstance(old, m.Column) or old.default is None:
            continue
        table = ("table", old.schema, old.table)
        if table not in target.objects or is_new(table):
            continue
        head = f"ALTER TABLE {sql.table_name(old)} ALTER COLUMN {q(old.name)}"
        new = target.objects.get(col_key)
        for key in used:
            drop, create = steps.get((DROP, *key)), steps.get((CREATE, *key))
            if drop is not None:
                drop.statements.insert(0, f"{head} DROP DEFAULT")
            # a default that changes too is set by the column's own step, after the CREATE
            if (
                create is not None
                and isinstance(new, m.Column)
                and new.default == old.default
                and key in hard_t.get(col_key, set())
            ):
                create.statements.append(f"{head} SET DEFAULT {new.default}")


def on_retype(obj: m.SchemaObject, retyped: set[Key]) -> bool:
    """What PostgreSQL refuses to keep over a column changing type: a view over its table;
    a policy, a trigger (its WHEN) or a generated column that names the column."""
    if isinstance(obj, m.View):
        return True
    if not isinstance(obj, (m.Policy, m.Trigger, m.Column)):
        return False
    if isinstance(obj, m.Column) and not obj.generated:
        return False
    table = (obj.schema, getattr(obj, "table", ""))
    columns = {k[-1] for k in retyped if k[0] == "column" and k[1:3] == table} - {obj.name}
    return any(mentions(obj, name) for name in columns)
