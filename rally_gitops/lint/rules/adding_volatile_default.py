"""adding-volatile-default: ADD COLUMN with a volatile DEFAULT rewrites the table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast.enums import ConstrType

from rally_gitops.lint.analysis import (
    added_column,
    column_constraints,
    existing_table_commands,
    line_offset,
)
from rally_gitops.lint.facts import may_call_volatile, volatile_call
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.names import quote, sqlglot_part

CODE = "adding-volatile-default"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp())"
WHY = (
    "A volatile default must be computed per row, so PostgreSQL rewrites the whole table under "
    "an ACCESS EXCLUSIVE lock: no reads or writes until every row is copied. Constant and STABLE "
    "defaults such as now() or current_timestamp are evaluated once and are instant from "
    "PostgreSQL 11. Functions of your own are not inspected."
)
SAFE_ALTERNATIVE = (
    "Add the column without a default (or with a constant), then SET DEFAULT for new rows and "
    "backfill existing rows in batches."
)
EXAMPLE_BAD = "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();"
EXAMPLE_OK = (
    "ALTER TABLE users ADD COLUMN token uuid;\n"
    "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();"
)


def adding_volatile_default(ctx: FileContext) -> Iterator[Violation]:
    """Flag ADD COLUMN whose DEFAULT calls a volatile function, on a pre-existing table.

    The default expression is read from sqlglot's AST when it exists (typed ``exp.Rand``,
    ``exp.Uuid``...), else from pglast's ``FuncCall`` nodes.
    """
    for st, table, cmd in existing_table_commands(ctx):
        column = added_column(cmd)
        if column is None:
            continue
        for constraint in column_constraints(column):
            if constraint.contype != ConstrType.CONSTR_DEFAULT or not may_call_volatile(st.sql):
                continue
            expr = _sqlglot_default(st, column.colname) or constraint.raw_expr
            name = volatile_call(expr)
            if name:
                yield Violation(
                    st,
                    f"DEFAULT {name}() is volatile: adding {quote(column.colname)} rewrites "
                    f"{table} "
                    "and blocks reads and writes until every row is copied",
                    "add the column without the default, SET DEFAULT, then backfill in batches",
                    line_offset=line_offset(st, constraint),
                )


def _sqlglot_default(st: AnalysedStatement, column: str) -> Any:
    """The DEFAULT expression of ``column`` in sqlglot's AST, or None without one."""
    from sqlglot import exp

    if not isinstance(st.sqlglot, exp.Alter):
        return None
    for action in st.sqlglot.args.get("actions") or ():
        if isinstance(action, exp.ColumnDef) and sqlglot_part(action.this) == column:
            for constraint in action.args.get("constraints") or ():
                if isinstance(constraint.kind, exp.DefaultColumnConstraint):
                    return constraint.kind.this
    return None


RULE = Rule(
    CODE,
    SEVERITY,
    adding_volatile_default,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
