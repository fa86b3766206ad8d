"""adding-stored-generated-column: GENERATED ALWAYS AS (...) STORED added to an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from rally_gitops.lint.analysis import (
    added_column,
    column_constraints,
    existing_table_commands,
    line_offset,
)
from rally_gitops.lint.model import FileContext, Rule, RuleDocs, Severity, Violation

CODE = "adding-stored-generated-column"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "GENERATED ALWAYS AS (...) STORED column added to an existing table"
WHY = (
    "A stored generated column is computed and written for every existing row: a full table "
    "rewrite under an ACCESS EXCLUSIVE lock. (A VIRTUAL generated column, PostgreSQL 18, is not "
    "flagged: it is computed on read.)"
)
SAFE_ALTERNATIVE = (
    "Add a plain nullable column, fill it with a trigger for new rows and a batched backfill "
    "for old ones; or use a VIRTUAL generated column or a view."
)
EXAMPLE_BAD = (
    "ALTER TABLE users ADD COLUMN email_lower text GENERATED ALWAYS AS (lower(email)) STORED;"
)
EXAMPLE_OK = "ALTER TABLE users ADD COLUMN email_lower text;"


def adding_stored_generated_column(ctx: FileContext) -> Iterator[Violation]:
    """Flag STORED generated columns added to a pre-existing table (pglast knows STORED/VIRTUAL;
    sqlglot's AST does not record it)."""
    for st, table, cmd in existing_table_commands(ctx):
        for constraint in column_constraints(added_column(cmd)):
            if constraint.contype == ConstrType.CONSTR_GENERATED and constraint.generated_kind in (
                "s",
                "\x00",
            ):
                yield Violation(
                    st,
                    f"adding a STORED generated column to {table} rewrites it and blocks reads "
                    "and writes until every row is computed",
                    "add a plain column and backfill it in batches, or make it VIRTUAL",
                    line_offset=line_offset(st, constraint),
                )


RULE = Rule(
    CODE,
    SEVERITY,
    adding_stored_generated_column,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
