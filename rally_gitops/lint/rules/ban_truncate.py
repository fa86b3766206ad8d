"""ban-truncate: TRUNCATE of an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import is_new_table, relname, sg_table
from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)
from rally_gitops.lint.parsing import sqlglot_for

CODE = "ban-truncate"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "TRUNCATE of an existing table"
WHY = (
    "TRUNCATE deletes every row at once (with CASCADE also every referencing table's rows) and "
    "takes an ACCESS EXCLUSIVE lock. In a migration it runs against production data."
)
SAFE_ALTERNATIVE = (
    "Delete the rows you mean to remove with a WHERE clause, in batches; truncate only tables "
    "created in the same migration."
)
EXAMPLE_BAD = "TRUNCATE match_participants;"
EXAMPLE_OK = "CREATE TABLE import_buffer (line text);\nTRUNCATE import_buffer;"


def ban_truncate(ctx: FileContext) -> Iterator[Violation]:
    """Flag TRUNCATE of tables this file did not create (sqlglot's AST, else pglast's)."""
    for st in ctx.statements:
        names = [n for n in _truncated(st) if not is_new_table(ctx, st, n)]
        if names:
            yield Violation(
                st,
                f"TRUNCATE deletes every row of {', '.join(names)} and blocks all access meanwhile",
                "delete only the rows you mean to, with a WHERE clause and in batches",
            )


def _truncated(st: AnalysedStatement) -> list[str]:
    tree = sqlglot_for(st, (ast.TruncateStmt,))  # only TRUNCATE is sqlglot's TruncateTable
    if tree is not None:
        from sqlglot import exp

        if isinstance(tree, exp.TruncateTable):
            return [sg_table(t) for t in tree.expressions if isinstance(t, exp.Table)]

    if isinstance(st.pg, ast.TruncateStmt):
        return [relname(r) for r in st.pg.relations or ()]
    return []


RULE = Rule(
    CODE,
    SEVERITY,
    ban_truncate,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
