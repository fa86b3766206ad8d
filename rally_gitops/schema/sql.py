"""The DDL of one object: how to create it, drop it, or alter it in place from one version to
the next (``None`` when PostgreSQL cannot, and the plan recreates it).

Every text the model holds was read under ``search_path = ''``, so expressions, types and the
``pg_get_*def`` definitions are schema-qualified and can be replayed as they are.
"""

from __future__ import annotations

from rally_gitops.schema import model as m
from rally_gitops.schema.model import quote_ident as q


def literal(text: str) -> str:
    """``text`` as an SQL string literal (standard_conforming_strings, the default)."""
    return "'" + text.replace("'", "''") + "'"


def table_name(obj: m.SchemaObject) -> str:
    """The qualified name of the table ``obj`` belongs to."""
    return f"{q(obj.schema)}.{q(str(getattr(obj, 'table', '')))}"


def _name(obj: m.SchemaObject) -> str:
    return f"{q(obj.schema)}.{q(obj.name)}"


def comment_on(obj: m.SchemaObject, text: str | None) -> str:
    """``COMMENT ON <kind> <name> IS ...`` (``NULL`` removes it)."""
    value = "NULL" if text is None else literal(text)
    if isinstance(obj, (m.Constraint, m.Trigger, m.Policy)):
        word = obj.KIND.upper()
        what = f"{word} {q(obj.name)} ON {table_name(obj)}"
    elif isinstance(obj, m.Column):
        what = f"COLUMN {obj.shown}"
    elif isinstance(obj, (m.Enum, m.Composite)):
        what = f"TYPE {obj.shown}"
    else:
        what = f"{obj.kind.upper()} {obj.shown}"
    return f"COMMENT ON {what} IS {value}"


def identity_options(text: str | None) -> str:
    """Identity options without their ``AS type``: the column's type is the sequence's, and
    PostgreSQL refuses the two together."""
    words = (text or "").split()
    return " ".join(words[2:] if words[:1] == ["AS"] else words)


def column_spec(col: m.Column) -> str:
    """A column as CREATE TABLE / ADD COLUMN writes it."""
    parts = [q(col.name), col.type]
    if col.collation:
        parts.append(f"COLLATE {col.collation}")
    if col.generated:
        parts.append(f"GENERATED ALWAYS AS ({col.generated_expression}) STORED")
    if col.identity:
        options = identity_options(col.identity_options)
        parts.append(f"GENERATED {col.identity.upper()} AS IDENTITY ({options})")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if col.not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def _sequence_options(seq: m.Sequence) -> str:
    cycle = "CYCLE" if seq.cycle else "NO CYCLE"
    return (
        f"INCREMENT BY {seq.increment} MINVALUE {seq.minimum} MAXVALUE {seq.maximum} "
        f"START WITH {seq.start} CACHE {seq.cache} {cycle}"
    )


def create_table(table: m.Table, columns: list[m.Column]) -> str:
    """CREATE TABLE with its own columns (a partition's come from its parent)."""
    unlogged = "UNLOGGED " if table.unlogged else ""
    head = f"CREATE {unlogged}TABLE {_name(table)}"
    if table.partition_of:
        text = f"{head} PARTITION OF {table.partition_of} {table.partition_bound}"
    else:
        own = [c for c in columns if not c.inherited]
        body = ",\n".join(f"    {column_spec(c)}" for c in own)
        text = f"{head} (\n{body}\n)" if own else f"{head} ()"
        if table.inherits:
            text += f" INHERITS ({', '.join(table.inherits)})"
    if table.partition_key:
        text += f" PARTITION BY {table.partition_key}"
    if table.options:
        text += f" WITH ({', '.join(table.options)})"
    return text


def _table_flags(table: m.Table) -> list[str]:
    out = []
    if table.rls_enabled:
        out.append(f"ALTER TABLE {_name(table)} ENABLE ROW LEVEL SECURITY")
    if table.rls_forced:
        out.append(f"ALTER TABLE {_name(table)} FORCE ROW LEVEL SECURITY")
    return out


def create(obj: m.SchemaObject, columns: list[m.Column] | None = None) -> list[str]:
    """The statements that create ``obj`` (a table with ``columns``), its comment included."""
    out = _create(obj, columns or [])
    if obj.comment is not None:
        out.append(comment_on(obj, obj.comment))
    if isinstance(obj, m.Table):
        out += [comment_on(c, c.comment) for c in columns or [] if c.comment is not None]
    return out


