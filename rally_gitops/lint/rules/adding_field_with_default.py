"""adding-field-with-default: ADD COLUMN with a DEFAULT before PostgreSQL 11."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ConstrType

from rally_gitops.lint.analysis import (
    added_column,
    column_constraints,
    existing_table_commands,
    line_offset,
)
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "adding-field-with-default"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ADD COLUMN with a DEFAULT when targeting PostgreSQL 10 or older"
WHY = (
    "Before PostgreSQL 11 any non-NULL default is written into every existing row: a full table "
    "rewrite under an ACCESS EXCLUSIVE lock. From 11 a constant default is stored in the catalog "
    "and the statement is instant, so this rule only fires when [tool.rally_gitops.lint] "
    "pg_version is below 11."
)
SAFE_ALTERNATIVE = (
    "Add the column without a default, SET DEFAULT in a second statement, then backfill existing "
    "rows in batches."
)
EXAMPLE_PG_VERSION = 10
EXAMPLE_BAD = "ALTER TABLE users ADD COLUMN active boolean DEFAULT true;"
EXAMPLE_OK = (
    "ALTER TABLE users ADD COLUMN active boolean;\n"
    "ALTER TABLE users ALTER COLUMN active SET DEFAULT true;"
)


def adding_field_with_default(ctx: FileContext) -> Iterator[Violation]:
    """Flag ADD COLUMN ... DEFAULT <non-null> on an existing table when pg_version < 11."""
    if ctx.pg_version >= 11:
        return
    for st, table, cmd in existing_table_commands(ctx):
        for constraint in column_constraints(added_column(cmd)):
            expr = constraint.raw_expr
            if constraint.contype != ConstrType.CONSTR_DEFAULT:
                continue
            if isinstance(expr, ast.A_Const) and expr.isnull:
                continue
            yield Violation(
                st,
                f"on PostgreSQL {ctx.pg_version} a DEFAULT rewrites {table} and blocks reads and "
                "writes until every row is written",
                "add the column without a default, SET DEFAULT, then backfill in batches",
                line_offset=line_offset(st, constraint),
            )


RULE = Rule(
    CODE,
    SEVERITY,
    adding_field_with_default,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK, example_pg_version=EXAMPLE_PG_VERSION),
    enabled=ENABLED,
)
