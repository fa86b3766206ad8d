"""ban-concurrently-in-transaction: a CONCURRENTLY statement in a transactional migration."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from rally_gitops.lint.model import (
    AnalysedStatement,
    FileContext,
    Rule,
    RuleDocs,
    Severity,
    Violation,
)

CODE = "ban-concurrently-in-transaction"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "CREATE/DROP INDEX, REINDEX or DETACH PARTITION ... CONCURRENTLY inside a transaction"
WHY = (
    "PostgreSQL refuses CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY "
    'and DETACH PARTITION CONCURRENTLY inside a transaction block ("cannot run inside a '
    'transaction block"). rally-gitops runs every migration in one transaction unless its header '
    "says `-- rally:no-transaction`, so the deploy would fail."
)
SAFE_ALTERNATIVE = (
    "Put the statement in its own migration with `-- rally:no-transaction` in the header and no "
    "BEGIN/COMMIT."
)
EXAMPLE_BAD = "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);"
EXAMPLE_OK = "-- rally:no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);"


def ban_concurrently_in_transaction(ctx: FileContext) -> Iterator[Violation]:
    """Flag CONCURRENTLY statements of a file that runs in a transaction."""
    for st in ctx.statements:
        what = _concurrently(st) if st.in_transaction else None
        if what:
            yield Violation(
                st,
                f"{what} cannot run inside a transaction block; the deploy will fail",
                "move it to its own migration marked -- rally:no-transaction",
            )


def _concurrently(st: AnalysedStatement) -> str | None:
    node = st.pg
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY" if node.removeType == ObjectType.OBJECT_INDEX else None
    if isinstance(node, ast.ReindexStmt):
        if any((p.defname or "").lower() == "concurrently" for p in node.params or ()):
            return "REINDEX CONCURRENTLY"
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if cmd.subtype == AlterTableType.AT_DetachPartition and getattr(
                cmd.def_, "concurrent", False
            ):
                return "DETACH PARTITION CONCURRENTLY"
    return None


RULE = Rule(
    CODE,
    SEVERITY,
    ban_concurrently_in_transaction,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
