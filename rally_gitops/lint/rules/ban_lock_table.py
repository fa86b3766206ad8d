"""ban-lock-table: explicit LOCK TABLE in ACCESS EXCLUSIVE or EXCLUSIVE mode."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from rally_gitops.lint.analysis import is_new_table, relname
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-lock-table"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "LOCK TABLE in ACCESS EXCLUSIVE (the default) or EXCLUSIVE mode"
WHY = (
    "An explicit ACCESS EXCLUSIVE lock (what plain LOCK TABLE takes) blocks every read and write "
    "of the table until the migration commits, not just for one statement; EXCLUSIVE blocks all "
    "writes. Sometimes that is deliberate (to order locks and avoid deadlocks), hence a warning."
)
SAFE_ALTERNATIVE = (
    "Drop the explicit lock and let each statement take the weakest lock it needs; if you must "
    "lock, use the weakest mode that works and keep the transaction short."
)
EXAMPLE_BAD = "LOCK TABLE users;"
EXAMPLE_OK = "LOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE;"
_MODES = {7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}


def ban_lock_table(ctx: FileContext) -> Iterator[Violation]:
    """Warn on LOCK TABLE with a mode that blocks writes and/or reads (pglast's AST)."""
    for st in ctx.statements:
        node = st.pg
        if not isinstance(node, ast.LockStmt) or node.mode not in _MODES:
            continue
        tables = [relname(r) for r in node.relations or () if not is_new_table(ctx, st, relname(r))]
        if tables:
            yield Violation(
                st,
                f"LOCK TABLE {', '.join(tables)} IN {_MODES[node.mode]} MODE blocks other "
                "sessions until the migration commits",
                "remove the explicit lock or use the weakest mode that works",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_lock_table,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
