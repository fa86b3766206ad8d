"""ban-prepared-transaction: two-phase commit statements in a migration."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import TransactionStmtKind

from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "ban-prepared-transaction"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "PREPARE TRANSACTION, COMMIT PREPARED or ROLLBACK PREPARED in a migration"
WHY = (
    "The deploy engine commits each migration together with its ledger row. PREPARE "
    "TRANSACTION hands the migration's transaction to the two-phase commit machinery instead: "
    "the ledger row can commit while the migration's changes stay prepared (and hold their "
    "locks) until someone commits or rolls them back by hand, so ledger and schema disagree. "
    "COMMIT PREPARED and ROLLBACK PREPARED act on some other prepared transaction. The deploy "
    "refuses these statements too."
)
SAFE_ALTERNATIVE = "Let the deploy engine commit the migration; do not use two-phase commit in it."
EXAMPLE_BAD = "PREPARE TRANSACTION 'migration_42';"
EXAMPLE_OK = "CREATE TABLE audit_log (id bigint PRIMARY KEY);"
_KINDS = {
    TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
    TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}


def ban_prepared_transaction(ctx: FileContext) -> Iterator[Violation]:
    """Flag the two-phase commit statements."""
    for st in ctx.statements:
        if isinstance(st.pg, ast.TransactionStmt) and st.pg.kind in _KINDS:
            yield Violation(
                st,
                f"{_KINDS[st.pg.kind]} takes the transaction out of the deploy engine's hands: "
                "the ledger row and the migration's changes can come apart",
                "remove it; the deploy engine commits the migration with its ledger row",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    ban_prepared_transaction,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
