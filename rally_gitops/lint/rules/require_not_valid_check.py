"""require-not-valid-check: CHECK constraint added to an existing table without NOT VALID."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from rally_gitops.lint.analysis import added_constraint, existing_table_commands, line_offset
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "require-not-valid-check"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "CHECK constraint added to an existing table without NOT VALID"
WHY = (
    "ADD CONSTRAINT ... CHECK scans the whole table to validate existing rows while holding an "
    "ACCESS EXCLUSIVE lock: every read and write of the table waits for the scan."
)
SAFE_ALTERNATIVE = (
    "Add the constraint with NOT VALID (instant; new rows are checked), then run "
    "ALTER TABLE ... VALIDATE CONSTRAINT in a later migration, which does not block reads or "
    "writes."
)
EXAMPLE_BAD = "ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0);"
EXAMPLE_OK = "ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0) NOT VALID;"


def require_not_valid_check(ctx: FileContext) -> Iterator[Violation]:
    """Flag validated CHECK constraints added to tables that existed before this file."""
    for st, table, cmd in existing_table_commands(ctx):
        constraint = added_constraint(cmd)
        if constraint is None or constraint.contype != ConstrType.CONSTR_CHECK:
            continue
        if not constraint.skip_validation:
            yield Violation(
                st,
                f"adding CHECK {quote(constraint.conname)} blocks reads and writes of {table} "
                "while every row is checked".replace("  ", " "),
                "add it with NOT VALID, then VALIDATE CONSTRAINT in a later migration",
                line_offset=line_offset(st, constraint),
            )


RULE = Rule(
    CODE,
    SEVERITY,
    require_not_valid_check,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
