"""validate-in-same-transaction: NOT VALID and VALIDATE CONSTRAINT in one transaction."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from rally_gitops.lint.analysis import added_constraint, alter_table
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import key, quote

CODE = "validate-in-same-transaction"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "a constraint added NOT VALID is validated in the same transaction"
WHY = (
    "NOT VALID exists so that the short, strongly locked ADD CONSTRAINT and the long VALIDATE "
    "CONSTRAINT run in different transactions. In one transaction the locks of the ADD (ACCESS "
    "EXCLUSIVE for CHECK, SHARE ROW EXCLUSIVE on both tables for a FOREIGN KEY) are held through "
    "the whole validation scan: exactly the outage NOT VALID was meant to avoid."
)
SAFE_ALTERNATIVE = "Run VALIDATE CONSTRAINT in a later migration than the NOT VALID constraint."
EXAMPLE_BAD = (
    "ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0) NOT VALID;\n"
    "ALTER TABLE users VALIDATE CONSTRAINT users_age_check;"
)
EXAMPLE_OK = "ALTER TABLE users VALIDATE CONSTRAINT users_age_check;"


def validate_in_same_transaction(ctx: FileContext) -> Iterator[Violation]:
    """Flag VALIDATE CONSTRAINT of a constraint added NOT VALID earlier in the same transaction."""
    not_valid: set[tuple[tuple[str, str], str]] = set()
    for st in ctx.statements:
        found = alter_table(st)
        if found is None or not st.in_transaction:
            continue
        table, cmds = found
        for cmd in cmds:
            constraint = added_constraint(cmd)
            if constraint is not None and constraint.skip_validation and constraint.conname:
                not_valid.add((key(ctx, st, table), constraint.conname))
            if cmd.subtype == AlterTableType.AT_ValidateConstraint:
                if (key(ctx, st, table), cmd.name or "") in not_valid:
                    yield Violation(
                        st,
                        f"validating {quote(cmd.name)} in the transaction that added it NOT "
                        "VALID holds "
                        f"the ADD CONSTRAINT lock on {table} for the whole scan",
                        "move VALIDATE CONSTRAINT to a later migration",
                    )


RULE = Rule(
    CODE,
    SEVERITY,
    validate_in_same_transaction,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
