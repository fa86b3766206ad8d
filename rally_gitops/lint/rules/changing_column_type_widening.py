"""changing-column-type-widening: ALTER COLUMN ... TYPE text/varchar/numeric."""

from __future__ import annotations

from collections.abc import Iterator

from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.rules.changing_column_type import is_possible_widening, retyped_columns

CODE = "changing-column-type-widening"
SEVERITY: Severity = "warning"
ENABLED = True
SUMMARY = "ALTER COLUMN ... TYPE text/varchar/numeric: safe only if it widens"
WHY = (
    "varchar(n) → varchar(m > n), varchar → text and numeric(p, s) → numeric(q > p, s) need no "
    "rewrite: PostgreSQL only updates the catalog. From any other type (int → text, varchar(50) "
    "→ varchar(20), text → varchar(n)) the same statement rewrites or scans the table under an "
    "ACCESS EXCLUSIVE lock. The linter cannot see the old type, so it asks you to check."
)
SAFE_ALTERNATIVE = (
    "Make sure the change only widens a varchar/text/numeric column; otherwise add a new column "
    "and backfill in batches."
)
EXAMPLE_BAD = "ALTER TABLE users ALTER COLUMN name TYPE varchar(200);"
EXAMPLE_OK = "ALTER TABLE users ALTER COLUMN name SET DEFAULT '';"


def changing_column_type_widening(ctx: FileContext) -> Iterator[Violation]:
    """Warn on type changes that are only safe when they widen the old type."""
    for st, table, cmd, target in retyped_columns(ctx):
        if is_possible_widening(cmd, target):
            yield Violation(
                st,
                f"changing {table}.{cmd.name} to {target} is instant only if it widens a "
                f"varchar/text/numeric column; otherwise it rewrites {table} under a full lock",
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
