"""require-concurrent-index: CREATE INDEX without CONCURRENTLY on an existing table."""

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

CODE = "require-concurrent-index"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "CREATE INDEX without CONCURRENTLY on an existing table"
WHY = (
    "A plain CREATE INDEX takes a SHARE lock on the table for the whole build: every INSERT, "
    "UPDATE and DELETE waits until the index is finished, which on a large table means minutes of "
    "failed or queued writes. An index on a table created earlier in the same file is fine: nobody "
    "else can see that table yet, and so is CREATE INDEX ... ON ONLY a partitioned table (it "
    "creates an empty parent index instantly; build each partition's index concurrently and "
    "ATTACH it)."
)
SAFE_ALTERNATIVE = (
    "Build the index with CREATE INDEX CONCURRENTLY in its own migration marked "
    "`-- rally:no-transaction`; if the build fails, drop the INVALID index and retry."
)
EXAMPLE_BAD = "CREATE INDEX users_email_idx ON users (email);"
EXAMPLE_OK = "-- rally:no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);"


def require_concurrent_index(ctx: FileContext) -> Iterator[Violation]:
    """Flag a non-concurrent CREATE INDEX on a table that existed before this file."""
    for st in ctx.statements:
        found = _index(st)
        if found is None:
            continue
        table, concurrent = found
        if concurrent or is_new_table(ctx, st, table):
            continue
        yield Violation(
            st,
            f"CREATE INDEX locks {table} against writes while the index builds",
            "use CREATE INDEX CONCURRENTLY in a migration marked -- rally:no-transaction",
        )


def _index(st: AnalysedStatement) -> tuple[str, bool] | None:
    """(table, CONCURRENTLY?) of a CREATE INDEX, from pglast's node, else sqlglot's AST.

    pglast's node names the table exactly (quoted names keep their case), so sqlglot's tree is
    only read where pglast has none.
    """
    if isinstance(st.pg, ast.IndexStmt):
        # ON ONLY a partitioned table creates an invalid index on the parent alone: instant.
        # (sqlglot cannot parse ON ONLY, so this is always pglast's call.)
        only = st.pg.relation is not None and not st.pg.relation.inh
        return relname(st.pg.relation), bool(st.pg.concurrent) or only
    tree = sqlglot_for(st, (ast.IndexStmt,))
    if tree is not None:
        from sqlglot import exp

        if isinstance(tree, exp.Create) and tree.kind == "INDEX":
            table = tree.this.args.get("table") if isinstance(tree.this, exp.Index) else None
            if isinstance(table, exp.Table):
                return sg_table(table), bool(tree.args.get("concurrently"))
    return None


RULE = Rule(
    CODE,
    SEVERITY,
    require_concurrent_index,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
