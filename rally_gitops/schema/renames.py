"""``--rename table:public.a=b`` and ``--rename column:public.t.a=b``: a drop and an add the
developer says are one object renamed. The source model is renamed first (so the diff sees no
drop nor add), and the plan starts with the ``ALTER ... RENAME``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rally_gitops.errors import ConfigError
from rally_gitops.schema import model as m
from rally_gitops.schema.graph import names
from rally_gitops.schema.model import quote_ident as q


@dataclass(frozen=True)
class Rename:
    """One rename: ``kind`` table or column, in ``schema`` (``table`` for a column)."""

    kind: str
    schema: str
    table: str
    old: str
    new: str

    def statement(self) -> str:
        """The ``ALTER TABLE ... RENAME`` it stands for."""
        if self.kind == "table":
            return f"ALTER TABLE {q(self.schema)}.{q(self.old)} RENAME TO {q(self.new)}"
        return (
            f"ALTER TABLE {q(self.schema)}.{q(self.table)} "
            f"RENAME COLUMN {q(self.old)} TO {q(self.new)}"
        )


def parse(spec: str) -> Rename:
    """``table:SCHEMA.OLD=NEW`` or ``column:SCHEMA.TABLE.OLD=NEW``; a usage error otherwise."""
    kind, _, rest = spec.partition(":")
    path, _, new = rest.partition("=")
    parts = next(names(path), ()) if path else ()
    wanted = {"table": 2, "column": 3}.get(kind)
    if wanted is None or len(parts) != wanted or not new:
        raise ConfigError(
            f"--rename {spec!r}: write table:SCHEMA.OLD=NEW or column:SCHEMA.TABLE.OLD=NEW"
        )
    table = parts[1] if kind == "column" else ""
    return Rename(kind, parts[0], table, parts[-1], new)


def apply(model: m.Model, rename: Rename) -> m.Model:
    """``model`` with the object renamed (and everything that names it by identity)."""
    key: tuple[str, ...] = ("table", rename.schema, rename.old)
    if rename.kind == "column":
        key = ("column", rename.schema, rename.table, rename.old)
    if key not in model.objects:
        raise ConfigError(f"--rename: {'.'.join(key[1:])} is no {rename.kind} of the source")
    objects = {}
    for obj in model:
        new = _renamed(obj, rename)
        objects[new.key] = new
    return m.Model(objects=objects, server_version=model.server_version)


def _renamed(obj: m.SchemaObject, r: Rename) -> m.SchemaObject:
    changes: dict[str, object] = {}
    if r.kind == "table":
        if isinstance(obj, m.Table) and (obj.schema, obj.name) == (r.schema, r.old):
            changes["name"] = r.new
        if getattr(obj, "table", None) == r.old and obj.schema == r.schema:
            changes["table"] = r.new
        if isinstance(obj, m.Constraint) and obj.references == (r.schema, r.old):
            changes["references"] = (r.schema, r.new)
    elif getattr(obj, "table", None) == r.table and obj.schema == r.schema:
        if isinstance(obj, m.Column) and obj.name == r.old:
            changes["name"] = r.new
        if isinstance(obj, m.Constraint):
            changes["columns"] = tuple(r.new if c == r.old else c for c in obj.columns)
    return dataclasses.replace(obj, **changes) if changes else obj  # type: ignore[arg-type]
