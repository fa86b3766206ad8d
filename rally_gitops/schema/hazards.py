"""Data loss named: which steps of a plan can lose rows or values, and possible renames."""

from __future__ import annotations

import re

from rally_gitops.schema import model as m
from rally_gitops.schema.diff import ADDED, DROPPED, Diff

_INTEGERS = ("smallint", "integer", "bigint")
_VARYING = re.compile(r"^character varying(?:\((\d+)\))?$")
_NUMERIC = re.compile(r"^numeric(?:\((\d+),(\d+)\))?$")


def widening(old: str, new: str) -> bool:
    """True when every value of type ``old`` fits ``new`` unchanged (int → bigint, varchar(n) →
    varchar(m ≥ n) or text, numeric(p,s) → numeric(q ≥ p, s) or numeric, real → double)."""
    if old == new:
        return True
    if old in _INTEGERS and (new in _INTEGERS[_INTEGERS.index(old) :] or new == "numeric"):
        return True
    if old == "real" and new == "double precision":
        return True
    if (v := _VARYING.match(old)) and new == "text":
        return True
    if (v := _VARYING.match(old)) and (w := _VARYING.match(new)):
        return w.group(1) is None or (v.group(1) is not None and int(w[1]) >= int(v[1]))
    if (v := _NUMERIC.match(old)) and (w := _NUMERIC.match(new)):
        if w.group(1) is None:
            return True
        return v.group(1) is not None and int(w[1]) >= int(v[1]) and w[2] == v[2]
    return False


def dropped(obj: m.SchemaObject) -> str | None:
    """The hazard of dropping ``obj`` (tables, columns, schemas), if any."""
    if isinstance(obj, m.Table):
        return f"data loss: drops table {obj.shown} and its rows"
    if isinstance(obj, m.Column):
        return f"data loss: drops column {obj.shown} and its values"
    if isinstance(obj, m.Schema):
        return f"data loss: drops schema {obj.shown}"
    return None


def retyped(old: m.Column, new: m.Column) -> str | None:
    """The hazard of changing a column's type: anything but a widening may fail or lose data."""
    if widening(old.type, new.type):
        return None
    return f"data loss: narrows column {new.shown} from {old.type} to {new.type}"


def domain_retyped(old: m.Domain, new: m.Domain) -> str | None:
    """The hazard of rebuilding a domain on another base type: a narrowing one may fail."""
    if widening(old.type, new.type):
        return None
    return f"data loss: narrows domain {new.shown} from {old.type} to {new.type}"


def attributes(old: m.Composite, new: m.Composite) -> str | None:
    """The hazard of converting a composite type's columns: attributes dropped or narrowed."""
    after = {name: kind for name, kind, _ in new.members}
    lost = [
        name
        for name, kind, _ in old.members
        if name not in after or not widening(kind, after[name])
    ]
    if not lost:
        return None
    return f"data loss: drops or narrows attribute {', '.join(lost)} of type {new.shown}"


def enum_values(old: m.Enum, new: m.Enum) -> str | None:
    """The hazard of rebuilding an enum without some of its values."""
    gone = [label for label in old.labels if label not in new.labels]
    if not gone:
        return None
    shown = ", ".join(repr(g) for g in gone)
    return f"data loss: drops value {shown} of enum {new.shown} (rows holding it fail)"


def possible_renames(result: Diff) -> list[str]:
    """A dropped and an added column of one type in one table, or a dropped and an added table
    with the same columns: the ``--rename`` that would make each a RENAME."""
    out: list[str] = []
    added = [c.obj for c in result.changes if c.action == ADDED]
    gone = [c.obj for c in result.changes if c.action == DROPPED]
    gone_tables = {o.key for o in gone if isinstance(o, m.Table)}
    new_tables = {o.key for o in added if isinstance(o, m.Table)}
    for old in gone:
        if not isinstance(old, m.Column) or old.parent in gone_tables:
            continue
        for new in added:
            if (
                isinstance(new, m.Column)
                and new.parent == old.parent
                and new.type == old.type
                and new.parent not in new_tables
            ):
                out.append(f"column:{old.schema}.{old.table}.{old.name}={new.name}")
    shapes: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for obj in (*gone, *added):
        if isinstance(obj, m.Column):
            shapes.setdefault(obj.parent or (), []).append((obj.name, obj.type))
    for old in gone:
        if isinstance(old, m.Table):
            for new in added:
                if (
                    isinstance(new, m.Table)
                    and new.schema == old.schema
                    and sorted(shapes.get(old.key, [])) == sorted(shapes.get(new.key, []))
                ):
                    out.append(f"table:{old.schema}.{old.name}={new.name}")
    return out
