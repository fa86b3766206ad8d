"""adding-required-field: ADD COLUMN ... NOT NULL without a DEFAULT."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from rally_gitops.lint.analysis import (
    SERIAL_TYPES,
    added_column,
    column_constraints,
    existing_table_commands,
    line_offset,
    type_name,
)
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation
from rally_gitops.lint.names import quote

CODE = "adding-required-field"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table"
WHY = (
    "Existing rows would get NULL in the new column, so PostgreSQL rejects the statement as soon "
    "as the table has a row: the migration passes on an empty development database and fails in "
    "production. Old application code that inserts without the column fails too."
)
SAFE_ALTERNATIVE = (
    "Add the column with a DEFAULT (a constant default is instant from PostgreSQL 11), or add it "
    "nullable, backfill in batches, then enforce NOT NULL with a validated CHECK."
)
EXAMPLE_BAD = "ALTER TABLE users ADD COLUMN country text NOT NULL;"
EXAMPLE_OK = "ALTER TABLE users ADD COLUMN country text NOT NULL DEFAULT 'unknown';"


def adding_required_field(ctx: FileContext) -> Iterator[Violation]:
    """Flag a NOT NULL column without DEFAULT, identity or generation added to an existing table."""
    for st, table, cmd in existing_table_commands(ctx):
        column = added_column(cmd)
        if column is None or type_name(column.typeName) in SERIAL_TYPES:
            continue
        kinds = {c.contype for c in column_constraints(column)}
        filled = {
            ConstrType.CONSTR_DEFAULT,
            ConstrType.CONSTR_IDENTITY,
            ConstrType.CONSTR_GENERATED,
        }
        if (ConstrType.CONSTR_NOTNULL in kinds or column.is_not_null) and not kinds & filled:
            yield Violation(
                st,
                f"adding NOT NULL column {quote(column.colname)} without a default fails on "
                f"any {table} "
                "that has rows, and breaks inserts by the running application",
                "give the column a DEFAULT, or add it nullable and backfill before enforcing "
                "NOT NULL",
                line_offset=line_offset(st, column),
            )


RULE = Rule(
    CODE,
    SEVERITY,
    adding_required_field,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
