"""renaming-object: RENAME of a view, function, type, domain or sequence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast

from rally_gitops.lint import file_types
from rally_gitops.lint.analysis import dotted, relname
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import key, quote

CODE = "renaming-object"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "RENAME of a view, materialized view, function, procedure, type, domain or sequence"
WHY = (
    "Clients, reports and function bodies refer to these objects by name: after the rename "
    "they fail until they are updated. (Renaming an index or a constraint is not flagged: "
    "clients rarely name them, nor is a type swap inside one file: renaming a type the file "
    "created, or an existing type whose name the file then gives to another.) Tables, columns, "
    "schemas and enum values have their own rules."
)
SAFE_ALTERNATIVE = (
    "Create the object under the new name (a view or wrapper function over the old one), move "
    "clients, then drop the old name in a later release."
)
EXAMPLE_BAD = "ALTER VIEW active_users RENAME TO recent_users;"
EXAMPLE_OK = "CREATE VIEW recent_users AS SELECT * FROM active_users;"
_KINDS = {
    "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "materialized view",
    "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "procedure",
    "OBJECT_ROUTINE": "routine",
    "OBJECT_TYPE": "type",
    "OBJECT_DOMAIN": "domain",
    "OBJECT_SEQUENCE": "sequence",
}


def renaming_object(ctx: FileContext) -> Iterator[Violation]:
    """Warn on renames of objects clients call by name (pglast's RenameStmt: sqlglot only
    parses a few of these)."""
    for st in ctx.statements:
        node = st.pg
        if not isinstance(node, ast.RenameStmt):
            continue
        kind = _KINDS.get(getattr(node.renameType, "name", ""))
        if kind is None:
            continue
        old = relname(node.relation) if node.relation is not None else _object_name(node.object)
        if kind in ("type", "domain") and (st.index, key(ctx, st, old)) in file_types.internal(ctx):
            continue  # a swap inside the file: clients keep finding the name
        yield Violation(
            st,
            f"renaming {kind} {old} to {quote(node.newname)} breaks every client that still "
            "uses the "
            "old name",
            "create the new name alongside the old one, move clients, then drop the old name",
        )


def _object_name(obj: Any) -> str:
    if isinstance(obj, ast.ObjectWithArgs):
        return dotted(obj.objname)
    if isinstance(obj, ast.TypeName):
        return dotted(obj.names)
    return dotted(obj) if isinstance(obj, tuple) else ""


RULE = Rule(
    CODE,
    SEVERITY,
    renaming_object,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
