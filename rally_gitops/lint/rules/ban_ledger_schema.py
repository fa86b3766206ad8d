"""ban-ledger-schema: statements that touch the deploy ledger's schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast

from rally_gitops.lint.analysis import walk_pg
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "ban-ledger-schema"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "a statement that touches the ledger schema (rally_gitops, or ledger_schema)"
WHY = (
    "The ledger schema (rally_gitops unless [tool.rally_gitops] ledger_schema says otherwise) "
    "holds what was applied where and the append-only history of deploys. A migration that "
    "drops, renames, alters or writes to it (DROP SCHEMA rally_gitops CASCADE in a "
    "no-transaction file wipes the ledger and the event that blocks it) makes the next deploy "
    "apply everything again or refuse to run. Only the tool writes there; the deploy refuses "
    "such statements too."
)
SAFE_ALTERNATIVE = (
    "Keep application objects in their own schemas; read the ledger with `rally-gitops status` "
    "or `rally-gitops ledger history`."
)
EXAMPLE_BAD = "DROP SCHEMA rally_gitops CASCADE;"
EXAMPLE_OK = "CREATE SCHEMA reporting;"
# plain-string fields of pglast nodes that hold a schema name
_SCHEMA_FIELDS = ("schemaname", "newschema")


def ban_ledger_schema(ctx: FileContext) -> Iterator[Violation]:
    """Flag every statement that names the ledger schema outside a string constant."""
    schema = ctx.ledger_schema
    for st in ctx.statements:
        if schema not in st.sql.lower() and quote(schema) not in st.sql:
            continue  # cheap: the name is not even spelled
        if st.pg is not None and _touches(st.pg, schema):
            yield Violation(
                st,
                f"this statement touches the ledger schema {quote(schema)}: the deploy ledger "
                "and its history live there, and only the tool may change them",
                "keep the migration's objects out of the ledger schema",
            )


def _touches(node: Any, schema: str) -> bool:
    for item in walk_pg(node, skip=(ast.A_Const,)):
        if isinstance(item, ast.String) and item.sval == schema:
            return True
        if any(getattr(item, f, None) == schema for f in _SCHEMA_FIELDS):
            return True
        if isinstance(item, ast.RenameStmt) and schema in (item.subname, item.newname):
            return True
        if isinstance(item, ast.CreateSchemaStmt) and item.schemaname == schema:
            return True
        if isinstance(item, ast.VariableSetStmt) and (item.name or "") == "search_path":
            values = [getattr(getattr(a, "val", None), "sval", None) for a in item.args or ()]
            if schema in values:
                return True
    return False


RULE = Rule(
    CODE,
    SEVERITY,
    ban_ledger_schema,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
