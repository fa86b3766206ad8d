"""The difference of two models: what turns SOURCE into TARGET, one ``Change`` per object.

``added`` objects exist only in the target, ``dropped`` ones only in the source, ``changed``
ones in both with different fields (``FieldChange``: field, source value, target value). Children
of an added or dropped table are listed too (``generate`` needs them); reports hide them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rally_gitops.schema.model import ACCESS_FIELDS, Column, Model, SchemaObject, key_order

ADDED, DROPPED, CHANGED = "added", "dropped", "changed"
ACTIONS = (ADDED, CHANGED, DROPPED)


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its name and its value on each side."""

    field: str
    source: Any
    target: Any


@dataclass(frozen=True)
class Change:
    """One object added, dropped or changed; ``source``/``target`` are its two versions."""

    action: str
    source: SchemaObject | None
    target: SchemaObject | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def obj(self) -> SchemaObject:
        """The object as it is on the side that has it (the target when both do)."""
        found = self.target or self.source
        assert found is not None
        return found

    @property
    def key(self) -> tuple[str, ...]:
        return self.obj.key


@dataclass(frozen=True)
class Diff:
    """Every change, in model order (kind, then identity)."""

    changes: tuple[Change, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def count(self, action: str) -> int:
        """How many changes have ``action``."""
        return sum(1 for c in self.changes if c.action == action)


def diff(source: Model, target: Model, *, privileges: bool = False, owners: bool = False) -> Diff:
    """Compare two models; owners and privileges only when asked for."""
    ignored = {
        f for f, wanted in zip(ACCESS_FIELDS, (owners, privileges), strict=True) if not wanted
    }
    keys = list(source.objects) + [k for k in target.objects if k not in source.objects]
    changes: list[Change] = []
    unmoved = _tables_with_same_column_order(source, target)
    for key in sorted(keys, key=key_order):
        old, new = source.objects.get(key), target.objects.get(key)
        if old == new:  # most objects: one tuple comparison, no field-by-field look
            continue
        if old is None:
            changes.append(Change(ADDED, None, new))
        elif new is None:
            changes.append(Change(DROPPED, old, None))
        else:
            fields = _fields(old, new, ignored)
            if isinstance(old, Column) and old.parent in unmoved:
                fields = tuple(f for f in fields if f.field != "position")
            if fields:
                changes.append(Change(CHANGED, old, new, fields))
    return Diff(tuple(changes))


def _fields(old: SchemaObject, new: SchemaObject, ignored: set[str]) -> tuple[FieldChange, ...]:
    a, b = old.attributes(), new.attributes()
    differing = [f for f in a if f not in ignored and a[f] != b[f]]
    # the canonical texts repeat the other fields: only news when nothing else differs
    primary = [f for f in differing if f not in old.DERIVED]
    return tuple(FieldChange(f, a[f], b[f]) for f in (primary or differing))


def _tables_with_same_column_order(source: Model, target: Model) -> set[tuple[str, ...] | None]:
    """Tables whose common columns come in the same order on both sides: there a column added or
    dropped before others shifts their positions, which is not a change of theirs."""
    Order = tuple[list[tuple[int, str]], list[tuple[int, str]]]
    order: dict[tuple[str, ...] | None, Order] = defaultdict(lambda: ([], []))
    for side, model in enumerate((source, target)):
        for obj in model:  # any order: each side's columns are sorted by position below
            if isinstance(obj, Column):
                order[obj.parent][side].append((obj.position, obj.name))
    same: set[tuple[str, ...] | None] = set()
    for table, (left, right) in order.items():
        common = {n for _, n in left} & {n for _, n in right}
        if [n for _, n in sorted(left) if n in common] == [
            n for _, n in sorted(right) if n in common
        ]:
            same.add(table)
    return same
