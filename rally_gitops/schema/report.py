"""The diff for people (one line per object, grouped by kind) and for machines (JSON).

Text lines read ``+ table public.user_preferences``, ``- index public.users_team_id_idx``,
``~ column public.users.nickname: type character varying(40) → character varying(80)``; a long
or multi-line value (a function body, a view definition) is just "differs". Children of an added
or dropped table (its columns, constraints, indexes...) are left out of the text: the table's
line says it all. JSON lists every change with both values.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rally_gitops.schema.diff import ADDED, CHANGED, DROPPED, Change, Diff, FieldChange

MARK = {ADDED: "+", DROPPED: "-", CHANGED: "~"}
_LONG = 100
_SUMMARIZED = {"body"}  # a function body is never worth printing in a line


def visible(result: Diff) -> list[Change]:
    """The changes worth a line: not the children of a table added or dropped as a whole."""
    whole = {c.key for c in result.changes if c.action in (ADDED, DROPPED)}
    return [c for c in result.changes if c.obj.parent not in whole or c.action == CHANGED]


def lines(result: Diff) -> list[str]:
    """The text report, grouped by kind (a blank line between kinds)."""
    out: list[str] = []
    kind = None
    for change in visible(result):
        if kind is not None and change.obj.kind != kind:
            out.append("")
        kind = change.obj.kind
        out.append(line(change))
    return out


def line(change: Change) -> str:
    """One change as ``<mark> <kind> <name>[: what differs]``."""
    obj = change.obj
    text = f"{MARK[change.action]} {obj.kind} {obj.shown}"
    if change.action == CHANGED:
        text += ": " + "; ".join(describe(f) for f in change.fields)
    return text


def describe(field: FieldChange) -> str:
    """``type integer → bigint``, or ``body differs`` for long texts."""
    name = field.field.replace("_", " ")
    old, new = shown_value(field.source), shown_value(field.target)
    if field.field in _SUMMARIZED or max(len(old), len(new)) > _LONG or "\n" in old + new:
        return f"{name} differs"
    return f"{name} {old} → {new}"


def shown_value(value: Any) -> str:
    """A field value in a report line."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return "(" + ", ".join(shown_value(v) for v in value) + ")"
    return str(value)


def summary(result: Diff) -> str:
    """``3 differences: 1 added, 1 changed, 1 dropped`` (counted over the visible lines)."""
    shown = visible(result)
    if not shown:
        return "no differences"
    counts = [f"{sum(c.action == a for c in shown)} {a}" for a in (ADDED, CHANGED, DROPPED)]
    plural = "s" if len(shown) != 1 else ""
    return f"{len(shown)} difference{plural}: " + ", ".join(counts)


def as_json(result: Diff, source: str, target: str) -> dict[str, Any]:
    """Every change with its identity and both values (``--json``)."""
    return {
        "source": source,
        "target": target,
        "identical": not result,
        "summary": {a: result.count(a) for a in (ADDED, CHANGED, DROPPED)},
        "changes": [_change(c) for c in result.changes],
    }


def _change(change: Change) -> dict[str, Any]:
    obj = change.obj
    identity = {f: getattr(obj, f) for f in obj.IDENTITY}
    entry: dict[str, Any] = {
        "action": change.action,
        "kind": obj.kind,
        "name": obj.shown,
        "identity": identity,
    }
    if change.action == CHANGED:
        entry["fields"] = [dataclasses.asdict(f) for f in change.fields]
    else:
        entry["object"] = obj.attributes()
    return entry
