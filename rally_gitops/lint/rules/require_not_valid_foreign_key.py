"""require-not-valid-foreign-key: FOREIGN KEY added to an existing table without NOT VALID."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from rally_gitops.lint.analysis import (
    added_column,
    added_constraint,
    column_constraints,
    existing_table_commands,
    line_offset,
    relname,
)
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "require-not-valid-foreign-key"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "FOREIGN KEY added to an existing table without NOT VALID"
WHY = (
    "Adding a foreign key validates every existing row while holding SHARE ROW EXCLUSIVE locks on "
    "both the table and the referenced table: writes to both stop until the scan finishes. A "
    "REFERENCES clause on ADD COLUMN does the same (and cannot be NOT VALID)."
)
SAFE_ALTERNATIVE = (
    "Add the constraint with NOT VALID (only new rows are checked, the lock is brief), then run "
    "ALTER TABLE ... VALIDATE CONSTRAINT in a later migration: validation only takes a SHARE "
    "UPDATE EXCLUSIVE lock, which lets reads and writes continue."
)
EXAMPLE_BAD = (
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);"
)
EXAMPLE_OK = (
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk\n"
    "    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;"
)


def require_not_valid_foreign_key(ctx: FileContext) -> Iterator[Violation]:
    """Flag validated FOREIGN KEYs added to tables that existed before this file."""
    for st, table, cmd in existing_table_commands(ctx):
        constraint = added_constraint(cmd)
        if constraint is not None and constraint.contype == ConstrType.CONSTR_FOREIGN:
            if constraint.skip_validation:
                continue
            other = relname(constraint.pktable)
            yield Violation(
                st,
                f"adding FOREIGN KEY {quote(constraint.conname)} scans {table} and blocks writes "
                f"to {_tables(table, other)} until every row is validated".replace("  ", " "),
                "add it with NOT VALID, then VALIDATE CONSTRAINT in a later migration",
                line_offset=line_offset(st, constraint),
            )
        for col in column_constraints(added_column(cmd)):
            if col.contype == ConstrType.CONSTR_FOREIGN:
                yield Violation(
                    st,
                    f"ADD COLUMN ... REFERENCES validates {table} and blocks writes to "
                    f"{_tables(table, relname(col.pktable))} while it does",
                    "add the column first, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID and "
                    "VALIDATE it in a later migration",
                    line_offset=line_offset(st, col),
                )


RULE = Rule(
    CODE,
    SEVERITY,
    require_not_valid_foreign_key,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)


def _tables(table: str, other: str) -> str:
    """``users and teams``; a self-reference names its table once."""
    return table if other == table else f"{table} and {other}"