def _create(obj: m.SchemaObject, columns: list[m.Column]) -> list[str]:
    if isinstance(obj, m.Schema):
        return [f"CREATE SCHEMA {obj.shown}"]
    if isinstance(obj, m.Extension):
        return [
            f"CREATE EXTENSION IF NOT EXISTS {obj.shown} WITH SCHEMA {q(obj.schema)} "
            f"VERSION {literal(obj.version)}"
        ]
    if isinstance(obj, m.Enum):
        return [f"CREATE TYPE {obj.shown} AS ENUM ({', '.join(map(literal, obj.labels))})"]
    if isinstance(obj, m.Domain):
        text = f"CREATE DOMAIN {obj.shown} AS {obj.type}"
        text += f" COLLATE {obj.collation}" if obj.collation else ""
        text += f" DEFAULT {obj.default}" if obj.default is not None else ""
        text += " NOT NULL" if obj.not_null else ""
        text += "".join(f" CONSTRAINT {q(n)} {d}" for n, d in obj.constraints)
        return [text]
    if isinstance(obj, m.Composite):
        return [f"CREATE TYPE {obj.shown} AS ({', '.join(map(_member, obj.members))})"]
    if isinstance(obj, m.Sequence):
        return [f"CREATE SEQUENCE {obj.shown} AS {obj.data_type} {_sequence_options(obj)}"]
    if isinstance(obj, m.Table):
        return [create_table(obj, columns), *_table_flags(obj)]
    if isinstance(obj, m.Column):
        return [f"ALTER TABLE {table_name(obj)} ADD COLUMN {column_spec(obj)}"]
    if isinstance(obj, m.Constraint):
        return [f"ALTER TABLE {table_name(obj)} ADD CONSTRAINT {q(obj.name)} {obj.definition}"]
    if isinstance(obj, m.Index):
        # a partitioned table's index is shown ON ONLY; created plainly it reaches partitions
        return [obj.definition.replace(" ON ONLY ", " ON ", 1)]
    if isinstance(obj, m.View):
        word = "MATERIALIZED VIEW" if obj.materialized else "VIEW"
        options = f" WITH ({', '.join(obj.options)})" if obj.options else ""
        return [f"CREATE {word} {obj.shown}{options} AS\n{obj.definition.rstrip().rstrip(';')}"]
    if isinstance(obj, m.Function):
        return [obj.definition.rstrip()]
    if isinstance(obj, m.Trigger):
        out = [obj.definition]
        if obj.enabled != "origin":
            out.append(trigger_enabled(obj))
        return out
    if isinstance(obj, m.Policy):
        return [_create_policy(obj)]
    raise ValueError(f"no DDL for {obj.kind}")


def _member(member: tuple[str, str, str | None]) -> str:
    name, kind, collation = member
    return f"{q(name)} {kind}" + (f" COLLATE {collation}" if collation else "")


def trigger_enabled(trg: m.Trigger) -> str:
    """ENABLE/DISABLE the trigger as its ``enabled`` says."""
    word = {
        "origin": "ENABLE",
        "disabled": "DISABLE",
        "replica": "ENABLE REPLICA",
        "always": "ENABLE ALWAYS",
    }[trg.enabled]
    return f"ALTER TABLE {table_name(trg)} {word} TRIGGER {q(trg.name)}"


def _create_policy(pol: m.Policy) -> str:
    text = f"CREATE POLICY {q(pol.name)} ON {table_name(pol)}"
    text += f" AS {'PERMISSIVE' if pol.permissive else 'RESTRICTIVE'} FOR {pol.command.upper()}"
    text += f" TO {', '.join(r if r == 'public' else q(r) for r in pol.roles)}"
    text += f" USING ({pol.using})" if pol.using is not None else ""
    text += f" WITH CHECK ({pol.check})" if pol.check is not None else ""
    return text


def drop(obj: m.SchemaObject) -> list[str]:
    """The statement that drops ``obj``."""
    if isinstance(obj, m.Column):
        return [f"ALTER TABLE {table_name(obj)} DROP COLUMN {q(obj.name)}"]
    if isinstance(obj, m.Constraint):
        return [f"ALTER TABLE {table_name(obj)} DROP CONSTRAINT {q(obj.name)}"]
    if isinstance(obj, (m.Trigger, m.Policy)):
        return [f"DROP {obj.KIND.upper()} {q(obj.name)} ON {table_name(obj)}"]
    if isinstance(obj, (m.Enum, m.Composite, m.Domain)):
        word = "DOMAIN" if isinstance(obj, m.Domain) else "TYPE"
        return [f"DROP {word} {obj.shown}"]
    return [f"DROP {obj.kind.upper()} {obj.shown}"]
