"""require-concurrent-reindex: REINDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "require-concurrent-reindex"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "REINDEX without CONCURRENTLY"
WHY = (
    "A plain REINDEX blocks writes to the table (and reads that would use the index) while "
    "every index is rebuilt. REINDEX CONCURRENTLY (PostgreSQL 12+) rebuilds without blocking."
)
SAFE_ALTERNATIVE = "Use REINDEX ... CONCURRENTLY in a migration marked `-- rally:no-transaction`."
EXAMPLE_BAD = "REINDEX TABLE users;"
EXAMPLE_OK = "-- rally:no-transaction\nREINDEX TABLE CONCURRENTLY users;"


def require_concurrent_reindex(ctx: FileContext) -> Iterator[Violation]:
    """Flag REINDEX without CONCURRENTLY (pglast's AST: sqlglot keeps REINDEX as a command)."""
    for st in ctx.statements:
        node = st.pg
        if not isinstance(node, ast.ReindexStmt):
            continue
        if any((p.defname or "").lower() == "concurrently" for p in node.params or ()):
            continue
        yield Violation(
            st,
            "REINDEX blocks writes to the table while its indexes are rebuilt",
            "use REINDEX ... CONCURRENTLY in a migration marked -- rally:no-transaction",
        )


RULE = Rule(
    CODE,
    SEVERITY,
    require_concurrent_reindex,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
