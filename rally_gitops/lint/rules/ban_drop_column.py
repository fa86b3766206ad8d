"""ban-drop-column: ALTER TABLE ... DROP COLUMN."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from rally_gitops.lint.analysis import (
    alter_table,
    alter_table_name,
    is_new_table,
)
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.names import quote, sqlglot_part

CODE = "ban-drop-column"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "DROP COLUMN of an existing table"
WHY = (
    "Dropping a column deletes its data and breaks every running client that still selects, "
    "inserts or updates it (an ORM that lists columns explicitly fails on the first query). "
    "The drop itself is quick but needs an ACCESS EXCLUSIVE lock."
)
SAFE_ALTERNATIVE = (
    "Stop reading and writing the column in one release (tell the ORM to ignore it), then drop "
    "it in a later migration."
)
EXAMPLE_BAD = "ALTER TABLE users DROP COLUMN last_seen_at;"
EXAMPLE_OK = "ALTER TABLE users ALTER COLUMN last_seen_at DROP DEFAULT;"


def ban_drop_column(ctx: FileContext) -> Iterator[Violation]:
    """Flag DROP COLUMN of a table this file did not create (sqlglot's AST first)."""
    for st in ctx.statements:
        if "DROP" not in st.sql.upper():  # both ASTs need the keyword for a DROP COLUMN
            continue
        table = alter_table_name(st)
        if table is None or is_new_table(ctx, st, table):
            continue
        for column in _dropped_columns(st):
            yield Violation(
                st,
                f"dropping {table}.{column} deletes its data and breaks clients still using it",
                "stop using the column in a release first and drop it in a later migration",
            )


def _dropped_columns(st: AnalysedStatement) -> list[str]:
    """The columns an ALTER TABLE drops: pglast's commands (exact names), else sqlglot's."""
    found = alter_table(st)
    if found is not None:
        return [
            quote(cmd.name or "") for cmd in found[1] if cmd.subtype == AlterTableType.AT_DropColumn
        ]
    from sqlglot import exp

    if isinstance(st.sqlglot, exp.Alter):
        return [
            quote(sqlglot_part(column.this))
            for action in st.sqlglot.args.get("actions") or ()
            if isinstance(action, exp.Drop) and action.kind == "COLUMN"
            for column in action.args.get("tables") or ()
        ]
    return []


RULE = Rule(
    CODE,
    SEVERITY,
    ban_drop_column,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
