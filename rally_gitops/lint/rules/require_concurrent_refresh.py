"""require-concurrent-refresh: REFRESH MATERIALIZED VIEW without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import is_new_table, relname
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "require-concurrent-refresh"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "REFRESH MATERIALIZED VIEW without CONCURRENTLY"
WHY = (
    "A plain refresh takes an ACCESS EXCLUSIVE lock on the materialized view: every query of it "
    "waits until the whole query is recomputed. A view created earlier in the same file, and "
    "REFRESH ... WITH NO DATA, are exempt."
)
SAFE_ALTERNATIVE = (
    "Give the view a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY, which lets "
    "readers continue."
)
EXAMPLE_BAD = "REFRESH MATERIALIZED VIEW team_standings;"
EXAMPLE_OK = "REFRESH MATERIALIZED VIEW CONCURRENTLY team_standings;"


def require_concurrent_refresh(ctx: FileContext) -> Iterator[Violation]:
    """Flag blocking refreshes of materialized views this file did not create (pglast's AST)."""
    for st in ctx.statements:
        node = st.pg
        if not isinstance(node, ast.RefreshMatViewStmt) or node.concurrent or node.skipData:
            continue
        view = relname(node.relation)
        if is_new_table(ctx, st, view):
            continue
        yield Violation(
            st,
            f"REFRESH MATERIALIZED VIEW blocks every read of {view} until the refresh is done",
            "add a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY",
        )


RULE = Rule(
    CODE,
    SEVERITY,
    require_concurrent_refresh,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
