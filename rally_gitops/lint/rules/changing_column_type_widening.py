"""changing-column-type-widening: ALTER COLUMN ... TYPE text/varchar/numeric."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote
from rally_gitops.lint.rules.changing_column_type import is_possible_widening, retyped_columns

CODE = "changing-column-type-widening"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "ALTER COLUMN ... TYPE text/varchar/numeric when the current type is unknown"
WHY = (
    "varchar(n) to varchar(m > n), varchar to text and numeric(p, s) to numeric(q > p, s) need "
    "no rewrite: PostgreSQL only updates the catalog. From any other type (integer to numeric, "
    "bigint to text, varchar(50) to varchar(20)) the same statement rewrites or scans the table "
    "under an ACCESS EXCLUSIVE lock. changing-column-type decides from the column's type in the "
    "earlier migrations; when they do not tell it (the column predates the history), this rule "
    "asks you to check."
)
SAFE_ALTERNATIVE = (
    "Make sure the change only widens a varchar/text/numeric column; otherwise add a new column "
    "and backfill in batches."
)
EXAMPLE_BAD = "ALTER TABLE users ALTER COLUMN name TYPE varchar(200);"
EXAMPLE_OK = "ALTER TABLE users ALTER COLUMN name SET DEFAULT '';"


def changing_column_type_widening(ctx: FileContext) -> Iterator[Violation]:
    """Warn on type changes that are only safe when they widen a current type the history does
    not tell."""
    for change in retyped_columns(ctx):
        if change.old is None and is_possible_widening(change):
            column = f"{change.table}.{quote(change.column)}"
            yield Violation(
                change.statement,
                f"changing {column} to {change.new.shown}: its current type is not in the "
                "history; instant only if it widens a varchar/text/numeric column, otherwise "
                f"it rewrites {change.table} under a full lock",
                "check the old type; if it is not a widening, add a new column and backfill",
            )


RULE = Rule(
    CODE,
    SEVERITY,
    changing_column_type_widening,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
