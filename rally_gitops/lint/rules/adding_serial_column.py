"""adding-serial-column: serial, bigserial or an identity column added to an existing table."""

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

CODE = "adding-serial-column"
SEVERITY: Severity = "error"
ENABLED = True
SUMMARY = "serial/bigserial or GENERATED ... AS IDENTITY column added to an existing table"
WHY = (
    "Every existing row needs its own sequence value, so PostgreSQL rewrites the whole table "
    "under an ACCESS EXCLUSIVE lock: no reads or writes until it is done."
)
SAFE_ALTERNATIVE = (
    "Add a nullable bigint column, attach a sequence as its DEFAULT, backfill existing rows in "
    "batches, then add NOT NULL through a validated CHECK; or create a new table and copy."
)
EXAMPLE_BAD = "ALTER TABLE events ADD COLUMN seq bigserial;"
EXAMPLE_OK = "CREATE TABLE events2 (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);"


def adding_serial_column(ctx: FileContext) -> Iterator[Violation]:
    """Flag serial types and identity columns added to a pre-existing table."""
    for st, table, cmd in existing_table_commands(ctx):
        column = added_column(cmd)
        if column is None:
            continue
        kind = type_name(column.typeName)
        identity = any(c.contype == ConstrType.CONSTR_IDENTITY for c in column_constraints(column))
        if kind in SERIAL_TYPES or identity:
            what = kind if kind in SERIAL_TYPES else "identity"
            yield Violation(
                st,
                f"adding {what} column {quote(column.colname)} rewrites {table} and blocks "
                "reads and "
                "writes until every row is numbered",
                "add a nullable bigint with a sequence default and backfill in batches",
                line_offset=line_offset(st, column),
            )


RULE = Rule(
    CODE,
    SEVERITY,
    adding_serial_column,
    SUMMARY,
    RuleDocs(WHY, SAFE_ALTERNATIVE, EXAMPLE_BAD, EXAMPLE_OK),
    enabled=ENABLED,
)
